// tsgan-embed: face descriptors of images with the pretrained face recognizer (dlib's ResNet from
// face-api's TF.js weights; docs/face-models.md).
//
//   tsgan-embed [--models DIR] [--crop none|center | --align [--landmarks auto|faceapi|dlib]]
//               [--threads T] IMAGE...
//
// Prints one line per image: its path, then the 128 values of its descriptor, separated by
// spaces, each as the shortest decimal that reads back as the same float (fmt's "{}"), which is
// also what tools/face-api-crosscheck/embed.mjs prints, so compare.py can compare the two.
// --crop none (the default) takes the whole image as the face crop; --crop center takes the
// fixed LFW crop generalised to any size (a centred square of side round(min(W, H)·126/250)).
// Either way the crop is padded to a centred square, resized to 150x150 and normalised as
// face-api does. --align finds the face instead (face-api's detector, its best face's 68
// landmarks) and cuts dlib's 150x150 chip from them (align/face_template.hpp), the input dlib's
// network was trained on; an image without a detected face is then reported and gets no line.
// --landmarks as tsgan-align's: auto (the default) takes dlib's 68 points (align::DlibLandmarks)
// when dlib's two files are there, else face-api's, and says which on stderr.
// An image that cannot be read is reported on stderr, naming it, and the others
// are still processed; the exit status is then 1 (2 for a usage error or missing models; any
// other failure: 'tsgan-embed: message', 1).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "face_networks.hpp"
#include "tsgan/cli/program.hpp"
#include "tsgan/io/image.hpp"
#include "tsgan/models/face_recognizer.hpp"

namespace {

using tsgan::models::FaceRecognizer;
using Face = tsgan::Tensor<float, tsgan::Shape<3, tsgan::models::face::input_size, tsgan::models::face::input_size>>;

// Images are read and embedded this many at a time, so memory stays bounded for long lists.
constexpr std::size_t chunk = 64;

int embed(const std::string& models, const std::string& crop, bool align, std::string landmarks,
          const std::vector<std::string>& images);

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Face descriptors (128 values per image) from tsgan's face recognizer"};
  std::string models;
  std::string crop = "none";
  std::vector<std::string> images;
  app.add_option("--models", models,
                 "folder of face_recognition_model-weights_manifest.json and its .bin "
                 "(default: $TSGAN_MODELS_DIR, else ~/.cache/tsgan/models)");
  auto* crop_option = app.add_option("--crop", crop, "face crop: none (the whole image) or center (the fixed LFW crop)")
                          ->check(CLI::IsMember({"none", "center"}));
  bool align = false;
  auto* align_flag =
      app.add_flag("--align", align, "detect the face and cut dlib's 150x150 chip from its landmarks")->excludes(crop_option);
  std::string landmarks = "auto";
  app.add_option("--landmarks", landmarks,
                 "with --align, the 68 points: faceapi, dlib (dlib's shape predictor in its HOG detector's box) or "
                 "auto (dlib when both dlib files are there, else faceapi)")
      ->check(CLI::IsMember({"auto", "faceapi", "dlib"}))
      ->needs(align_flag)
      ->capture_default_str();
  app.add_option("IMAGE", images, "PNG, JPEG or binary PGM/PPM files")->required();
  int threads = 0;
  tsgan::cli::add_threads_option(app, threads);
  return tsgan::cli::run("tsgan-embed", app, argc, argv, [&] {
    tsgan::cli::apply_threads(threads);
    return embed(models, crop, align, landmarks, images);
  });
}

namespace {

int embed(const std::string& models, const std::string& crop, bool align, std::string landmarks,
          const std::vector<std::string>& images) {
  std::filesystem::path dir;
  if (!models.empty()) {
    dir = models;
  } else if (auto found = tsgan::io::face_models_dir()) {
    dir = *found;
  } else {
    fmt::print(stderr,
               "tsgan-embed: the face recognizer is not in {} (run scripts/fetch-face-models.sh, or pass "
               "--models DIR or set TSGAN_MODELS_DIR)\n",
               tsgan::io::face_models_search_dir().string());
    return 2;
  }

  std::optional<FaceRecognizer<float>> net;
  std::optional<tsgan::examples::FaceAligner> aligner;
  std::optional<tsgan::align::DlibLandmarks> dlib;
  try {
    net.emplace(dir);
    if (align) {
      aligner.emplace(dir);
      if (landmarks == "auto") {
        landmarks = tsgan::align::DlibLandmarks::available(dir) ? "dlib" : "faceapi";
        fmt::print(stderr, "tsgan-embed: landmarks: {}\n", landmarks);
      }
      if (landmarks == "dlib") {
        dlib.emplace(dir);
        if (!dlib->detector) fmt::print(stderr, "tsgan-embed: note: {}\n", tsgan::align::DlibLandmarks::no_detector_note);
      }
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "tsgan-embed: {}\n", e.what());
    return 2;
  }

  bool failed = false;
  for (std::size_t begin = 0; begin < images.size(); begin += chunk) {
    const std::size_t end = std::min(images.size(), begin + chunk);
    std::vector<Face> faces;
    std::vector<std::size_t> which;
    for (std::size_t i = begin; i < end; ++i) {
      try {
        const tsgan::io::Image im = tsgan::io::read_image(images[i]);
        if (align) {
          const auto face = aligner->align(im, tsgan::align::FaceTemplate::dlib(), tsgan::align::Fallback::skip, {},
                                           dlib ? &*dlib : nullptr);
          if (!face.crop) {
            fmt::print(stderr, "tsgan-embed: {}: no face found\n", images[i]);
            failed = true;
            continue;
          }
          faces.push_back(tsgan::models::preprocess_face(*face.crop));
        } else {
          std::optional<tsgan::models::face::Crop> box;
          if (crop == "center") box = tsgan::models::face::center_crop(im.width, im.height);
          faces.push_back(tsgan::models::preprocess_face(im, box));
        }
        which.push_back(i);
      } catch (const std::exception& e) {
        // read_image's errors start with the path; preprocess_face's do not.
        const std::string what = e.what();
        if (what.starts_with(images[i])) fmt::print(stderr, "tsgan-embed: {}\n", what);
        else fmt::print(stderr, "tsgan-embed: {}: {}\n", images[i], what);
        failed = true;
      }
    }
    const auto descriptors = net->embed_all<16>(faces);
    for (std::size_t k = 0; k < descriptors.size(); ++k) {
      std::string line = images[which[k]];
      for (float v : descriptors[k]) fmt::format_to(std::back_inserter(line), " {}", v);
      line += '\n';
      std::fputs(line.c_str(), stdout);
    }
    std::fflush(stdout);
  }
  return failed ? 1 : 0;
}

}  // namespace
