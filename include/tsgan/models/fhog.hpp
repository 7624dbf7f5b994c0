// Felzenszwalb's HOG features (Felzenszwalb, Girshick, McAllester, Ramanan, "Object Detection with
// Discriminatively Trained Part Based Models", PAMI 2010) exactly as dlib 19.24's
// extract_fhog_features computes them for an 8-bit grey image, the features of dlib's frontal face
// detector (models/hog_face_detector.hpp). Learnt from dlib's image_transforms/fhog.h; no code
// copied.
//
//   tsgan::models::FhogPlanes f = tsgan::models::extract_fhog(grey, 8, 10, 10);
//   float v = f.at(plane, row, col);
//
// Contract, as dlib's extract_fhog_features(img, hog, cell_size, rows_padding, cols_padding):
//  - cells: round(rows / cell_size) x round(cols / cell_size); pixel gradients are central
//    differences, taken for pixels 1 .. min(cells · cell_size, size) - 2 in each direction; each
//    votes its magnitude into the nearest of 18 signed orientations (dlib's 9 directions, 4 decimals),
//    spread bilinearly over the 4 nearest cell centres;
//  - each interior cell (cells - 2 per direction) gets 31 numbers: 18 signed and 9 unsigned
//    orientation energies, each the sum over the 4 blocks around the cell of min(h, 0.2 · norm)
//    scaled by 0.1 / (0.2 · norm) (norm: the block's root energy + 1e-4), and 4 texture features;
//  - the planes are (cells - 2 + rows_padding - 1) x (cells - 2 + cols_padding - 1), the cells placed
//    at offset ((padding - 1) / 2) and zero around them, so that a filter of that size can be run
//    over every cell;
//  - float arithmetic in dlib's order, including what its SIMD code does differently: the columns
//    dlib handles 8 at a time weight a vote as vy · (vx · v), the rest (vy · vx) · v, and a block sum
//    of 4 lanes is (a0 + a2) + (a1 + a3) (dlib built for SSE2, plain x86-64). Compiled with FMA
//    contraction (-march=native on an FMA CPU) the last bits of a few features may differ.
// An image with fewer than 3 cells per direction gives 31 empty planes, as dlib's does.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "tsgan/core/error.hpp"
#include "tsgan/io/image.hpp"

// dlib's sums are float products rounded before each addition: no fused multiply-add, whatever
// -march says.
#if defined(__clang__)
#pragma float_control(push)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
#endif

namespace tsgan::models {

// 31 planes of rows x cols floats, plane-major.
struct FhogPlanes {
  static constexpr int planes = 31;
  int rows = 0, cols = 0;
  std::vector<float> values;

  float at(int plane, int r, int c) const { return values[(std::size_t(plane) * rows + r) * cols + c]; }
  float& at(int plane, int r, int c) { return values[(std::size_t(plane) * rows + r) * cols + c]; }
  const float* plane(int p) const { return values.data() + std::size_t(p) * rows * cols; }
};

namespace fhog_detail {

// dlib's 9 unit directions, 0 to 160 degrees, as its float literals.
inline constexpr std::array<std::array<float, 2>, 9> directions{{{1.0000f, 0.0000f},
                                                                {0.9397f, 0.3420f},
                                                                {0.7660f, 0.6428f},
                                                                {0.500f, 0.8660f},
                                                                {0.1736f, 0.9848f},
                                                                {-0.1736f, 0.9848f},
                                                                {-0.5000f, 0.8660f},
                                                                {-0.7660f, 0.6428f},
                                                                {-0.9397f, 0.3420f}}};

// dlib's SSE2 horizontal sum of 4 lanes.
inline float lane_sum(const std::array<float, 4>& a) { return (a[0] + a[2]) + (a[1] + a[3]); }

}  // namespace fhog_detail

// The features of a 1-channel image (throws for another channel count).
inline FhogPlanes extract_fhog(const io::Image& grey, int cell_size, int rows_padding, int cols_padding) {
  using fhog_detail::directions;
  if (grey.channels != 1 || grey.width <= 0 || grey.height <= 0 ||
      grey.pixels.size() != std::size_t(grey.width) * std::size_t(grey.height))
    fail("tsgan: extract_fhog: a grey image expected, not {}x{}x{} with {} bytes", grey.width, grey.height,
         grey.channels, grey.pixels.size());
  if (cell_size <= 0 || rows_padding <= 0 || cols_padding <= 0)
    fail("tsgan: extract_fhog: cell size {} and paddings {}, {} must be positive", cell_size, rows_padding,
         cols_padding);
  FhogPlanes out;
  const int nr = grey.height, nc = grey.width;
  const int cells_nr = int(double(float(nr) / float(cell_size)) + 0.5);
  const int cells_nc = int(double(float(nc) / float(cell_size)) + 0.5);
  const int hog_nr = std::max(cells_nr - 2, 0), hog_nc = std::max(cells_nc - 2, 0);
  if (hog_nr == 0 || hog_nc == 0) return out;

  // hist: (cells + 2)^2 cells of 18 orientations, one cell of margin all round for the votes.
  const int hist_nc = cells_nc + 2;
  std::vector<float> hist(std::size_t(cells_nr + 2) * std::size_t(hist_nc) * 18, 0.0f);
  const auto bin = [&](int r, int c, int o) -> float& { return hist[(std::size_t(r) * hist_nc + c) * 18 + o]; };
  const auto pixel = [&](int r, int c) { return int(grey.pixels[std::size_t(r) * nc + c]); };

  const int visible_nr = std::min(cells_nr * cell_size, nr) - 1;
  const int visible_nc = std::min(cells_nc * cell_size, nc) - 1;
  // dlib takes columns 8 at a time while x < visible_nc - 7, the rest one by one.
  int blocked_end = 1;
  while (blocked_end < visible_nc - 7) blocked_end += 8;
  for (int y = 1; y < visible_nr; ++y) {
    const float yp = float((double(float(y)) + 0.5) / double(float(cell_size)) - 0.5);
    const int iyp = int(std::floor(yp));
    const float vy0 = yp - float(iyp);
    const float vy1 = float(1.0 - double(vy0));
    for (int x = 1; x < visible_nc; ++x) {
      const float gx = float(pixel(y, x + 1) - pixel(y, x - 1));
      const float gy = float(pixel(y + 1, x) - pixel(y - 1, x));
      const float v = std::sqrt(gx * gx + gy * gy);
      float best_dot = 0;
      int best_o = 0;
      for (int o = 0; o < 9; ++o) {
        const float dot = directions[o][0] * gx + directions[o][1] * gy;
        if (dot > best_dot) {
          best_dot = dot;
          best_o = o;
        } else if (-dot > best_dot) {
          best_dot = -dot;
          best_o = o + 9;
        }
      }
      const float xp = float((double(x) + 0.5) / double(cell_size) - 0.5);
      const int ixp = int(std::floor(xp));
      const float vx0 = xp - float(ixp);
      const float vx1 = float(1.0 - double(vx0));
      float w11, w01, w10, w00;
      if (x < blocked_end) {
        const float sx1 = vx1 * v, sx0 = vx0 * v;
        w11 = vy1 * sx1, w01 = vy0 * sx1, w10 = vy1 * sx0, w00 = vy0 * sx0;
      } else {
        w11 = vy1 * vx1 * v, w01 = vy0 * vx1 * v, w10 = vy1 * vx0 * v, w00 = vy0 * vx0 * v;
      }
      bin(iyp + 1, ixp + 1, best_o) += w11;
      bin(iyp + 2, ixp + 1, best_o) += w01;
      bin(iyp + 1, ixp + 2, best_o) += w10;
      bin(iyp + 2, ixp + 2, best_o) += w00;
    }
  }

  // The energy of each cell's unsigned histogram.
  std::vector<float> norm(std::size_t(cells_nr) * std::size_t(cells_nc), 0.0f);
  for (int r = 0; r < cells_nr; ++r)
    for (int c = 0; c < cells_nc; ++c) {
      float& n = norm[std::size_t(r) * cells_nc + c];
      for (int o = 0; o < 9; ++o) {
        const float u = bin(r + 1, c + 1, o) + bin(r + 1, c + 1, o + 9);
        n += u * u;
      }
    }
  const auto energy = [&](int r, int c) { return norm[std::size_t(r) * cells_nc + c]; };

  out.rows = hog_nr + rows_padding - 1;
  out.cols = hog_nc + cols_padding - 1;
  out.values.assign(std::size_t(FhogPlanes::planes) * out.rows * out.cols, 0.0f);
  const int row_offset = (rows_padding - 1) / 2, col_offset = (cols_padding - 1) / 2;
  const float eps = 0.0001f;
  for (int y = 0; y < hog_nr; ++y)
    for (int x = 0; x < hog_nc; ++x) {
      // The 4 blocks of 2x2 cells around cell (y + 1, x + 1), as dlib's 4 lanes.
      const std::array<float, 4> z1{energy(y + 1, x + 1), energy(y, x + 1), energy(y + 1, x), energy(y, x)};
      const std::array<float, 4> z2{energy(y + 1, x + 2), energy(y, x + 2), energy(y + 1, x + 1), energy(y, x + 1)};
      const std::array<float, 4> z3{energy(y + 2, x + 1), energy(y + 1, x + 1), energy(y + 2, x), energy(y + 1, x)};
      const std::array<float, 4> z4{energy(y + 2, x + 2), energy(y + 1, x + 2), energy(y + 2, x + 1),
                                    energy(y + 1, x + 1)};
      std::array<float, 4> nn, n, t{};
      for (int k = 0; k < 4; ++k) {
        nn[k] = float(0.2) * std::sqrt((((z1[k] + z2[k]) + z3[k]) + z4[k]) + eps);
        n[k] = float(0.1) / nn[k];
      }
      const auto clipped = [&](float h) {
        std::array<float, 4> a;
        for (int k = 0; k < 4; ++k) a[k] = std::min(h, nn[k]) * n[k];
        return a;
      };
      const int yy = y + row_offset, xx = x + col_offset;
      for (int o = 0; o < 18; o += 3) {
        const std::array<float, 4> h0 = clipped(bin(y + 2, x + 2, o)), h1 = clipped(bin(y + 2, x + 2, o + 1)),
                                   h2 = clipped(bin(y + 2, x + 2, o + 2));
        out.at(o, yy, xx) = fhog_detail::lane_sum(h0);
        out.at(o + 1, yy, xx) = fhog_detail::lane_sum(h1);
        out.at(o + 2, yy, xx) = fhog_detail::lane_sum(h2);
        for (int k = 0; k < 4; ++k) t[k] += (h0[k] + h1[k]) + h2[k];
      }
      for (int k = 0; k < 4; ++k) t[k] *= float(2 * 0.2357);
      for (int o = 0; o < 9; ++o)
        out.at(o + 18, yy, xx) = fhog_detail::lane_sum(clipped(bin(y + 2, x + 2, o) + bin(y + 2, x + 2, o + 9)));
      for (int k = 0; k < 4; ++k) out.at(27 + k, yy, xx) = t[k];
    }
  return out;
}

}  // namespace tsgan::models

#if defined(__clang__)
#pragma float_control(pop)
#elif defined(__GNUC__)
#pragma GCC pop_options
#endif
