// Camera: where 3-D points land in an image. Points are in camera space, x to the right, y down,
// z away from the viewer (the image's own axes, so a point at (x, y, ·) under the identity camera
// lands on pixel (x, y)); a larger z is farther. Two projections:
//   - weak perspective (orthographic with a scale): x' = cx + s·x, y' = cy + s·y;
//   - perspective (pinhole): x' = cx + f·x/z, y' = cy + f·y/z, for z > 0 only.
// project() also returns 1/w (1/z for perspective, 1 for weak perspective), which the rasteriser
// needs to interpolate texture coordinates perspective-correctly. Rotations are about the axes of
// this space through a chosen centre: yaw about y (θ > 0 moves what faces the viewer towards −x,
// so a frontal face turns to the viewer's left), pitch about x, roll about z.
#pragma once

#include <array>
#include <cmath>
#include <vector>

#include "tsgan/core/error.hpp"

namespace tsgan::render {

struct Vec3 {
  double x = 0, y = 0, z = 0;
  friend constexpr bool operator==(const Vec3&, const Vec3&) = default;
};

// A 3x3 rotation, row-major: r[i][j] multiplies component j into component i.
struct Rotation {
  std::array<std::array<double, 3>, 3> r{{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}};

  Vec3 operator()(const Vec3& p) const {
    return {r[0][0] * p.x + r[0][1] * p.y + r[0][2] * p.z, r[1][0] * p.x + r[1][1] * p.y + r[1][2] * p.z,
            r[2][0] * p.x + r[2][1] * p.y + r[2][2] * p.z};
  }
  friend Rotation operator*(const Rotation& a, const Rotation& b) {
    Rotation c;
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) c.r[i][j] = a.r[i][0] * b.r[0][j] + a.r[i][1] * b.r[1][j] + a.r[i][2] * b.r[2][j];
    return c;
  }
  Rotation transposed() const {
    Rotation t;
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) t.r[i][j] = r[j][i];
    return t;
  }
};

// About the vertical (y) axis: (x, z) -> (x·cos θ + z·sin θ, −x·sin θ + z·cos θ), so a point in
// front of the centre (z < 0, towards the viewer) moves to −x for θ > 0.
inline Rotation yaw(double radians) {
  const double c = std::cos(radians), s = std::sin(radians);
  return {{{{c, 0, s}, {0, 1, 0}, {-s, 0, c}}}};
}
// About the horizontal (x) axis: (y, z) -> (y·cos θ − z·sin θ, y·sin θ + z·cos θ).
inline Rotation pitch(double radians) {
  const double c = std::cos(radians), s = std::sin(radians);
  return {{{{1, 0, 0}, {0, c, -s}, {0, s, c}}}};
}
// About the viewing (z) axis, in the image plane.
inline Rotation roll(double radians) {
  const double c = std::cos(radians), s = std::sin(radians);
  return {{{{c, -s, 0}, {s, c, 0}, {0, 0, 1}}}};
}

inline constexpr double degrees(double d) { return d * 3.14159265358979323846 / 180.0; }

// Every point rotated by `rotation` about `centre`.
inline std::vector<Vec3> rotate_about(const std::vector<Vec3>& points, const Rotation& rotation, const Vec3& centre) {
  std::vector<Vec3> out(points.size());
  for (std::size_t i = 0; i < points.size(); ++i) {
    const Vec3 d = rotation({points[i].x - centre.x, points[i].y - centre.y, points[i].z - centre.z});
    out[i] = {d.x + centre.x, d.y + centre.y, d.z + centre.z};
  }
  return out;
}

// A point on the image: pixel position, depth (larger is farther) and 1/w for perspective-correct
// interpolation.
struct ScreenVertex {
  double x = 0, y = 0, depth = 0, inv_w = 1;
};

struct Projection {
  enum class Kind { weak_perspective, perspective };
  Kind kind = Kind::weak_perspective;
  double scale = 1;  // weak perspective: pixels per unit; perspective: the focal length in pixels
  double cx = 0, cy = 0;

  static Projection weak(double scale = 1, double cx = 0, double cy = 0) {
    return {Kind::weak_perspective, scale, cx, cy};
  }
  static Projection pinhole(double focal, double cx, double cy) { return {Kind::perspective, focal, cx, cy}; }

  ScreenVertex operator()(const Vec3& p) const {
    if (kind == Kind::weak_perspective) return {cx + scale * p.x, cy + scale * p.y, p.z, 1.0};
    if (!(p.z > 0))
      fail("tsgan: render: a point at z = {} is not in front of the perspective camera (z > 0 expected)", p.z);
    const double iw = 1.0 / p.z;
    return {cx + scale * p.x * iw, cy + scale * p.y * iw, p.z, iw};
  }
};

inline std::vector<ScreenVertex> project(const std::vector<Vec3>& points, const Projection& projection) {
  std::vector<ScreenVertex> out(points.size());
  for (std::size_t i = 0; i < points.size(); ++i) out[i] = projection(points[i]);
  return out;
}

}  // namespace tsgan::render
