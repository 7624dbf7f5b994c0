// The face networks that several example programs run, behind classes that are not templates, so
// that their code (the face detector alone at each of its eight input sizes) is compiled once, in
// face_networks.cpp, instead of once in each program (docs/performance.md, CI's time):
//   FaceAligner: face-api's detector and 68-point landmarker with align::align_face (tsgan-align,
//                tsgan-embed, tsgan-evaluate);
//   PhotoFitter: data::FaceFitter, the detector and FaceMesh fitted to a photo (tsgan-train
//                --photos, tsgan-make-pairs).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tsgan/align/align_face.hpp"
#include "tsgan/data/face_fitter.hpp"

namespace tsgan::examples {

class FaceAligner {
 public:
  // The two networks from the face-api models in `models`; IoError names a missing file.
  explicit FaceAligner(const std::filesystem::path& models);
  FaceAligner(FaceAligner&&) noexcept;
  FaceAligner& operator=(FaceAligner&&) noexcept;
  ~FaceAligner();

  // align::align_face with these networks; `dlib` (may be null) as there.
  align::AlignedFace align(const io::Image& image, const align::FaceTemplate& t, align::Fallback fallback,
                           const models::DetectorOptions& options, const align::DlibLandmarks* dlib) const;

 private:
  struct Networks;
  std::unique_ptr<Networks> networks_;
};

class PhotoFitter {
 public:
  // data::FaceFitter's constructor.
  explicit PhotoFitter(const data::FaceFitModels& models, double box_scale = data::FaceFitter::default_box_scale,
                       int refine_passes = data::FaceFitter::default_refine_passes, bool detector_retry = false);
  PhotoFitter(PhotoFitter&&) noexcept;
  PhotoFitter& operator=(PhotoFitter&&) noexcept;
  ~PhotoFitter();

  // data::FaceFitter::fit.
  data::FaceFit fit(const io::Image& photo);
  // What data::FaceFitter::as_fitter(reasons) gives for `photo`: FaceMesh's points, or nothing
  // with the reason added to `reasons` (when given).
  std::optional<std::vector<render::Vec3>> points(const io::Image& photo, std::vector<std::string>* reasons = nullptr);

 private:
  std::unique_ptr<data::FaceFitter> fitter_;
};

}  // namespace tsgan::examples
