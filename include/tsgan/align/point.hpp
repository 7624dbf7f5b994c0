// Point: a position in an image, in pixels, x to the right and y down, as the face detector, the
// landmark networks and the alignment exchange them.
//
// Coordinates are continuous with the origin at the top-left corner of the top-left pixel, so
// pixel (column i, row j) covers [i, i + 1) x [j, j + 1) and its centre is (i + 0.5, j + 0.5).
// This is face-api's convention (its landmarks are fractions of the crop times the crop's size)
// and io::resize's. dlib numbers pixel centres with integers instead; align/face_template.hpp
// converts where it reproduces dlib.
#pragma once

namespace tsgan::align {

struct Point {
  double x = 0;
  double y = 0;

  friend constexpr bool operator==(const Point&, const Point&) = default;
};

}  // namespace tsgan::align
