// Is FaceMesh's depth too shallow (issue 15 item 5 (a) at 60°)? For every image path read from
// standard input: data::FaceFitter's fit (the detector retry on, no refinement pass, as
// --yaw-check is run) and the least-squares fit of MediaPipe's canonical face mesh (metric
// proportions of an average face) to its 468 points by q ≈ s·R·diag(1, 1, d)·p + t: a rotation,
// a uniform scale, a translation and a separate scale d on the canonical face's own depth axis.
// d < 1 means FaceMesh's face is flatter than the canonical one. For each d the rest is Umeyama's
// closed form (render::best_similarity), so d is found by a golden-section search of the residual
// over log d in [1/4, 4].
// A second reading that shares no search with the first: the fitted points taken back into the
// canonical frame (R⁻¹(q − t)/s, with d = 1), the standard deviation of their depth over that of
// their width, divided by the same ratio of the canonical face.
// Also the pose of the fit (yaw and pitch of R against the canonical face seen from the front, in
// degrees), so that the summary can keep frontal photos only.
// Writes CSV path,d,spread_ratio,yaw,pitch,rms_d,rms_1 (empty where no fit; rms in pixels, with
// the fitted d and with d = 1).
//
//   tools/yaw-check/depth.sh  (builds this and runs it on LFW photos)
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <string>
#include <vector>

#include "tsgan/data/face_fitter.hpp"
#include "tsgan/io/image.hpp"
#include "tsgan/render/canonical_mesh.hpp"
#include "tsgan/render/head_mesh.hpp"

namespace {

using namespace tsgan;

constexpr double degrees_per_radian = 180.0 / 3.14159265358979323846;

std::vector<render::Vec3> depth_scaled(const std::vector<render::Vec3>& p, double d) {
  std::vector<render::Vec3> out = p;
  for (render::Vec3& v : out) v.z *= d;
  return out;
}

struct DepthFit {
  double d = 1;
  render::SimilarityTransform similarity;
  double rms = 0;  // root mean square distance, in the target's units
};

DepthFit fit_with_depth(const std::vector<render::Vec3>& model, const std::vector<render::Vec3>& target, double d) {
  const std::vector<render::Vec3> scaled = depth_scaled(model, d);
  DepthFit f{d, render::best_similarity(scaled, target), 0};
  for (std::size_t i = 0; i < target.size(); ++i) {
    const render::Vec3 q = f.similarity(scaled[i]);
    f.rms += (std::pow(q.x - target[i].x, 2) + std::pow(q.y - target[i].y, 2) + std::pow(q.z - target[i].z, 2)) / double(target.size());
  }
  f.rms = std::sqrt(f.rms);
  return f;
}

DepthFit best_depth(const std::vector<render::Vec3>& model, const std::vector<render::Vec3>& target) {
  const double golden = (std::sqrt(5.0) - 1) / 2;
  double a = std::log(0.25), b = std::log(4.0);
  double c = b - golden * (b - a), e = a + golden * (b - a);
  DepthFit fc = fit_with_depth(model, target, std::exp(c)), fe = fit_with_depth(model, target, std::exp(e));
  while (b - a > 1e-7) {
    if (fc.rms < fe.rms) {
      b = e, e = c, fe = fc;
      c = b - golden * (b - a);
      fc = fit_with_depth(model, target, std::exp(c));
    } else {
      a = c, c = e, fc = fe;
      e = a + golden * (b - a);
      fe = fit_with_depth(model, target, std::exp(e));
    }
  }
  return fc.rms < fe.rms ? fc : fe;
}

double depth_over_width(const std::vector<render::Vec3>& p) {
  double mx = 0, mz = 0, vx = 0, vz = 0;
  for (const auto& v : p) mx += v.x / double(p.size()), mz += v.z / double(p.size());
  for (const auto& v : p) vx += (v.x - mx) * (v.x - mx), vz += (v.z - mz) * (v.z - mz);
  return std::sqrt(vz / vx);
}

// The fitted points in the canonical frame: the similarity undone.
std::vector<render::Vec3> in_canonical_frame(const render::SimilarityTransform& s, const std::vector<render::Vec3>& q) {
  std::vector<render::Vec3> out;
  const render::Rotation back = s.rotation.transposed();
  for (const auto& v : q) {
    const render::Vec3 p = back({v.x - s.translation.x, v.y - s.translation.y, v.z - s.translation.z});
    out.push_back({p.x / s.scale, p.y / s.scale, p.z / s.scale});
  }
  return out;
}

// Yaw and pitch of the face: R·F, F = diag(1, -1, -1) taking the canonical frame (y up, z towards
// the viewer) to the image's (y down, z away), is the identity for the canonical face seen from
// the front; yaw in render::yaw's sign as relative_yaw_degrees reads it.
std::pair<double, double> yaw_pitch(const render::Rotation& rot) {
  const auto& r = rot.r;
  const double r02 = r[0][2] * -1, r22 = r[2][2] * -1, r12 = r[1][2] * -1;
  return {std::atan2(r02, r22) * degrees_per_radian, std::asin(std::clamp(-r12, -1.0, 1.0)) * degrees_per_radian};
}

}  // namespace

int main(int argc, char**) try {
  if (argc != 1) {
    std::fprintf(stderr, "usage: depth_fit < paths.txt > depth.csv   (one image path a line)\n");
    return 2;
  }
  const data::FaceFitModels models = data::face_fit_models();
  const render::CanonicalMesh canonical = render::read_canonical_mesh(models.canonical_mesh);
  data::FaceFitter fitter(models, data::FaceFitter::default_box_scale, 0, true);

  // The search, checked once: the canonical face with its depth scaled by 0.8, turned, scaled
  // and shifted, gives 0.8 back.
  {
    std::vector<render::Vec3> known = depth_scaled(canonical.vertices, 0.8);
    known = render::rotate_about(known, render::yaw(render::degrees(20)), {});
    for (auto& v : known) v = {7 * v.x + 100, -7 * v.y + 120, -7 * v.z + 5};
    const DepthFit f = best_depth(canonical.vertices, known);
    if (std::abs(f.d - 0.8) > 1e-5 || f.rms > 1e-4) fail("depth_fit: the search gives d = {} (rms {}) for 0.8", f.d, f.rms);
  }

  const double canonical_ratio = depth_over_width(canonical.vertices);
  std::cout << "path,d,spread_ratio,yaw,pitch,rms_d,rms_1\n";
  for (std::string path; std::getline(std::cin, path);) {
    const data::FaceFit fit = fitter.fit(io::to_rgb(io::read_image(path)));
    if (fit.points.empty()) {
      std::cout << path << ",,,,,,\n";
      continue;
    }
    const DepthFit scaled = best_depth(canonical.vertices, fit.points);
    const DepthFit plain = fit_with_depth(canonical.vertices, fit.points, 1);
    const auto [yaw, pitch] = yaw_pitch(plain.similarity.rotation);
    const double spread = depth_over_width(in_canonical_frame(plain.similarity, fit.points)) / canonical_ratio;
    std::cout << fmt::format("{},{:.4f},{:.4f},{:.2f},{:.2f},{:.3f},{:.3f}\n", path, scaled.d, spread, yaw, pitch, scaled.rms, plain.rms);
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "%s\n", e.what());
  return 1;
}
