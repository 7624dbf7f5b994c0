// Faces per second of the face pipeline on the CPU (models/face_detector.hpp,
// models/face_landmarks.hpp, align/): detection (face-api's TinyFaceDetector at input 416,
// preprocessing, decoding and NMS included), 68 landmarks on the detected box (crop,
// preprocessing, network, un-mapping), the warp to dlib's 150x150 chip alone, and the whole
// photo-to-chip pipeline as tsgan-evaluate runs it (align::align_face, detector input 256), on one
// 250x250 LFW image, at 1 and 2 threads. The image is $TSGAN_BENCH_FACE, else
// Abel_Pacheco_0001.jpg of LFW View 2 under $TSGAN_SHARED_DATA (default ../shared/data). Needs the
// models (scripts/fetch-face-models.sh). The same through face-api in node:
// tools/face-api-crosscheck/bench-pipeline.mjs. Results: docs/performance.md.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "tsgan/align/align_face.hpp"
#include "tsgan/io/image.hpp"
#include "tsgan/models/face_landmarks.hpp"

namespace {

[[noreturn]] void give_up(const char* what) {
  std::fprintf(stderr, "tsgan-bench-face-pipeline: %s\n", what);
  std::exit(1);
}

std::filesystem::path models() {
  const auto dir = tsgan::io::face_models_dir();
  if (!dir) give_up("the face models are absent; run scripts/fetch-face-models.sh");
  return *dir;
}

const tsgan::io::Image& image() {
  static const tsgan::io::Image im = [] {
    std::filesystem::path path;
    if (const char* face = std::getenv("TSGAN_BENCH_FACE"); face && *face) {
      path = face;
    } else {
      const char* data = std::getenv("TSGAN_SHARED_DATA");
      path = std::filesystem::path(data && *data ? data : "../shared/data") / "faces" / "lfw-deepfunneled-view2" /
             "images" / "Abel_Pacheco" / "Abel_Pacheco_0001.jpg";
    }
    if (!std::filesystem::is_regular_file(path))
      give_up("no image: set TSGAN_BENCH_FACE to a face image or TSGAN_SHARED_DATA to the shared data folder");
    return tsgan::io::read_image(path);
  }();
  return im;
}

const tsgan::models::FaceDetector<>& detector() {
  static const auto d = std::make_unique<tsgan::models::FaceDetector<>>(models());
  return *d;
}

const tsgan::models::FaceLandmarker<>& landmarker() {
  static const auto l = std::make_unique<tsgan::models::FaceLandmarker<>>(models());
  return *l;
}

void BM_detect(benchmark::State& state) {
  tsgan::set_num_threads(static_cast<int>(state.range(0)));
  const auto& im = image();
  for (auto _ : state) {
    auto faces = detector().detect(im);
    benchmark::DoNotOptimize(faces.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["threads"] = static_cast<double>(state.range(0));
}

void BM_landmarks(benchmark::State& state) {
  tsgan::set_num_threads(static_cast<int>(state.range(0)));
  const auto& im = image();
  const auto faces = detector().detect(im);
  if (faces.empty()) give_up("the detector finds no face in the benchmark image");
  for (auto _ : state) {
    auto points = landmarker().detect(im, faces.front());
    benchmark::DoNotOptimize(points.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["threads"] = static_cast<double>(state.range(0));
}

// The warp is serial (one 150x150 chip is too small to split), so it runs at one thread only.
void BM_warp(benchmark::State& state) {
  namespace align = tsgan::align;
  const tsgan::io::Image rgb = tsgan::io::to_rgb(image());
  const auto faces = detector().detect(rgb);
  if (faces.empty()) give_up("the detector finds no face in the benchmark image");
  const align::FaceTemplate t = align::FaceTemplate::dlib();
  const align::Similarity to_image = align::crop_to_image(t, landmarker().detect(rgb, faces.front()));
  for (auto _ : state) {
    auto chip = align::warp(rgb, to_image, t.size, t.size, align::Border::zero);
    benchmark::DoNotOptimize(chip.pixels.data());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_align_face(benchmark::State& state) {
  namespace align = tsgan::align;
  tsgan::set_num_threads(static_cast<int>(state.range(0)));
  const auto& im = image();
  const align::FaceTemplate t = align::FaceTemplate::dlib();
  for (auto _ : state) {
    auto face = align::align_face(im, detector(), landmarker(), t, align::Fallback::center, {.input_size = 256});
    benchmark::DoNotOptimize(face.crop->pixels.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["threads"] = static_cast<double>(state.range(0));
}

BENCHMARK(BM_detect)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_landmarks)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_warp)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_align_face)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
