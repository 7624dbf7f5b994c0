// Head mesh: FaceMesh's face surface extended beyond its silhouette, so that forehead, hair,
// temples, ears, jaw and neck turn with the face when pose synthesis turns it. The face mesh
// ends at the face oval; a network that reads the whole head sees a frontal head with a moved
// face when only the oval turns. This follows the face profiling of 3DDFA (Zhu et al., CVPR
// 2016): points around the face get a depth from a head-shaped surface and turn with it, points
// farther out stay where they are, and the triangles between them stretch over what the head
// uncovers.
//
//   render::HeadMesh head(read_canonical_mesh(file));
//   std::vector<Vec3> v = head.extend(points);   // FaceMesh's 468 points in image pixels
//   head.triangles(), head.turning_count()
//
// Contract:
//  - vertices of extend(): the 468 points first, unchanged; then HeadShape::ring_scales.size()
//    "head rings", each a copy of the face's boundary loop (boundary_loop(), in loop order),
//    which turn with the face; then one "still ring" that never moves. turning_count() is 468
//    plus the head rings' vertices: the vertices a turn moves.
//  - shape: the canonical face (cm) and a head ellipsoid around it (HeadShape) are placed on the
//    points by the least-squares similarity from the canonical face onto them
//    (best_similarity, Umeyama). In the canonical frame, the head-ring vertex of boundary vertex b
//    at scale r lies at b's (x, y) scaled by r from the ellipsoid centre's (x, y), on the
//    ellipsoid's front surface (at the centre's depth beyond its outline: ears and hair spread
//    out in the plane of the ears). The points' own offset at b from the ellipsoid point under
//    b (3-D, in pixels) is added with a weight that falls linearly from 1 at the face's boundary
//    to 0 at the outermost head ring, so the rings continue the face without a step;
//  - the still ring: boundary scaled by HeadShape::still_scale, at the depth of the back of the
//    head (so the band behind the head never hides it). The triangles between it and the
//    outermost head ring are the "band" (band_begin() on): they stand for the background next
//    to the head and stretch or squeeze as the head turns;
//  - triangles: the face's 898 first (same ids), then the rings' quads (two triangles each),
//    then the band; all counter-clockwise on the image for the canonical face seen from the
//    front, as the face's own are (FrontFace::counter_clockwise).
//
// best_similarity(from, to): the least-squares s·R·p + t (R a rotation, no reflection) from one
// set of corresponding 3-D points onto another (Umeyama 1991).
#pragma once

#include <algorithm>
#include <cmath>
#include <map>
#include <span>
#include <vector>

#include <Eigen/Core>
#include <Eigen/LU>  // determinant
#include <Eigen/SVD>

#include "tsgan/core/error.hpp"
#include "tsgan/render/camera.hpp"
#include "tsgan/render/canonical_mesh.hpp"
#include "tsgan/render/rasterizer.hpp"

namespace tsgan::render {

struct SimilarityTransform {
  double scale = 1;
  Rotation rotation;
  Vec3 translation;

  Vec3 operator()(const Vec3& p) const {
    const Vec3 r = rotation(p);
    return {scale * r.x + translation.x, scale * r.y + translation.y, scale * r.z + translation.z};
  }
};

// Umeyama's least squares: corresponding points, at least 3, not all on a line.
inline SimilarityTransform best_similarity(std::span<const Vec3> from, std::span<const Vec3> to) {
  if (from.size() != to.size() || from.size() < 3)
    fail("tsgan: best_similarity: {} and {} points (as many, and at least 3, expected)", from.size(), to.size());
  const auto as_matrix = [](std::span<const Vec3> p) {
    Eigen::Matrix3Xd m(3, static_cast<Eigen::Index>(p.size()));
    for (std::size_t i = 0; i < p.size(); ++i) m.col(static_cast<Eigen::Index>(i)) << p[i].x, p[i].y, p[i].z;
    return m;
  };
  Eigen::Matrix3Xd a = as_matrix(from), b = as_matrix(to);
  const Eigen::Vector3d mean_a = a.rowwise().mean(), mean_b = b.rowwise().mean();
  a.colwise() -= mean_a;
  b.colwise() -= mean_b;
  const Eigen::JacobiSVD<Eigen::Matrix3d> svd(b * a.transpose(), Eigen::ComputeFullU | Eigen::ComputeFullV);
  Eigen::Matrix3d d = Eigen::Matrix3d::Identity();
  if ((svd.matrixU() * svd.matrixV().transpose()).determinant() < 0) d(2, 2) = -1;  // a rotation, not a mirror
  const Eigen::Matrix3d r = svd.matrixU() * d * svd.matrixV().transpose();
  const double spread = a.squaredNorm();
  if (!(spread > 0)) fail("tsgan: best_similarity: the {} source points all coincide", from.size());
  const double s = (svd.singularValues().asDiagonal() * d).trace() / spread;
  const Eigen::Vector3d t = mean_b - s * r * mean_a;
  SimilarityTransform out;
  out.scale = s;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) out.rotation.r[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)] = r(i, j);
  out.translation = {t.x(), t.y(), t.z()};
  return out;
}

// The boundary of a triangle mesh that is a disc: the vertices of the edges that only one
// triangle uses, in the order the loop visits them, starting at the smallest index.
inline std::vector<int> boundary_loop(std::span<const Triangle> triangles) {
  std::map<std::pair<int, int>, int> uses;  // undirected edge -> triangles using it
  for (const Triangle& t : triangles)
    for (int k = 0; k < 3; ++k) {
      const int a = t[static_cast<std::size_t>(k)], b = t[static_cast<std::size_t>((k + 1) % 3)];
      ++uses[{std::min(a, b), std::max(a, b)}];
    }
  std::map<int, std::vector<int>> next;
  for (const auto& [e, n] : uses)
    if (n == 1) {
      next[e.first].push_back(e.second);
      next[e.second].push_back(e.first);
    }
  if (next.empty()) fail("tsgan: boundary_loop: the mesh of {} triangles has no boundary", triangles.size());
  for (const auto& [v, n] : next)
    if (n.size() != 2) fail("tsgan: boundary_loop: boundary vertex {} has {} boundary edges (2 expected: one loop)", v, n.size());
  std::vector<int> loop{next.begin()->first};
  int previous = -1;
  while (true) {
    const std::vector<int>& n = next.at(loop.back());
    const int step = n[0] != previous ? n[0] : n[1];
    if (step == loop.front()) break;
    previous = loop.back();
    loop.push_back(step);
    if (loop.size() > next.size()) break;
  }
  if (loop.size() != next.size())
    fail("tsgan: boundary_loop: the boundary has {} vertices but the loop through vertex {} visits {} (one loop expected)",
         next.size(), loop.front(), loop.size());
  return loop;
}

// An average adult head around the canonical face (centimetres, its axes: y up, z towards the
// viewer; the canonical nose tip is at z = 7.5, its chin at y = −9.4, the bridge of the nose at
// z = 5.2). Head breadth about 16 cm, height chin to crown about 23 cm, length from the brow to
// the back of the head about 19.5 cm: an ellipsoid with those diameters, its bottom at the chin
// and its front at the brow.
struct HeadShape {
  Vec3 centre{0.0, 2.1, -4.5};
  Vec3 semi_axes{8.0, 11.5, 9.75};
  // Head rings as multiples of the boundary's distance from the centre (x, y); the last one
  // reaches past the ears and the crown.
  std::vector<double> ring_scales{1.1, 1.25, 1.45, 1.7};
  double still_scale = 2.2;
};

class HeadMesh {
 public:
  explicit HeadMesh(const CanonicalMesh& canonical, HeadShape shape = {})
      : shape_(std::move(shape)), loop_(boundary_loop(canonical.triangles)) {
    if (shape_.ring_scales.empty()) fail("tsgan: head mesh: no head rings (HeadShape::ring_scales is empty)");
    double previous = 1;
    for (const double r : shape_.ring_scales) {
      if (!(r > previous)) fail("tsgan: head mesh: ring scales must grow from 1: {} after {}", r, previous);
      previous = r;
    }
    if (!(shape_.still_scale > previous))
      fail("tsgan: head mesh: the still ring's scale {} is inside the last head ring's {}", shape_.still_scale, previous);
    face_count_ = canonical.vertices.size();
    for (const Vec3& v : canonical.vertices) canonical_.push_back(to_image_axes(v));
    triangles_ = canonical.triangles;
    face_triangle_count_ = triangles_.size();
    const std::size_t n = loop_.size(), rings = shape_.ring_scales.size();
    // Ring 0 is the face's own boundary, ring k its k-th copy, ring rings+1 the still ring.
    const auto vertex = [&](std::size_t ring, std::size_t j) {
      return ring == 0 ? loop_[j % n] : static_cast<int>(face_count_ + (ring - 1) * n + j % n);
    };
    std::vector<Triangle> quads;
    for (std::size_t ring = 0; ring <= rings; ++ring) {
      if (ring == rings) band_begin_ = face_triangle_count_ + quads.size();
      for (std::size_t j = 0; j < n; ++j) {
        const int a = vertex(ring, j), b = vertex(ring, j + 1), c = vertex(ring + 1, j + 1), d = vertex(ring + 1, j);
        quads.push_back({a, d, c});
        quads.push_back({a, c, b});
      }
    }
    // The loop may run either way round; the face's own triangles say which way faces the viewer.
    const std::vector<Vec3> rest = extend(canonical_);
    const auto area = [&](const Triangle& t) {
      const Vec3 &a = rest[static_cast<std::size_t>(t[0])], &b = rest[static_cast<std::size_t>(t[1])], &c = rest[static_cast<std::size_t>(t[2])];
      return (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x);
    };
    if (area(quads.front()) > 0)
      for (Triangle& t : quads) std::swap(t[1], t[2]);
    triangles_.insert(triangles_.end(), quads.begin(), quads.end());
  }

  const std::vector<Triangle>& triangles() const { return triangles_; }
  const std::vector<int>& loop() const { return loop_; }
  const HeadShape& shape() const { return shape_; }
  std::size_t face_vertex_count() const { return face_count_; }
  std::size_t face_triangle_count() const { return face_triangle_count_; }
  std::size_t turning_count() const { return face_count_ + loop_.size() * shape_.ring_scales.size(); }
  std::size_t vertex_count() const { return turning_count() + loop_.size(); }
  std::size_t band_begin() const { return band_begin_; }

  // The canonical face in the image's axes (y down, z away from the viewer), in centimetres.
  const std::vector<Vec3>& canonical_in_image_axes() const { return canonical_; }

  // The head ellipsoid's front surface at (x, y) of the canonical frame (y up, z towards the
  // viewer), or the centre's depth outside the ellipsoid's outline.
  double ellipsoid_front(double x, double y) const {
    const Vec3 &c = shape_.centre, &a = shape_.semi_axes;
    const double u = (x - c.x) / a.x, v = (y - c.y) / a.y;
    return c.z + a.z * std::sqrt(std::max(0.0, 1 - u * u - v * v));
  }

  // The 468 points followed by the head rings and the still ring (see the contract).
  std::vector<Vec3> extend(std::span<const Vec3> points) const {
    if (points.size() != face_count_)
      fail("tsgan: head mesh: {} face points ({} expected, one per canonical vertex)", points.size(), face_count_);
    const SimilarityTransform place = best_similarity(canonical_, points);
    std::vector<Vec3> out(points.begin(), points.end());
    out.reserve(vertex_count());
    const Vec3& c = shape_.centre;
    const std::size_t rings = shape_.ring_scales.size();
    // In the canonical frame: the point at scale r of boundary vertex b, on the head surface.
    const auto on_head = [&](int b, double r, bool still) {
      const Vec3 p = from_image_axes(canonical_[static_cast<std::size_t>(b)]);
      const double x = c.x + r * (p.x - c.x), y = c.y + r * (p.y - c.y);
      return place(to_image_axes({x, y, still ? c.z - shape_.semi_axes.z : ellipsoid_front(x, y)}));
    };
    for (std::size_t k = 0; k < rings; ++k) {
      const double weight = 1.0 - double(k + 1) / double(rings);
      for (const int b : loop_) {
        const Vec3 q = on_head(b, shape_.ring_scales[k], false), under = on_head(b, 1.0, false);
        const Vec3& own = points[static_cast<std::size_t>(b)];
        out.push_back({q.x + weight * (own.x - under.x), q.y + weight * (own.y - under.y), q.z + weight * (own.z - under.z)});
      }
    }
    for (const int b : loop_) out.push_back(on_head(b, shape_.still_scale, true));
    return out;
  }

 private:
  // The canonical frame (y up, z towards the viewer) and the image's (y down, z away) differ by
  // a half turn about x, a rotation, so a similarity between them needs no mirror.
  static Vec3 to_image_axes(const Vec3& p) { return {p.x, -p.y, -p.z}; }
  static Vec3 from_image_axes(const Vec3& p) { return {p.x, -p.y, -p.z}; }

  HeadShape shape_;
  std::vector<int> loop_;
  std::vector<Vec3> canonical_;
  std::vector<Triangle> triangles_;
  std::size_t face_count_ = 0, face_triangle_count_ = 0, band_begin_ = 0;
};

}  // namespace tsgan::render
