// The yaw between two photos of one face, by two estimators, for every pair "A,B" (image paths)
// read from standard input: is the yaw measure of tsgan-make-pairs --yaw-check right on real
// turned heads, and does an estimator that shares nothing with FaceMesh agree with it?
//
// Both images go through one pipeline: face-api's tiny detector (align::align_face's options and
// retry), then
//  - facemesh: FaceMesh in the box made square and enlarged 1.1 times (as tsgan-make-pairs does),
//    and data::relative_yaw_degrees(fit of A, fit of B): the measure of --yaw-check since
//    2026-12-07 with --detector-retry, but without the fit's face score floor;
//  - landmarks: face-api's 68-point network in the box, and the rotation of a scaled orthographic
//    camera fitted by least squares to the 51 inner points (eyebrows, eyes, nose, mouth) of the
//    canonical face mesh's 68 (human's map); the jaw's 17 points are left out because a 2-D
//    landmark network puts them on the visible outline, which is a different 3-D point at each
//    pose. The yaw of R_B · R_Aᵀ, in relative_yaw_degrees' sign.
// Writes CSV a,b,facemesh,landmarks (degrees; empty where the detector found no face in A or B).
// Needs tsgan only, and the face models (scripts/fetch-face-models.sh, scripts/fetch-face-mesh.sh).
//
//   tools/yaw-check/run.sh  (builds this and runs it on the CMU faces and on renders)
#include <Eigen/Dense>
#include <fmt/core.h>

#include <array>
#include <cmath>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tsgan/align/align_face.hpp"
#include "tsgan/data/pose_synthesis.hpp"
#include "tsgan/io/image.hpp"
#include "tsgan/io/model_path.hpp"
#include "tsgan/models/face_mesh.hpp"
#include "tsgan/render/canonical_mesh.hpp"

namespace {

using namespace tsgan;
using Rotation = Eigen::Matrix3d;

constexpr double degrees_per_radian = 180.0 / 3.14159265358979323846;

// The rotation of the scaled orthographic camera x = s·R[0:2]·X + t that fits `model` (3-D,
// image axes) to `image` (2-D) best in least squares: the affine 2x4 camera, its rows made
// orthonormal (Gram-Schmidt), the third row their cross product.
Rotation orthographic_rotation(const std::vector<Eigen::Vector3d>& model, const std::vector<align::Point>& image) {
  const Eigen::Index n = static_cast<Eigen::Index>(model.size());
  Eigen::MatrixXd m(n, 4);
  Eigen::VectorXd u(n), v(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    m.row(i) << model[static_cast<std::size_t>(i)].transpose(), 1.0;
    u(i) = image[static_cast<std::size_t>(i)].x;
    v(i) = image[static_cast<std::size_t>(i)].y;
  }
  const auto qr = m.colPivHouseholderQr();
  const Eigen::Vector4d a = qr.solve(u), b = qr.solve(v);
  const Eigen::Vector3d r1 = a.head<3>().normalized();
  const Eigen::Vector3d r2 = (b.head<3>() - b.head<3>().dot(r1) * r1).normalized();
  Rotation r;
  r.row(0) = r1;
  r.row(1) = r2;
  r.row(2) = r1.cross(r2);
  return r;
}

double yaw_of(const Rotation& r) { return std::atan2(r(0, 2), r(2, 2)) * degrees_per_radian; }

struct Fit {
  std::vector<render::Vec3> mesh;  // FaceMesh's 468 points
  Rotation landmarks_rotation;     // from face-api's 68 points
};

}  // namespace

int main(int argc, char** argv) try {
  if (argc != 1) {
    std::fprintf(stderr, "usage: yaw_pairs < pairs.csv > yaws.csv   (lines: path A,path B)\n");
    return 2;
  }
  const auto models_dir = io::face_models_dir();
  const auto mesh_dir = models::face_mesh_dir();
  const auto canonical_file = render::find_canonical_mesh();
  if (!models_dir || !mesh_dir || !canonical_file) fail("the face models are missing (scripts/fetch-face-models.sh, scripts/fetch-face-mesh.sh)");
  const models::FaceDetector<> detector(*models_dir);
  const models::FaceLandmarker<> landmarker(*models_dir);
  models::FaceMesh<> face_mesh(*mesh_dir);
  const render::CanonicalMesh canonical = render::read_canonical_mesh(*canonical_file);
  const models::mesh::LandmarkMap map68 = models::mesh::read_landmark_map(*mesh_dir);
  std::vector<Eigen::Vector3d> inner_model;  // the canonical face's inner 51 points, image axes (cm)
  for (std::size_t i = 17; i < 68; ++i) {
    const render::Vec3& p = canonical.vertices[static_cast<std::size_t>(map68[i])];
    inner_model.emplace_back(p.x, -p.y, -p.z);
  }

  // The fit's convention, checked once: the canonical face turned by render::yaw(θ) and seen
  // orthographically gives θ back against the unturned face.
  {
    const auto project = [&](double theta) {
      const render::Rotation q = render::yaw(render::degrees(theta));
      std::vector<align::Point> out;
      for (const auto& p : inner_model) {
        const render::Vec3 r = q({p.x(), p.y(), p.z()});
        out.push_back({3 * r.x + 50, 3 * r.y + 60});
      }
      return out;
    };
    const double back = yaw_of(orthographic_rotation(inner_model, project(35)) * orthographic_rotation(inner_model, project(0)).transpose());
    if (std::abs(back - 35) > 1e-6) fail("yaw_pairs: the orthographic fit gives {}° for a 35° turn", back);
  }

  std::map<std::string, std::optional<Fit>> fits;
  const auto fit = [&](const std::string& path) -> const std::optional<Fit>& {
    if (auto it = fits.find(path); it != fits.end()) return it->second;
    const io::Image image = io::to_rgb(io::read_image(path));
    std::optional<Fit> out;
    const align::AlignedFace found = align::align_face(image, detector, landmarker, align::FaceTemplate::tsgan());
    if (found.box && found.landmarks) {
      const models::FaceBox& f = *found.box;
      const auto box = models::mesh::square_box({f.x, f.y, f.x + f.width, f.y + f.height}, 1.1);
      std::vector<align::Point> inner(found.landmarks->begin() + 17, found.landmarks->end());
      out = Fit{data::mesh_vertices(face_mesh.run(image, box).points), orthographic_rotation(inner_model, inner)};
    } else {
      std::fprintf(stderr, "yaw_pairs: no face found in %s\n", path.c_str());
    }
    return fits.emplace(path, std::move(out)).first->second;
  };

  std::cout << "a,b,facemesh,landmarks\n";
  for (std::string line; std::getline(std::cin, line);) {
    const auto comma = line.find(',');
    if (comma == std::string::npos) fail("yaw_pairs: '{}' is not 'path A,path B'", line);
    const std::string a = line.substr(0, comma), b = line.substr(comma + 1);
    const std::optional<Fit>& fa = fit(a);
    const std::optional<Fit>& fb = fit(b);
    if (fa && fb)
      std::cout << fmt::format("{},{},{:.3f},{:.3f}\n", a, b, data::relative_yaw_degrees(fa->mesh, fb->mesh),
                               yaw_of(fb->landmarks_rotation * fa->landmarks_rotation.transpose()));
    else
      std::cout << a << ',' << b << ",,\n";
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "%s\n", e.what());
  return 1;
}
