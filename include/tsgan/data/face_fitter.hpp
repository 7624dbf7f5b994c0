// The 3-D face fit that pose synthesis starts from: face-api's tiny detector finds the face (its
// best box; with `detector_retry`, where it finds none, once more at align_face's second look,
// align::retry_options), FaceMesh fits its 468 points in that box enlarged `box_scale` times (made
// square as human does), then, `refine_passes` times, again in the box around its own last points
// (models::mesh::landmarks_box, 1.5 times: the box MediaPipe's face-mesh graph and human track a
// face with, centred on the face even where the detector's box of a turned head is not); a pass
// whose face score is under 0.5 refuses the fit with the reason. Retry and refinement are off by
// default, so that the default pairs stay those of the released model (docs/pose-synthesis.md has
// what each changes). This is the fit of tsgan-make-pairs (and of its --yaw-check, on the photo
// and on each render) and of PoseSynthesisLoader in tsgan-train --photos, so that the pairs made
// on the fly are those of a pre-rendered folder.
//
//   auto dirs = data::face_fit_models();               // or fail naming the missing file
//   data::FaceFitter fitter(*dirs);
//   data::FaceFit f = fitter.fit(photo);               // f.points: 468, or empty and f.skipped
//   data::PoseSynthesisLoader<C> loader(index, fitter.as_fitter(), synthesizer);
//
// A FaceFitter owns its networks; fitting is not const (FaceMesh's parameters join each run's
// graph), so one fitter serves one thread at a time (tsgan-make-pairs makes one per worker).
#pragma once

#include <fmt/core.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tsgan/align/align_face.hpp"
#include "tsgan/data/pose_synthesis.hpp"
#include "tsgan/io/image.hpp"
#include "tsgan/io/model_path.hpp"
#include "tsgan/models/face_detector.hpp"
#include "tsgan/models/face_mesh.hpp"
#include "tsgan/render/canonical_mesh.hpp"

namespace tsgan::data {

// The files a fit and a pose synthesizer need, all in one models folder.
struct FaceFitModels {
  std::filesystem::path dir;             // the detector's manifest, facemesh.json and .bin
  std::filesystem::path canonical_mesh;  // face_mesh_canonical.txt: the triangles to render
};

// The models folder (`dir`, else io::face_models_search_dir()) when it holds every file of a fit;
// otherwise fails naming the first missing file and the scripts that fetch them.
inline FaceFitModels face_fit_models(const std::filesystem::path& dir = {}) {
  const std::filesystem::path d = dir.empty() ? io::face_models_search_dir() : dir;
  const std::filesystem::path files[] = {io::face_model_manifest(d, models::face_detection::model_name),
                                         d / (std::string(models::face_detection::model_name) + ".bin"),
                                         d / models::mesh::model_file, d / "facemesh.bin", d / render::canonical_mesh_file};
  for (const auto& f : files) {
    std::error_code ec;
    if (d.empty() || !std::filesystem::is_regular_file(f, ec))
      fail<IoError>("{} is missing: the face detector and FaceMesh are needed to fit faces (run scripts/fetch-face-models.sh and "
                    "scripts/fetch-face-mesh.sh, or set TSGAN_MODELS_DIR)",
                    f.string());
  }
  return {d, d / render::canonical_mesh_file};
}

struct FaceFit {
  std::vector<render::Vec3> points;  // 468, in the photo's pixels; empty when skipped
  models::mesh::Box box;             // the square box of FaceMesh's last pass
  double face_score = 0;
  std::string skipped;  // why no fit: "no face detected", or the face score under the floor
};

class FaceFitter {
 public:
  static constexpr double default_box_scale = 1.1;
  static constexpr int default_refine_passes = 0;
  static constexpr double refine_box_scale = 1.5;  // MediaPipe's and human's, not tuned here
  static constexpr double min_face_score = 0.5;

  explicit FaceFitter(const FaceFitModels& models, double box_scale = default_box_scale, int refine_passes = default_refine_passes,
                      bool detector_retry = false)
      : detector_(models.dir), mesh_(models.dir), box_scale_(box_scale), refine_passes_(refine_passes), detector_retry_(detector_retry) {
    if (refine_passes < 0) fail("tsgan: FaceFitter: {} refinement passes (0 or more expected)", refine_passes);
  }

  FaceFit fit(const io::Image& photo) {
    FaceFit out;
    auto faces = detector_.detect(photo);
    if (faces.empty() && detector_retry_) faces = detector_.detect(photo, align::retry_options);
    if (faces.empty()) {
      out.skipped = "no face detected";
      return out;
    }
    const auto& f = faces.front();
    out.box = models::mesh::square_box({f.x, f.y, f.x + f.width, f.y + f.height}, box_scale_);
    for (int pass = 0;; ++pass) {
      const auto result = mesh_.run(photo, out.box);
      out.face_score = result.face_score;
      if (result.face_score < min_face_score) {
        out.skipped = fmt::format("the face mesh does not fit (face score {:.2f} < {}{})", result.face_score, min_face_score,
                                  pass == 0 ? std::string() : fmt::format(", refinement pass {}", pass));
        return out;
      }
      if (pass == refine_passes_) {
        out.points = mesh_vertices(result.points);
        return out;
      }
      out.box = models::mesh::landmarks_box(result.points, refine_box_scale);
    }
  }

  // PoseSynthesisLoader's fitter, calling this one (which must outlive it); each refusal's reason
  // also goes to `reasons` when given.
  auto as_fitter(std::vector<std::string>* reasons = nullptr) {
    return [this, reasons](const io::Image& photo) -> std::optional<std::vector<render::Vec3>> {
      FaceFit f = fit(photo);
      if (f.points.empty()) {
        if (reasons) reasons->push_back(f.skipped);
        return std::nullopt;
      }
      return std::move(f.points);
    };
  }

 private:
  models::FaceDetector<> detector_;
  models::FaceMesh<> mesh_;
  double box_scale_;
  int refine_passes_;
  bool detector_retry_;
};

}  // namespace tsgan::data
