// Face templates: where a face goes in an aligned crop, as the similarity that maps crop
// coordinates to image coordinates (give it to align::warp). Coordinates follow align/point.hpp.
//
// - tsgan (the method's crop, tsgan-method.md "Data", TP-GAN's rule), side S, s = S / 128: the
//   eyes horizontal, the eye centre (midpoint of the two eye centres) at (S / 2, 40 s), and the
//   eye centre to mouth centre (midpoint of the corners) distance 48 s. It is fixed by the five
//   points of align/landmarks.hpp alone. (The method's mean landmarks, eyes at y = 41.00, are
//   averages of faces aligned so, in a pixel numbering one off from this one in x and y; they are where the
//   occlusions go, not a fit target.)
// - dlib (dlib's get_face_chip_details(shape, S, 0.25), the chips dlib's face recognition ResNet
//   was trained on; S = 150 for it): the least-squares similarity (align/similarity.hpp) from
//   dlib's mean face shape, padded by 0.25 of its unit square on each side and scaled to S, to 33
//   of the 68 landmarks (17-67 without the brows 17-26 and the lower lip 55-59, 65-67). dlib then
//   builds an extraction rectangle from that fit: its centre is the fit's image of the chip
//   centre, and its first and last pixel centres are (S · scale - 1) apart rather than
//   (S - 1) · scale, a stretch of about 1/S that the chips carry and that is kept here. dlib
//   numbers pixel centres with integers; the conversion to the continuous convention is exact.
//
// fallback_crop_to_image places the template's view of dlib's mean face in a centred square of
// the image of side min(W, H) · 126 / 250 (the fixed LFW crop of face-models.md, unrounded): the
// crop for a face the detector misses, so that a pair of images is never dropped.
//
// dlib's mean face shape below is data from dlib/image_transforms/interpolation.h (Boost Software
// License 1.0, see THIRD-PARTY.md): the average positions of points 17-67, in units of the face's
// square.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <string_view>
#include <vector>

#include "tsgan/align/landmarks.hpp"
#include "tsgan/align/similarity.hpp"
#include "tsgan/core/error.hpp"

namespace tsgan::align {

enum class TemplateKind { tsgan, dlib };

struct FaceTemplate {
  TemplateKind kind = TemplateKind::dlib;
  int size = 150;  // the crop is size x size pixels

  static FaceTemplate tsgan(int size = 128) { return checked({TemplateKind::tsgan, size}); }
  static FaceTemplate dlib(int size = 150) { return checked({TemplateKind::dlib, size}); }

 private:
  static FaceTemplate checked(FaceTemplate t) {
    if (t.size < 2) fail("tsgan: a face template's crop needs a side of at least 2 pixels, not {}", t.size);
    return t;
  }
};

inline constexpr double dlib_chip_padding = 0.25;

namespace detail {

// dlib's mean_face_shape_x / _y, points 17 to 67.
inline constexpr std::array<double, 51> dlib_mean_x{
    0.000213256, 0.0752622, 0.18113,  0.29077,  0.393397, 0.586856, 0.689483, 0.799124, 0.904991, 0.98004,  0.490127,
    0.490127,    0.490127,  0.490127, 0.36688,  0.426036, 0.490127, 0.554217, 0.613373, 0.121737, 0.187122, 0.265825,
    0.334606,    0.260918,  0.182743, 0.645647, 0.714428, 0.793132, 0.858516, 0.79751,  0.719335, 0.254149, 0.340985,
    0.428858,    0.490127,  0.551395, 0.639268, 0.726104, 0.642159, 0.556721, 0.490127, 0.423532, 0.338094, 0.290379,
    0.428096,    0.490127,  0.552157, 0.689874, 0.553364, 0.490127, 0.42689};
inline constexpr std::array<double, 51> dlib_mean_y{
    0.106454, 0.038915, 0.0187482, 0.0344891, 0.0773906, 0.0773906, 0.0344891, 0.0187482, 0.038915, 0.106454, 0.203352,
    0.307009, 0.409805, 0.515625,  0.587326,  0.609345,  0.628106,  0.609345,  0.587326,  0.216423, 0.178758, 0.179852,
    0.231733, 0.245099, 0.244077,  0.231733,  0.179852,  0.178758,  0.216423,  0.244077,  0.245099, 0.780233, 0.745405,
    0.727388, 0.742578, 0.727388,  0.745405,  0.780233,  0.864805,  0.902192,  0.909281,  0.902192, 0.864805, 0.784792,
    0.778746, 0.785343, 0.778746,  0.784792,  0.824182,  0.831803,  0.824182};

}  // namespace detail

// Whether dlib's chip fits landmark i (the 33 points).
constexpr bool dlib_chip_point(std::size_t i) {
  return i >= 27 && i < 68 && !(i >= 55 && i <= 59) && !(i >= 65 && i <= 67);
}

// dlib's mean face with its square at (x, y), side `side`; points 0-16 (the jaw, which dlib's
// mean shape lacks) are left at (x, y) and are used by no template.
inline Landmarks68 dlib_mean_face(double x = 0, double y = 0, double side = 1) {
  Landmarks68 shape;
  shape.fill({x, y});
  for (std::size_t i = 17; i < 68; ++i)
    shape[i] = {x + side * detail::dlib_mean_x[i - 17], y + side * detail::dlib_mean_y[i - 17]};
  return shape;
}

// The crop-to-image similarity that aligns `shape` (68 landmarks in image pixels) by `t`.
inline Similarity crop_to_image(const FaceTemplate& t, const Landmarks68& shape) {
  const double n = t.size;
  if (t.kind == TemplateKind::tsgan) {
    const FivePoints p = five_points(shape);
    const Point eye{(p[0].x + p[1].x) / 2, (p[0].y + p[1].y) / 2};
    const Point mouth{(p[3].x + p[4].x) / 2, (p[3].y + p[4].y) / 2};
    const double s = n / 128.0;
    const double eye_mouth = std::hypot(mouth.x - eye.x, mouth.y - eye.y);
    const double theta = std::atan2(p[1].y - p[0].y, p[1].x - p[0].x);
    if (!(eye_mouth > 0) || (p[1].x == p[0].x && p[1].y == p[0].y))
      fail("tsgan: align: the tsgan template needs distinct eye centres and a mouth apart from the eyes");
    const double k = eye_mouth / (48 * s);  // image pixels per crop pixel
    const double a = k * std::cos(theta), b = k * std::sin(theta);
    // eye + R k (q - (n/2, 40 s))
    const Point c{n / 2, 40 * s};
    return {a, b, eye.x - (a * c.x - b * c.y), eye.y - (b * c.x + a * c.y)};
  }
  // dlib, in dlib's integer-centred pixel numbering until the last line.
  std::vector<Point> chip, image;
  for (std::size_t i = 0; i < 68; ++i)
    if (dlib_chip_point(i)) {
      chip.push_back({(dlib_chip_padding + detail::dlib_mean_x[i - 17]) / (1 + 2 * dlib_chip_padding) * n,
                      (dlib_chip_padding + detail::dlib_mean_y[i - 17]) / (1 + 2 * dlib_chip_padding) * n});
      image.push_back({shape[i].x - 0.5, shape[i].y - 0.5});
    }
  const Similarity fit = fit_similarity(chip, image);
  const Point centre = fit({n / 2, n / 2});
  const double k = (n * fit.scale() - 1) / (n - 1);  // the extraction rectangle's pixel spacing
  const double a = k * std::cos(fit.angle()), b = k * std::sin(fit.angle());
  // chip index q -> centre + R k (q - (n - 1) / 2); with q = q' - 0.5 and image' = image + 0.5:
  const double h = n / 2;
  return {a, b, centre.x + 0.5 - (a * h - b * h), centre.y + 0.5 - (b * h + a * h)};
}

// The centred square of the fallback: (x, y, side).
struct Square {
  double x = 0, y = 0, side = 0;
};
inline Square fallback_square(int image_width, int image_height) {
  if (image_width <= 0 || image_height <= 0) fail("tsgan: align: a {}x{} image has no centre", image_width, image_height);
  const double side = std::min(image_width, image_height) * 126.0 / 250.0;
  return {(image_width - side) / 2, (image_height - side) / 2, side};
}

inline Similarity fallback_crop_to_image(const FaceTemplate& t, int image_width, int image_height) {
  const Square sq = fallback_square(image_width, image_height);
  return crop_to_image(t, dlib_mean_face(sq.x, sq.y, sq.side));
}

inline std::string_view to_string(TemplateKind k) { return k == TemplateKind::tsgan ? "tsgan" : "dlib"; }

}  // namespace tsgan::align
