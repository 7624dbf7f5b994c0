#include "face_networks.hpp"

namespace tsgan::examples {

struct FaceAligner::Networks {
  explicit Networks(const std::filesystem::path& models) : detector(models), landmarker(models) {}
  models::FaceDetector<> detector;
  models::FaceLandmarker<> landmarker;
};

FaceAligner::FaceAligner(const std::filesystem::path& models) : networks_(std::make_unique<Networks>(models)) {}
FaceAligner::FaceAligner(FaceAligner&&) noexcept = default;
FaceAligner& FaceAligner::operator=(FaceAligner&&) noexcept = default;
FaceAligner::~FaceAligner() = default;

align::AlignedFace FaceAligner::align(const io::Image& image, const align::FaceTemplate& t, align::Fallback fallback,
                                      const models::DetectorOptions& options, const align::DlibLandmarks* dlib) const {
  return align::align_face(image, networks_->detector, networks_->landmarker, t, fallback, options, dlib);
}

PhotoFitter::PhotoFitter(const data::FaceFitModels& models, double box_scale, int refine_passes, bool detector_retry)
    : fitter_(std::make_unique<data::FaceFitter>(models, box_scale, refine_passes, detector_retry)) {}
PhotoFitter::PhotoFitter(PhotoFitter&&) noexcept = default;
PhotoFitter& PhotoFitter::operator=(PhotoFitter&&) noexcept = default;
PhotoFitter::~PhotoFitter() = default;

data::FaceFit PhotoFitter::fit(const io::Image& photo) { return fitter_->fit(photo); }

std::optional<std::vector<render::Vec3>> PhotoFitter::points(const io::Image& photo, std::vector<std::string>* reasons) {
  return fitter_->as_fitter(reasons)(photo);
}

}  // namespace tsgan::examples
