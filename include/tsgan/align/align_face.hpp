// The face pipeline, photo to aligned crop: the detector's best face, its 68 landmarks on that
// box (face-api's detectSingleFace(...).withFaceLandmarks()), the template's similarity, and the
// bilinear warp (zero border, as dlib's chips). A face the detector misses at the given options
// is looked for once more at retry_options (input 160, score threshold 0.3); one still missed is
// placed by the template's fallback (the mean face in the centred square,
// align/face_template.hpp) or skipped.
// With DlibLandmarks the 68 points are dlib's instead of face-api's. With dlib's own frontal face
// detector too (models::HogFaceDetector), as dlib's pipeline runs: its box nearest the image centre,
// the box the regression trees were trained on. Without it, or where it finds no face: the trees on
// the face-api box mapped to the box dlib's detector would give (models::dlib_box_from_face_api),
// then once more on dlib's box as fitted from those points (box_for).
// Crops are RGB (grey is replicated, alpha dropped), as the recognizer and TSGAN take them.
//
//   tsgan::align::AlignedFace f = tsgan::align::align_face(image, detector, landmarker,
//                                                         tsgan::align::FaceTemplate::dlib());
//   if (f.crop) tsgan::io::write_png("chip.png", *f.crop);
#pragma once

#include <filesystem>
#include <optional>
#include <span>
#include <vector>

#include "tsgan/align/face_template.hpp"
#include "tsgan/align/warp.hpp"
#include "tsgan/core/error.hpp"
#include "tsgan/io/image.hpp"
#include "tsgan/models/face_detector.hpp"
#include "tsgan/models/face_landmarks.hpp"
#include "tsgan/models/hog_face_detector.hpp"
#include "tsgan/models/shape_predictor.hpp"

namespace tsgan::align {

enum class Fallback { center, skip };

// The second look for a missed face: a small input and a low threshold. On LFW's 250x250 images
// the detector at 256 (threshold 0.5) missed 67 of 1,485 faces and at these options none of them,
// and the 64x60 CMU faces are found at 160, not at 416 (docs/examples.md). A chip cut from the
// centred square instead is matched correctly in only 58 % of LFW pairs, so the retry matters.
inline constexpr models::DetectorOptions retry_options{160, 0.3, 0.4};

struct AlignedFace {
  std::optional<models::FaceBox> box;   // the detector's best face; none when it found none
  std::optional<models::HogDetection> hog_box;  // dlib's detection the dlib points came from, if any
  std::optional<Landmarks68> landmarks;  // its 68 points, image pixels; none without a box
  std::optional<io::Image> crop;        // none when no face was found and the fallback is skip
  Similarity crop_to_image;             // how the crop was cut (also for the fallback)
  Landmarks68 fitted{};                 // the points the crop is aligned to: the landmarks, or the placed mean face

  // The method's five points in the crop's pixels (for occlusions on the face's own features).
  FivePoints five_in_crop() const {
    FivePoints p = five_points(fitted);
    const Similarity to_crop = crop_to_image.inverse();
    for (Point& q : p) q = to_crop(q);
    return p;
  }
};

// dlib's 68 points as align_face takes them: its shape predictor (libdlib-data's file; an error
// naming it when absent) and, when exported into the face model folder, its HOG detector (without
// it, face-api's box mapped to dlib's frames each face). The programs' --landmarks auto picks dlib
// exactly when both files are there (available()): 98.78 % against face-api's 96.88 % on LFW
// View 2 (docs/examples.md).
struct DlibLandmarks {
  models::ShapePredictor predictor;
  std::optional<models::HogFaceDetector> detector;

  explicit DlibLandmarks(const std::filesystem::path& models_dir)
      : predictor(predictor_path()) {
    if (const auto hog = models::hog_face_detector::model_path(models_dir)) detector.emplace(*hog);
  }
  // What a program says when the detector is not there.
  static constexpr const char* no_detector_note =
      "dlib's HOG face detector is not in the face model folder (scripts/fetch-face-models.sh exports it when "
      "Debian's libdlib-dev is installed); dlib's landmarks are taken in face-api's box mapped to dlib's";

  static bool available(const std::filesystem::path& models_dir) {
    return models::shape_predictor::model_path() && models::hog_face_detector::model_path(models_dir);
  }

 private:
  static std::filesystem::path predictor_path() {
    const auto path = models::shape_predictor::model_path();
    if (!path)
      fail("dlib's landmarks need dlib's shape_predictor_68_face_landmarks.dat: install Debian's libdlib-data (it "
           "puts it in {}) or set TSGAN_DLIB_SHAPE_PREDICTOR (docs/face-models.md)",
           models::shape_predictor::debian_model_path);
    return *path;
  }
};

// Aligns one already-detected image (boxes: the detector's output for it, best first); the
// landmarks are face-api's, or dlib's when dlib_landmarks is given.
template <class D>
AlignedFace align_detected(const io::Image& image, const std::vector<models::FaceBox>& boxes,
                           const models::FaceLandmarker<D>& landmarker, const FaceTemplate& t, Fallback fallback,
                           const models::ShapePredictor* dlib_landmarks = nullptr) {
  const io::Image rgb = io::to_rgb(image);
  AlignedFace out;
  if (!boxes.empty()) {
    out.box = boxes.front();
    if (dlib_landmarks) {
      const Landmarks68 first = dlib_landmarks->predict(rgb, models::dlib_box_from_face_api(boxes.front()));
      out.landmarks = dlib_landmarks->predict(rgb, dlib_landmarks->box_for(first));
    } else {
      out.landmarks = landmarker.detect(rgb, boxes.front());
    }
    out.fitted = *out.landmarks;
    out.crop_to_image = crop_to_image(t, out.fitted);
  } else {
    const Square sq = fallback_square(rgb.width, rgb.height);
    out.fitted = dlib_mean_face(sq.x, sq.y, sq.side);
    out.crop_to_image = crop_to_image(t, out.fitted);
    if (fallback == Fallback::skip) return out;
  }
  out.crop = warp(rgb, out.crop_to_image, t.size, t.size, Border::zero);
  return out;
}

// With `dlib`, dlib's 68 points (DlibLandmarks); face-api's otherwise.
template <class D>
AlignedFace align_face(const io::Image& image, const models::FaceDetector<D>& detector,
                       const models::FaceLandmarker<D>& landmarker, const FaceTemplate& t,
                       Fallback fallback = Fallback::center, const models::DetectorOptions& options = {},
                       const DlibLandmarks* dlib = nullptr) {
  if (dlib && dlib->detector) {
    const std::vector<models::HogDetection> faces = dlib->detector->detect(image);
    if (const auto best = models::HogFaceDetector::nearest_centre(faces, image.width, image.height)) {
      const io::Image rgb = io::to_rgb(image);
      AlignedFace out;
      out.hog_box = *best;
      out.landmarks = dlib->predictor.predict(rgb, best->rect);
      out.fitted = *out.landmarks;
      out.crop_to_image = crop_to_image(t, out.fitted);
      out.crop = warp(rgb, out.crop_to_image, t.size, t.size, Border::zero);
      return out;
    }
  }
  std::vector<models::FaceBox> boxes = detector.detect(image, options);
  if (boxes.empty()) boxes = detector.detect(image, retry_options);
  return align_detected(image, boxes, landmarker, t, fallback, dlib ? &dlib->predictor : nullptr);
}

// Several images: the detector takes them in batches.
template <class D>
std::vector<AlignedFace> align_faces(std::span<const io::Image> images, const models::FaceDetector<D>& detector,
                                     const models::FaceLandmarker<D>& landmarker, const FaceTemplate& t,
                                     Fallback fallback = Fallback::center, const models::DetectorOptions& options = {}) {
  auto boxes = detector.detect(images, options);
  std::vector<AlignedFace> out;
  out.reserve(images.size());
  for (std::size_t i = 0; i < images.size(); ++i) {
    if (boxes[i].empty()) boxes[i] = detector.detect(images[i], retry_options);
    out.push_back(align_detected(images[i], boxes[i], landmarker, t, fallback));
  }
  return out;
}

}  // namespace tsgan::align
