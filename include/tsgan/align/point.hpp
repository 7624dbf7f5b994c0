// Point: a position in an image, in pixels, x to the right and y down, as the face detector, the
// landmark networks and the alignment exchange them (in face-api's coordinates; the alignment
// header states where pixel centres lie).
#pragma once

namespace tsgan::align {

struct Point {
  double x = 0;
  double y = 0;

  friend constexpr bool operator==(const Point&, const Point&) = default;
};

}  // namespace tsgan::align
