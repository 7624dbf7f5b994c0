// Does data::FaceFitter's refinement (FaceMesh again in the box around its own points) keep the
// fit of a frontal photo? For every image path read from standard input: face-api's 68 points
// (align::align_face: the tiny detector with its retry, then the 68-point network) as the
// reference, and data::FaceFitter's fit with 0, 1 and 2 refinement passes (the detector retry on,
// as --yaw-check is run), its 468 points taken to the 68 by human's map. The distance is the mean
// point-to-point distance over the 51 inner points (brows, eyes, nose, mouth; the jaw's 17 are
// where each network puts the outline, which differs by design) and over all 68, divided by the
// distance between the outer eye corners of face-api's points (36, 45).
// Writes CSV path,inner_p0,inner_p1,inner_p2,all_p0,all_p1,all_p2 (empty where a fit failed).
//
//   tools/yaw-check/frontal.sh  (builds this and runs it on LFW photos)
#include <fmt/core.h>

#include <array>
#include <cmath>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "tsgan/align/align_face.hpp"
#include "tsgan/data/face_fitter.hpp"
#include "tsgan/io/image.hpp"
#include "tsgan/io/model_path.hpp"
#include "tsgan/models/face_mesh.hpp"

namespace {

using namespace tsgan;

struct Distances {
  double inner = 0, all = 0;  // in outer-eye-corner distances
};

Distances distances(const align::Landmarks68& reference, const std::vector<render::Vec3>& mesh, const models::mesh::LandmarkMap& map) {
  const double eyes = std::hypot(reference[45].x - reference[36].x, reference[45].y - reference[36].y);
  Distances d;
  for (std::size_t i = 0; i < 68; ++i) {
    const render::Vec3& p = mesh[static_cast<std::size_t>(map[i])];
    const double e = std::hypot(p.x - reference[i].x, p.y - reference[i].y) / eyes;
    d.all += e / 68;
    if (i >= 17) d.inner += e / 51;
  }
  return d;
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc != 1) {
    std::fprintf(stderr, "usage: frontal_fit < paths.txt > distances.csv   (one image path a line)\n");
    return 2;
  }
  const auto models_dir = io::face_models_dir();
  if (!models_dir) fail("the face models are missing (scripts/fetch-face-models.sh, scripts/fetch-face-mesh.sh)");
  const data::FaceFitModels fit_models = data::face_fit_models();
  const models::FaceDetector<> detector(*models_dir);
  const models::FaceLandmarker<> landmarker(*models_dir);
  const models::mesh::LandmarkMap map68 = models::mesh::read_landmark_map(fit_models.dir);
  constexpr int max_passes = 2;
  std::vector<data::FaceFitter> fitters;
  for (int passes = 0; passes <= max_passes; ++passes)
    fitters.emplace_back(fit_models, data::FaceFitter::default_box_scale, passes, true);

  std::cout << "path,inner_p0,inner_p1,inner_p2,all_p0,all_p1,all_p2\n";
  for (std::string path; std::getline(std::cin, path);) {
    const io::Image image = io::to_rgb(io::read_image(path));
    const align::AlignedFace reference = align::align_face(image, detector, landmarker, align::FaceTemplate::tsgan());
    std::array<std::optional<Distances>, max_passes + 1> d;
    if (reference.landmarks)
      for (int passes = 0; passes <= max_passes; ++passes) {
        const data::FaceFit fit = fitters[static_cast<std::size_t>(passes)].fit(image);
        if (!fit.points.empty()) d[static_cast<std::size_t>(passes)] = distances(*reference.landmarks, fit.points, map68);
      }
    std::cout << path;
    for (const auto& v : d) std::cout << ',' << (v ? fmt::format("{:.5f}", v->inner) : std::string());
    for (const auto& v : d) std::cout << ',' << (v ? fmt::format("{:.5f}", v->all) : std::string());
    std::cout << '\n';
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "%s\n", e.what());
  return 1;
}
