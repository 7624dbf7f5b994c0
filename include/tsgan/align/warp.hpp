// Bilinear warp of an 8-bit image by a similarity: output pixel (i, j) takes the input's value at
// T(i + 0.5, j + 0.5), where T maps output coordinates to input coordinates (align/point.hpp's
// continuous convention, so a pure shift by whole pixels copies pixels exactly). The four input
// pixels around that point are blended; those outside the image are zero (Border::zero, dlib's
// extract_image_chip) or the nearest edge pixel (Border::replicate). Results round to nearest.
//
// A warp that shrinks by 2x or more (T's scale s >= 2) would skip input pixels, so the input is
// first averaged over blocks of m x m pixels, m = floor(s), and the rest (s / m < 2) is bilinear;
// dlib uses an image pyramid for the same reason. Block averages keep the continuous convention
// exactly (block i covers [m i, m i + m)); edge blocks average the pixels they have.
#pragma once

#include <algorithm>
#include <cmath>

#include "tsgan/align/similarity.hpp"
#include "tsgan/io/image.hpp"

namespace tsgan::align {

enum class Border { zero, replicate };

// The image averaged over blocks of m x m pixels (ceil(W / m) x ceil(H / m)).
inline io::Image shrink_by_blocks(const io::Image& image, int m) {
  io::Image out((image.width + m - 1) / m, (image.height + m - 1) / m, image.channels);
  for (int j = 0; j < out.height; ++j)
    for (int i = 0; i < out.width; ++i)
      for (int c = 0; c < image.channels; ++c) {
        int sum = 0, count = 0;
        for (int y = j * m; y < std::min(image.height, j * m + m); ++y)
          for (int x = i * m; x < std::min(image.width, i * m + m); ++x) {
            sum += image.at(y, x, c);
            ++count;
          }
        out.at(j, i, c) = static_cast<std::uint8_t>((sum + count / 2) / count);
      }
  return out;
}

inline io::Image warp(const io::Image& image, const Similarity& output_to_input, int width, int height,
                      Border border = Border::zero) {
  io::detail::check_image(image, "align::warp");
  if (width <= 0 || height <= 0) fail("tsgan: align::warp: the output must be at least 1x1, not {}x{}", width, height);
  if (const double s = output_to_input.scale(); s >= 2 && std::isfinite(s)) {
    const int m = static_cast<int>(std::floor(s));
    const Similarity t = output_to_input;
    return warp(shrink_by_blocks(image, m), {t.a / m, t.b / m, t.tx / m, t.ty / m}, width, height, border);
  }
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
