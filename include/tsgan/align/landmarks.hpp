// The 68 facial landmarks of the iBUG 300-W convention (face-api's FaceLandmark68Net, dlib's
// shape_predictor_68_face_landmarks), 0-based: 0-16 jaw, 17-21 and 22-26 brows, 27-35 nose,
// 36-41 and 42-47 eyes, 48-67 mouth (48 and 54 its corners). Points 36-41 are the eye on the
// image's left (the subject's right eye).
//
// The five points the method aligns with (TP-GAN's order): the eye on the image's left, the other
// eye, the nose tip, the mouth corner on the image's left, the other corner. Eye centres are the
// means of their six contour points, as dlib's and face-api's alignment take them; the nose tip is
// point 30 and the corners 48 and 54. (dlib's own 5-point model marks eye corners instead, so its
// five points are not these.)
#pragma once

#include <array>
#include <cstddef>

#include "tsgan/align/point.hpp"

namespace tsgan::align {

using Landmarks68 = std::array<Point, 68>;
using FivePoints = std::array<Point, 5>;

// The mean of points [first, first + count).
inline Point mean_point(const Landmarks68& shape, std::size_t first, std::size_t count) {
  Point m;
  for (std::size_t i = first; i < first + count; ++i) {
    m.x += shape[i].x;
    m.y += shape[i].y;
  }
  return {m.x / double(count), m.y / double(count)};
}

inline FivePoints five_points(const Landmarks68& shape) {
  return {mean_point(shape, 36, 6), mean_point(shape, 42, 6), shape[30], shape[48], shape[54]};
}

}  // namespace tsgan::align
