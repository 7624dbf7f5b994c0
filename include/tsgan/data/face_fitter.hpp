// The 3-D face fit that pose synthesis starts from: face-api's tiny detector finds the face (its
// best box), FaceMesh fits its 468 points in that box enlarged `box_scale` times (made square as
// human does), and a fit whose face score is under 0.5 is refused with the reason. This is the fit
// of tsgan-make-pairs and of PoseSynthesisLoader in tsgan-train --photos, so that the pairs made
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
  models::mesh::Box box;             // the square box FaceMesh ran in
  double face_score = 0;
  std::string skipped;  // why no fit: "no face detected", or the face score under the floor
};

class FaceFitter {
 public:
  static constexpr double default_box_scale = 1.1;
  static constexpr double min_face_score = 0.5;

  explicit FaceFitter(const FaceFitModels& models, double box_scale = default_box_scale)
      : detector_(models.dir), mesh_(models.dir), box_scale_(box_scale) {}

  FaceFit fit(const io::Image& photo) {
    FaceFit out;
    const auto faces = detector_.detect(photo);
    if (faces.empty()) {
      out.skipped = "no face detected";
      return out;
    }
    const auto& f = faces.front();
    out.box = models::mesh::square_box({f.x, f.y, f.x + f.width, f.y + f.height}, box_scale_);
    const auto result = mesh_.run(photo, out.box);
    out.face_score = result.face_score;
    if (result.face_score < min_face_score) {
      out.skipped = fmt::format("the face mesh does not fit (face score {:.2f} < {})", result.face_score, min_face_score);
      return out;
    }
    out.points = mesh_vertices(result.points);
    return out;
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

  // The FaceMesh network, to fit again in other boxes (tsgan-make-pairs --yaw-check).
  models::FaceMesh<>& mesh() { return mesh_; }

 private:
  models::FaceDetector<> detector_;
  models::FaceMesh<> mesh_;
  double box_scale_;
};

}  // namespace tsgan::data
