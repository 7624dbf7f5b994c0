// Point: a position in an image, in pixels, x to the right and y down, as the face detector, the
// landmark networks and the alignment exchange them. The origin is the top-left corner of the
// top-left pixel, so the centre of pixel (column i, row j) is (i + 0.5, j + 0.5): face-api's
// convention, in which a box [x, x + w) covers w pixels.
#pragma once

namespace tsgan::align {

struct Point {
  double x = 0;
  double y = 0;

  friend constexpr bool operator==(const Point&, const Point&) = default;
};

}  // namespace tsgan::align
