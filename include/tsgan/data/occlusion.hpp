// Synthetic occlusions for training and testing TSGAN: masks M (1 = occluded) of a face crop.
//
// Types follow the method document: keypoint rectangles (left eye, right eye, both eyes, nose,
// mouth) centred on landmarks, random blocks with a side uniform in [32, 64] px, and irregular
// masks of thick strokes, discs and ellipses. Sizes are given for a 128-pixel crop and scaled to
// the crop's size. Every draw comes from a Philox Generator, so a test set that seeds one generator
// per image gives every method the same masks.
//
// Choices the source leaves open [D]: rectangle sizes are width × height (eyes 40 × 40, nose
// 40 × 32 as in TP-GAN, mouth 48 × 32, both eyes spanning both eye rectangles); irregular masks draw 2–5
// shapes with strokes 6–14 px thick; all shapes are clipped to the crop.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <optional>
#include <string_view>
#include <vector>

#include "tsgan/align/landmarks.hpp"
#include "tsgan/core/error.hpp"
#include "tsgan/core/random.hpp"

namespace tsgan::data {

enum class Occlusion { left_eye, right_eye, both_eyes, nose, mouth, random_block, irregular };

inline constexpr std::array<Occlusion, 7> all_occlusions{Occlusion::left_eye, Occlusion::right_eye, Occlusion::both_eyes,
                                                         Occlusion::nose,     Occlusion::mouth,     Occlusion::random_block,
                                                         Occlusion::irregular};

constexpr std::string_view to_string(Occlusion o) {
  switch (o) {
    case Occlusion::left_eye: return "left_eye";
    case Occlusion::right_eye: return "right_eye";
    case Occlusion::both_eyes: return "both_eyes";
    case Occlusion::nose: return "nose";
    case Occlusion::mouth: return "mouth";
    case Occlusion::random_block: return "random_block";
    case Occlusion::irregular: return "irregular";
  }
  return "?";
}

inline Occlusion occlusion_from_string(std::string_view s) {
  for (Occlusion o : all_occlusions)
    if (to_string(o) == s) return o;
  fail("tsgan: unknown occlusion type '{}' (expected left_eye, right_eye, both_eyes, nose, mouth, random_block or irregular)", s);
}

// Five landmarks in pixel coordinates (align/landmarks.hpp): left eye, right eye, nose, left and
// right mouth corners, "left" being the image's left.
using Landmarks = align::FivePoints;

// The mean landmark positions of the aligned 128 × 128 crops (TP-GAN's alignment), scaled to `size`.
inline Landmarks mean_landmarks(double size) {
  const double s = size / 128.0;
  return {{{43.58 * s, 41.00 * s}, {86.42 * s, 41.00 * s}, {64.12 * s, 64.75 * s}, {47.59 * s, 88.86 * s}, {82.59 * s, 89.11 * s}}};
}

// A binary mask of `width` × `height` pixels, row-major.
class MaskCanvas {
 public:
  MaskCanvas(float* data, index_t width, index_t height) : data_(data), w_(width), h_(height) {
    std::fill_n(data_, w_ * h_, 0.f);
  }
  index_t width() const { return w_; }
  index_t height() const { return h_; }

  // Fills the axis-aligned rectangle [x0, x1) × [y0, y1), clipped.
  void rect(double x0, double y0, double x1, double y1) {
    const index_t a = clampi(std::lround(x0), w_), b = clampi(std::lround(x1), w_);
    const index_t c = clampi(std::lround(y0), h_), d = clampi(std::lround(y1), h_);
    for (index_t y = c; y < d; ++y) std::fill(data_ + y * w_ + a, data_ + y * w_ + b, 1.f);
  }
  // Fills the ellipse with centre (cx, cy), radii (rx, ry), rotated by `angle` radians.
  void ellipse(double cx, double cy, double rx, double ry, double angle = 0) {
    const double ca = std::cos(angle), sa = std::sin(angle), r = std::max(rx, ry);
    for (index_t y = clampi(std::lround(cy - r), h_); y < clampi(std::lround(cy + r) + 1, h_); ++y)
      for (index_t x = clampi(std::lround(cx - r), w_); x < clampi(std::lround(cx + r) + 1, w_); ++x) {
        const double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
        const double u = (dx * ca + dy * sa) / rx, v = (-dx * sa + dy * ca) / ry;
        if (u * u + v * v <= 1.0) data_[y * w_ + x] = 1.f;
      }
  }
  // Fills a segment of the given thickness with round ends.
  void stroke(double x0, double y0, double x1, double y1, double thickness) {
    const double len = std::hypot(x1 - x0, y1 - y0);
    const int steps = std::max(1, static_cast<int>(std::ceil(len / std::max(1.0, thickness / 4))));
    for (int i = 0; i <= steps; ++i) {
      const double t = double(i) / steps;
      ellipse(x0 + t * (x1 - x0), y0 + t * (y1 - y0), thickness / 2, thickness / 2);
    }
  }
  double coverage() const {
    double s = 0;
    for (index_t i = 0; i < w_ * h_; ++i) s += data_[i];
    return s / double(w_ * h_);
  }

 private:
  static index_t clampi(long v, index_t hi) { return std::clamp<index_t>(v, 0, hi); }
  float* data_;
  index_t w_, h_;
};

// Draws an occlusion of kind `kind` on a square crop of side `size` with landmarks `lm`.
inline void draw_occlusion(MaskCanvas& m, Occlusion kind, const Landmarks& lm, random::Generator& gen) {
  const double s = double(m.width()) / 128.0;  // sizes below are for a 128-pixel crop
  auto centred = [&](double cx, double cy, double w, double h) { m.rect(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2); };
  switch (kind) {
    case Occlusion::left_eye: centred(lm[0].x, lm[0].y, 40 * s, 40 * s); break;
    case Occlusion::right_eye: centred(lm[1].x, lm[1].y, 40 * s, 40 * s); break;
    case Occlusion::both_eyes:
      m.rect(std::min(lm[0].x, lm[1].x) - 20 * s, std::min(lm[0].y, lm[1].y) - 20 * s, std::max(lm[0].x, lm[1].x) + 20 * s,
             std::max(lm[0].y, lm[1].y) + 20 * s);
      break;
    case Occlusion::nose: centred(lm[2].x, lm[2].y, 40 * s, 32 * s); break;
    case Occlusion::mouth: centred((lm[3].x + lm[4].x) / 2, (lm[3].y + lm[4].y) / 2, 48 * s, 32 * s); break;
    case Occlusion::random_block: {
      const double side = gen.uniform<double>(32, 64) * s;
      const double x0 = gen.uniform<double>(0, std::max(0.0, double(m.width()) - side));
      const double y0 = gen.uniform<double>(0, std::max(0.0, double(m.height()) - side));
      m.rect(x0, y0, x0 + side, y0 + side);
      break;
    }
    case Occlusion::irregular: {
      const std::int64_t shapes = gen.uniform_int(2, 5);
      const double w = double(m.width()), h = double(m.height());
      for (std::int64_t i = 0; i < shapes; ++i) {
        const std::int64_t type = gen.uniform_int(0, 2);
        const double cx = gen.uniform<double>(0.2 * w, 0.8 * w), cy = gen.uniform<double>(0.2 * h, 0.8 * h);
        if (type == 0) {  // a stroke
          const double angle = gen.uniform<double>(0, 2 * std::numbers::pi), len = gen.uniform<double>(20, 60) * s;
          const double thick = gen.uniform<double>(6, 14) * s;
          m.stroke(cx, cy, cx + len * std::cos(angle), cy + len * std::sin(angle), thick);
        } else if (type == 1) {  // a disc
          const double r = gen.uniform<double>(6, 16) * s;
          m.ellipse(cx, cy, r, r);
        } else {  // an ellipse
          m.ellipse(cx, cy, gen.uniform<double>(8, 24) * s, gen.uniform<double>(4, 12) * s,
                    gen.uniform<double>(0, std::numbers::pi));
        }
      }
      break;
    }
  }
}

// The seed of one test item's occlusion (an image's name, a mask's number): FNV-1a of the key,
// mixed with the base seed through SplitMix64's finaliser. Every method and every run then draws
// the same mask for the item, whatever else is evaluated and in whichever order.
inline std::uint64_t item_seed(std::uint64_t base, std::string_view key) {
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a, 64 bits
  for (unsigned char c : key) h = (h ^ c) * 0x100000001b3ULL;
  auto mix = [](std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  return mix(h ^ mix(base + 0x9e3779b97f4a7c15ULL));
}

// The mask of `kind` on a square crop of side `size` (mean landmarks), drawn from a generator of
// its own seeded with `seed`: size × size values, row-major, 1 = occluded. The same seed gives the
// same shapes at any size (positions and sizes scale with the crop).
// With `landmarks` (the face's own, in the crop's pixels), keypoint masks sit on them instead.
inline std::vector<float> fixed_occlusion(Occlusion kind, index_t size, std::uint64_t seed,
                                          const std::optional<Landmarks>& landmarks = std::nullopt) {
  std::vector<float> mask(static_cast<std::size_t>(size * size));
  MaskCanvas canvas(mask.data(), size, size);
  random::Generator gen(seed);
  draw_occlusion(canvas, kind, landmarks ? *landmarks : mean_landmarks(double(size)), gen);
  return mask;
}

// A kind drawn uniformly from all seven.
inline Occlusion random_occlusion(random::Generator& gen) {
  return all_occlusions[static_cast<std::size_t>(gen.uniform_int(0, all_occlusions.size() - 1))];
}

}  // namespace tsgan::data
