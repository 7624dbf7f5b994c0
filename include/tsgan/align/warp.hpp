// Bilinear warp of an 8-bit image by a similarity: output pixel (i, j) takes the input's value at
// T(i + 0.5, j + 0.5), where T maps output coordinates to input coordinates (align/point.hpp's
// continuous convention, so a pure shift by whole pixels copies pixels exactly). The four input
// pixels around that point are blended; those outside the image are zero (Border::zero, dlib's
// extract_image_chip) or the nearest edge pixel (Border::replicate). Results round to nearest.
//
// There is no anti-aliasing: a warp that shrinks by more than 2x skips input pixels (dlib filters
// through an image pyramid there). Face chips from photos where the face is far larger than the
// chip should be shrunk first (io::resize halves cleanly).
#pragma once

#include <algorithm>
#include <cmath>

#include "tsgan/align/similarity.hpp"
#include "tsgan/io/image.hpp"

namespace tsgan::align {

enum class Border { zero, replicate };

inline io::Image warp(const io::Image& image, const Similarity& output_to_input, int width, int height,
                      Border border = Border::zero) {
  io::detail::check_image(image, "align::warp");
  io::Image out(width, height, image.channels);
  const int c_count = image.channels;
  // The input pixel (x, y), or nothing (weight 0) outside the image with Border::zero.
  auto fetch = [&](int x, int y, int c) -> double {
    if (x < 0 || y < 0 || x >= image.width || y >= image.height) {
      if (border == Border::zero) return 0.0;
      x = std::clamp(x, 0, image.width - 1);
      y = std::clamp(y, 0, image.height - 1);
    }
    return image.at(y, x, c);
  };
  for (int j = 0; j < height; ++j)
    for (int i = 0; i < width; ++i) {
      const Point p = output_to_input({i + 0.5, j + 0.5});
      const double u = p.x - 0.5, v = p.y - 0.5;  // in pixel-index units
      const double fu = std::floor(u), fv = std::floor(v);
      const int x0 = static_cast<int>(std::clamp(fu, -2.0, double(image.width) + 1));
      const int y0 = static_cast<int>(std::clamp(fv, -2.0, double(image.height) + 1));
      const double wx = u - fu, wy = v - fv;
      for (int c = 0; c < c_count; ++c) {
        const double top = (1 - wx) * fetch(x0, y0, c) + wx * fetch(x0 + 1, y0, c);
        const double bottom = (1 - wx) * fetch(x0, y0 + 1, c) + wx * fetch(x0 + 1, y0 + 1, c);
        const double value = (1 - wy) * top + wy * bottom;
        out.at(j, i, c) = static_cast<std::uint8_t>(std::clamp(std::lround(value), 0L, 255L));
      }
    }
  return out;
}

}  // namespace tsgan::align
