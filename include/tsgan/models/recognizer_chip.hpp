// RecognizerChip<S>: maps a batch of the method's aligned crops (align::FaceTemplate::tsgan(S),
// [N, 3, S, S]) to the chips dlib's face recognizer was trained on (align::FaceTemplate::dlib(150),
// [N, 3, 150, 150]), differentiably, so that φ sees a generated face framed as it expects.
//
// The map is the similarity that relates the two templates: both are fitted to dlib's mean face
// (align::crop_to_image), here placed at the crop's own scale, and chip → crop is the tsgan fit's
// inverse after the dlib fit. Both templates are upright, so its rotation is 0 (to 1e-12 rad; a
// larger one is an error here) and the map is a scale and a shift: chip pixel (i, j) samples the
// crop at (a (i + 0.5) + tx, a (j + 0.5) + ty), bilinearly, zero outside — align::warp's rule.
// At S = 128 it is a = 0.8497, (tx, ty) = (1.113, 0.433): the chip is nearly the whole crop,
// shifted by about a pixel; at other sizes nearly that times S/128 (dlib's extraction rectangle
// adds a one-pixel stretch that does not scale: a = 0.2074 at 32). See docs/model.md. Separable, so it is two matrix products with
// constant interpolation matrices [150, S] (rows of at most two weights), on any device.
#pragma once

#include <cmath>

#include "tsgan/align/face_template.hpp"
#include "tsgan/core/copy.hpp"
#include "tsgan/ops/layout.hpp"
#include "tsgan/ops/linear.hpp"

namespace tsgan::models {

template <index_t S, class T = float, class D = cpu>
class RecognizerChip {
 public:
  static constexpr index_t chip_size = 150;

  RecognizerChip() : map_(chip_to_crop()) {
    fill(x_weights_, map_.a, map_.tx);
    fill(y_weights_, map_.a, map_.ty);
  }

  // chip → crop coordinates (align/point.hpp's continuous convention).
  const align::Similarity& chip_to_crop_map() const { return map_; }

  template <index_t N>
  Var<T, Shape<N, 3, chip_size, chip_size>, D> operator()(const Var<T, Shape<N, 3, S, S>, D>& crop) const {
    constexpr index_t C = chip_size, B = N * 3;
    Graph& g = crop.graph();
    const auto wx = g.input(x_weights_);
    const auto wy = g.input(y_weights_);
    // Along x: [B·S (rows y), S] × [S, C]; then along y on the transposed rows.
    const auto along_x = reshape<Shape<B, S, C>>(matmul<false, true>(reshape<Shape<B * S, S>>(crop), wx));
    const auto rows_x = reshape<Shape<B * C, S>>(transpose<1, 2>(along_x));               // [B, x, y]
    const auto both = transpose<1, 2>(reshape<Shape<B, C, C>>(matmul<false, true>(rows_x, wy)));  // [B, y, x]
    return reshape<Shape<N, 3, C, C>>(both);
  }

 private:
  static align::Similarity chip_to_crop() {
    const auto crop = align::FaceTemplate::tsgan(static_cast<int>(S));
    const auto chip = align::FaceTemplate::dlib(static_cast<int>(chip_size));
    // The mean face at the size it has in the crop: the tsgan fit's scale is linear in the side.
    const double side = 1 / align::crop_to_image(crop, align::dlib_mean_face(0, 0, 1)).scale();
    const align::Landmarks68 face = align::dlib_mean_face(0, 0, side);
    const align::Similarity m = align::crop_to_image(crop, face).inverse().after(align::crop_to_image(chip, face));
    if (std::abs(m.angle()) > 1e-12)
      fail("tsgan: RecognizerChip: the chip and the crop templates are rotated by {} rad against each other; "
           "a scale and shift cannot map one to the other",
           m.angle());
    return m;
  }

  // Row i: the bilinear weights of crop indices for chip index i along one axis.
  static void fill(Tensor<T, Shape<chip_size, S>, D>& w, double a, double t) {
    Tensor<T, Shape<chip_size, S>> host(T(0));
    for (index_t i = 0; i < chip_size; ++i) {
      const double p = a * (static_cast<double>(i) + 0.5) + t - 0.5;  // in crop index units
      const double f = std::floor(p);
      const auto i0 = static_cast<index_t>(f);
      const double frac = p - f;
      if (i0 >= 0 && i0 < S) host(i, i0) = static_cast<T>(1 - frac);
      if (i0 + 1 >= 0 && i0 + 1 < S) host(i, i0 + 1) = static_cast<T>(frac);
    }
    copy_from_host<D>(w.data(), host.data(), host.size);
  }

  align::Similarity map_;
  Tensor<T, Shape<chip_size, S>, D> x_weights_{uninitialized};
  Tensor<T, Shape<chip_size, S>, D> y_weights_{uninitialized};
};

}  // namespace tsgan::models
