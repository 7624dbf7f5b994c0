// Rasteriser: draws a textured triangle mesh into a Frame, in software, on the CPU.
//
//   render::Frame frame(width, height, channels);            // or Frame::from(background)
//   render::rasterize(project(points, camera), uv, triangles, texture, frame);
//   frame.color, frame.depth, frame.coverage, frame.triangle // what was drawn where
//
// Contract:
//  - pixel (x, y) is sampled at its centre, the point (x, y): integer coordinates are pixel
//    centres, in the frame and in the texture alike, so a mesh whose screen positions equal its
//    texture coordinates copies the texture exactly;
//  - a pixel belongs to a triangle when its centre is inside, or on an edge that is a top or left
//    edge (Direct3D's rule), so that two triangles sharing an edge never both draw a pixel on it;
//  - z-buffer: a pixel takes the nearest triangle (smallest depth); on equal depths the triangle
//    that comes first in `triangles` wins;
//  - back-face culling: a triangle is front-facing when its vertices run clockwise on the image
//    (x right, y down), or counter-clockwise with FrontFace::counter_clockwise; degenerate
//    (zero-area) triangles never draw;
//  - texture coordinates (in texture pixels) and depth interpolate perspective-correctly with the
//    vertices' 1/w; the texture is sampled bilinearly, clamped to its edge;
//  - rows are split between threads (tsgan::parallel_for); every pixel is drawn by one thread
//    that visits the triangles in order, so the result never depends on the thread count.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "tsgan/core/error.hpp"
#include "tsgan/core/parallel.hpp"
#include "tsgan/render/camera.hpp"

namespace tsgan::render {

// A float image, row-major HWC, that the rasteriser reads (texel (y, x) channel c at
// pixels[(y·width + x)·channels + c]).
struct TextureView {
  const float* pixels = nullptr;
  int width = 0, height = 0, channels = 0;
};

// Bilinear sample at (u, v) (texel centres at integers), clamped to the edge, into out[channels].
inline void sample_bilinear(const TextureView& t, double u, double v, float* out) {
  u = std::clamp(u, 0.0, static_cast<double>(t.width - 1));
  v = std::clamp(v, 0.0, static_cast<double>(t.height - 1));
  const int x0 = std::min(static_cast<int>(u), t.width - 1), y0 = std::min(static_cast<int>(v), t.height - 1);
  const int x1 = std::min(x0 + 1, t.width - 1), y1 = std::min(y0 + 1, t.height - 1);
  const double fx = u - x0, fy = v - y0;
  const auto at = [&](int y, int x) { return t.pixels + (static_cast<std::size_t>(y) * t.width + x) * t.channels; };
  const float *a = at(y0, x0), *b = at(y0, x1), *c = at(y1, x0), *d = at(y1, x1);
  for (int k = 0; k < t.channels; ++k) {
    const double top = a[k] + (b[k] - a[k]) * fx, bottom = c[k] + (d[k] - c[k]) * fx;
    out[k] = static_cast<float>(top + (bottom - top) * fy);
  }
}

// What rasterize() draws into: colour (HWC floats), depth (+inf where nothing was drawn), a
// coverage mask (1 where a triangle was drawn) and the index of the triangle seen (−1: none).
struct Frame {
  int width = 0, height = 0, channels = 0;
  std::vector<float> color;
  std::vector<double> depth;
  std::vector<std::uint8_t> coverage;
  std::vector<std::int32_t> triangle;

  Frame(int width_, int height_, int channels_, float background = 0)
      : width(width_), height(height_), channels(channels_) {
    if (width <= 0 || height <= 0 || channels <= 0)
      fail("tsgan: render: a frame of {}x{} with {} channels (all positive expected)", width, height, channels);
    const std::size_t n = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
    color.assign(n * static_cast<std::size_t>(channels), background);
    depth.assign(n, std::numeric_limits<double>::infinity());
    coverage.assign(n, 0);
    triangle.assign(n, -1);
  }
  // A frame whose colour starts as `background` (HWC, width·height·channels values): what no
  // triangle covers keeps it.
  static Frame from(const TextureView& background) {
    Frame f(background.width, background.height, background.channels);
    std::copy_n(background.pixels, f.color.size(), f.color.begin());
    return f;
  }

  float* pixel(int y, int x) { return color.data() + (static_cast<std::size_t>(y) * width + x) * channels; }
  const float* pixel(int y, int x) const {
    return color.data() + (static_cast<std::size_t>(y) * width + x) * channels;
  }
  std::size_t index(int y, int x) const { return static_cast<std::size_t>(y) * width + x; }
  TextureView view() const { return {color.data(), width, height, channels}; }
};

enum class FrontFace { clockwise, counter_clockwise };
enum class Cull { none, back };

struct RasterOptions {
  Cull cull = Cull::back;
  FrontFace front = FrontFace::clockwise;
};

using Triangle = std::array<int, 3>;
struct TexCoord {
  double u = 0, v = 0;
};

namespace detail {

// A triangle ready to draw: vertices ordered so that the signed area is positive.
struct Setup {
  ScreenVertex v[3];
  TexCoord t[3];
  double area;
  bool top_left[3];  // edge i runs from v[i] to v[(i + 1) % 3]
  int y_min, y_max, x_min, x_max;
  int id;
};

inline double edge(const ScreenVertex& a, const ScreenVertex& b, double px, double py) {
  return (b.x - a.x) * (py - a.y) - (b.y - a.y) * (px - a.x);
}

}  // namespace detail

// Draws `triangles` (indices into `vertices` and `uv`) into `frame`, textured from `texture`
// (which has frame.channels channels). The texture may not alias the frame.
inline void rasterize(std::span<const ScreenVertex> vertices, std::span<const TexCoord> uv,
                      std::span<const Triangle> triangles, const TextureView& texture, Frame& frame,
                      const RasterOptions& options = {}) {
  if (uv.size() != vertices.size())
    fail("tsgan: render: {} texture coordinates for {} vertices (one each expected)", uv.size(), vertices.size());
  if (texture.channels != frame.channels || texture.width <= 0 || texture.height <= 0 || !texture.pixels)
    fail("tsgan: render: a {}x{} texture with {} channels for a frame with {} channels (the same and a "
         "non-empty texture expected)",
         texture.width, texture.height, texture.channels, frame.channels);
  if (texture.pixels == frame.color.data()) fail("tsgan: render: the texture is the frame being drawn");

  std::vector<detail::Setup> setups;
  setups.reserve(triangles.size());
  for (std::size_t t = 0; t < triangles.size(); ++t) {
    const Triangle& tri = triangles[t];
    for (int i : tri)
      if (i < 0 || static_cast<std::size_t>(i) >= vertices.size())
        fail("tsgan: render: triangle {} uses vertex {} of {}", t, i, vertices.size());
    detail::Setup s;
    for (int k = 0; k < 3; ++k) {
      s.v[k] = vertices[static_cast<std::size_t>(tri[static_cast<std::size_t>(k)])];
      s.t[k] = uv[static_cast<std::size_t>(tri[static_cast<std::size_t>(k)])];
    }
    const double area = detail::edge(s.v[0], s.v[1], s.v[2].x, s.v[2].y);
    if (area == 0 || !std::isfinite(area)) continue;
    const bool clockwise = area > 0;  // y points down: a positive area turns clockwise on screen
    if (options.cull == Cull::back && clockwise != (options.front == FrontFace::clockwise)) continue;
    if (!clockwise) {
      std::swap(s.v[1], s.v[2]);
      std::swap(s.t[1], s.t[2]);
    }
    s.area = std::abs(area);
    for (int k = 0; k < 3; ++k) {
      const ScreenVertex &a = s.v[k], &b = s.v[(k + 1) % 3];
      // With a positive area and y down, a top edge runs horizontally to the right and a left
      // edge runs upwards.
      s.top_left[k] = (a.y == b.y && b.x > a.x) || b.y < a.y;
    }
    const double lo_y = std::min({s.v[0].y, s.v[1].y, s.v[2].y}), hi_y = std::max({s.v[0].y, s.v[1].y, s.v[2].y});
    const double lo_x = std::min({s.v[0].x, s.v[1].x, s.v[2].x}), hi_x = std::max({s.v[0].x, s.v[1].x, s.v[2].x});
    if (hi_y < 0 || hi_x < 0 || lo_y > frame.height - 1 || lo_x > frame.width - 1) continue;
    s.y_min = std::max(0, static_cast<int>(std::ceil(lo_y)));
    s.y_max = std::min(frame.height - 1, static_cast<int>(std::floor(hi_y)));
    s.x_min = std::max(0, static_cast<int>(std::ceil(lo_x)));
    s.x_max = std::min(frame.width - 1, static_cast<int>(std::floor(hi_x)));
    s.id = static_cast<int>(t);
    setups.push_back(s);
  }

  const int channels = frame.channels;
  auto draw_rows = [&](index_t row_begin, index_t row_end) {
    std::vector<float> texel(static_cast<std::size_t>(channels));
    for (const detail::Setup& s : setups) {
      const int y0 = std::max(s.y_min, static_cast<int>(row_begin));
      const int y1 = std::min(s.y_max, static_cast<int>(row_end) - 1);
      for (int y = y0; y <= y1; ++y)
        for (int x = s.x_min; x <= s.x_max; ++x) {
          const double px = x, py = y;
          // e[k] is twice the area opposite vertex k: the edge from v[k+1] to v[k+2].
          const double e[3] = {detail::edge(s.v[1], s.v[2], px, py), detail::edge(s.v[2], s.v[0], px, py),
                               detail::edge(s.v[0], s.v[1], px, py)};
          bool inside = true;
          for (int k = 0; k < 3 && inside; ++k)
            inside = e[k] > 0 || (e[k] == 0 && s.top_left[(k + 1) % 3]);
          if (!inside) continue;
          // Perspective-correct weights: screen barycentrics times 1/w, renormalised. The depth
          // comes out as 1/Σ(b·1/w) under perspective and as Σ b·z under weak perspective.
          double l[3], sum = 0;
          for (int k = 0; k < 3; ++k) {
            l[k] = e[k] / s.area * s.v[k].inv_w;
            sum += l[k];
          }
          for (double& w : l) w /= sum;
          const double depth = l[0] * s.v[0].depth + l[1] * s.v[1].depth + l[2] * s.v[2].depth;
          const std::size_t p = frame.index(y, x);
          if (!(depth < frame.depth[p])) continue;
          const double u = l[0] * s.t[0].u + l[1] * s.t[1].u + l[2] * s.t[2].u;
          const double v = l[0] * s.t[0].v + l[1] * s.t[1].v + l[2] * s.t[2].v;
          sample_bilinear(texture, u, v, texel.data());
          std::copy(texel.begin(), texel.end(), frame.pixel(y, x));
          frame.depth[p] = depth;
          frame.coverage[p] = 1;
          frame.triangle[p] = s.id;
        }
    }
  };
  parallel_for(frame.height, grain_for(static_cast<index_t>(frame.width) * 8), draw_rows);
}

}  // namespace tsgan::render
