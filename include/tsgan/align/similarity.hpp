// Similarity transforms of the plane (rotation, uniform scale, translation; no reflection) and
// their least-squares fit to point correspondences.
//
// fit_similarity is Umeyama's method (IEEE PAMI 13(4), 1991): centre both sets, take the SVD
// U D V^T of their cross-covariance, R = U S V^T with S = diag(1, -1) when det(U) det(V) < 0
// (the reflection fix: without it a mirrored point set would be fitted by a reflection, which no
// camera produces), scale tr(D S) / variance of the source, translation from the means. It
// minimises sum |T(from_i) - to_i|^2 over all similarities, as dlib's find_similarity_transform
// does. Fewer than two points, sets of different sizes, or source points that all coincide are
// errors.
#pragma once

#include <cmath>
#include <span>

#include <Eigen/Core>
#include <Eigen/LU>  // determinant
#include <Eigen/SVD>

#include "tsgan/align/point.hpp"
#include "tsgan/core/error.hpp"

namespace tsgan::align {

// p -> (a x - b y + tx, b x + a y + ty): a scale of hypot(a, b) and a rotation by atan2(b, a)
// (clockwise on screen, as y points down), then a shift.
struct Similarity {
  double a = 1, b = 0, tx = 0, ty = 0;

  Point operator()(Point p) const { return {a * p.x - b * p.y + tx, b * p.x + a * p.y + ty}; }
  double scale() const { return std::hypot(a, b); }
  double angle() const { return std::atan2(b, a); }

  Similarity inverse() const {
    const double n = a * a + b * b;
    if (!(n > 0)) fail("tsgan: align::Similarity::inverse: the transform has scale 0");
    const double ia = a / n, ib = -b / n;
    return {ia, ib, -(ia * tx - ib * ty), -(ib * tx + ia * ty)};
  }
  // (this ∘ inner)(p) = this(inner(p)).
  Similarity after(const Similarity& inner) const {
    return {a * inner.a - b * inner.b, b * inner.a + a * inner.b, a * inner.tx - b * inner.ty + tx,
            b * inner.tx + a * inner.ty + ty};
  }
};

inline Similarity fit_similarity(std::span<const Point> from, std::span<const Point> to) {
  if (from.size() != to.size() || from.size() < 2)
    fail("tsgan: align::fit_similarity needs two sets of the same size, at least 2 points each ({} and {} given)",
         from.size(), to.size());
  const double n = double(from.size());
  Eigen::Vector2d mf = Eigen::Vector2d::Zero(), mt = Eigen::Vector2d::Zero();
  for (std::size_t i = 0; i < from.size(); ++i) {
    mf += Eigen::Vector2d(from[i].x, from[i].y);
    mt += Eigen::Vector2d(to[i].x, to[i].y);
  }
  mf /= n;
  mt /= n;
  Eigen::Matrix2d cov = Eigen::Matrix2d::Zero();
  double variance = 0;
  for (std::size_t i = 0; i < from.size(); ++i) {
    const Eigen::Vector2d f = Eigen::Vector2d(from[i].x, from[i].y) - mf, t = Eigen::Vector2d(to[i].x, to[i].y) - mt;
    cov += t * f.transpose();
    variance += f.squaredNorm();
  }
  cov /= n;
  variance /= n;
  if (!(variance > 0)) fail("tsgan: align::fit_similarity: the {} source points coincide", from.size());
  const Eigen::JacobiSVD<Eigen::Matrix2d> svd(cov, Eigen::ComputeFullU | Eigen::ComputeFullV);
  Eigen::Vector2d s(1, 1);
  if (svd.matrixU().determinant() * svd.matrixV().determinant() < 0) s(1) = -1;
  const Eigen::Matrix2d rotation = svd.matrixU() * s.asDiagonal() * svd.matrixV().transpose();
  const double scale = svd.singularValues().dot(s) / variance;
  const Eigen::Vector2d shift = mt - scale * rotation * mf;
  return {scale * rotation(0, 0), scale * rotation(1, 0), shift(0), shift(1)};
}

}  // namespace tsgan::align
