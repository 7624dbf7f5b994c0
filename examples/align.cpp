// tsgan-align: faces in photos, cut out and aligned to a template.
//
//   tsgan-align --out DIR [--template tsgan|dlib] [--size N] [--fallback center|skip]
//               [--landmarks auto|faceapi|dlib] [--overwrite] [--models DIR] [--threads T]
//               [--input-size S] [--min-score P] IMAGE_OR_FOLDER...
//
// For each input image: face-api's tiny face detector, its best face's 68 landmarks, the crop
// of that face by the template (align/face_template.hpp; tsgan: the method's 128 crop, dlib: the
// 150 chip of dlib's recognizer; --size changes the side), written as DIR/NAME.png. A folder is
// searched recursively for PNG, JPEG and PGM/PPM files and its images keep their path relative to
// it (DIR/sub/NAME.png). Output names never collide (a second a.png becomes a_2.png) and never
// name an input (io/output_paths.hpp); outputs that exist already, landmarks.jsonl included, are
// an error before anything is written unless --overwrite is given. DIR/landmarks.jsonl gets one line per input image, in the order given
// (data/landmarks_file.hpp):
//   {"file": "<path as given>", "box": [x, y, w, h] or null, "score": s or null,
//    "landmarks": [[x, y], ... 68 pairs] or null, "aligned": "<output path>" or null}
// coordinates in the input image's pixels. With --landmarks dlib the 68 points are dlib's
// (align::DlibLandmarks: its shape predictor in the box of its HOG detector nearest the image
// centre, when the detector finds a face; then "box" is that box and "score" its detection score,
// which is not a probability; else in face-api's box); auto, the default, is dlib when dlib's two
// files are there, else faceapi, and says which on stderr. A face not found is named on stderr and has null box,
// score and landmarks; with --fallback center it is still cut (the mean face in the centred
// square) and "aligned" names that crop, with skip (the default) it is null. An input that cannot
// be read (missing, empty, not an image, a folder without images) is named on stderr with the
// reason, has a line of nulls when it was a file, and the others are still processed; the exit
// status is then 1 (2 for a usage error or missing models). A progress line with the rate and the
// time left goes to stderr. --threads workers (default: the idle cores, cli/program.hpp) each run
// their own networks.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "face_networks.hpp"
#include "tsgan/cli/program.hpp"
#include "tsgan/core/parallel.hpp"
#include "tsgan/data/landmarks_file.hpp"
#include "tsgan/io/image.hpp"
#include "tsgan/io/model_path.hpp"
#include "tsgan/io/output_paths.hpp"

namespace fs = std::filesystem;
namespace align = tsgan::align;

namespace {

bool is_image_name(const fs::path& p) {
  return tsgan::io::has_extension(p, {".png", ".jpg", ".jpeg", ".pgm", ".ppm", ".pnm"});
}

std::string duration(double seconds) {
  const auto s = static_cast<long>(std::max(0.0, seconds) + 0.5);
  return s >= 3600 ? fmt::format("{}h{:02d}m", s / 3600, (s / 60) % 60) : fmt::format("{}m{:02d}s", s / 60, s % 60);
}

struct Outcome {
  std::string line;     // landmarks.jsonl
  std::string message;  // for stderr, empty when the face was found
  bool bad_input = false;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Detect, landmark and align the faces of images (one aligned PNG per image, landmarks.jsonl)"};
  std::string out_dir, kind = "tsgan", fallback = "skip", models, landmarks = "auto";
  int size = 0, threads = 0;
  bool overwrite = false;
  tsgan::models::DetectorOptions detector_options;
  std::vector<std::string> args;
  app.add_option("--out", out_dir, "folder for the aligned PNGs and landmarks.jsonl")->required();
  app.add_option("--template", kind, "tsgan (the method's 128 crop) or dlib (dlib's 150 chip)")
      ->check(CLI::IsMember({"tsgan", "dlib"}))
      ->capture_default_str();
  app.add_option("--size", size, "side of the aligned crop (default: 128 for tsgan, 150 for dlib)")
      ->check(tsgan::cli::integer(2, 4096));
  app.add_option("--fallback", fallback, "a face the detector misses: center (the centred square) or skip")
      ->check(CLI::IsMember({"center", "skip"}))
      ->capture_default_str();
  app.add_option("--landmarks", landmarks,
                 "the 68 points: faceapi (face-api's FaceLandmark68Net), dlib (dlib's shape predictor in its HOG "
                 "detector's box; docs/face-models.md) or auto (dlib when both dlib files are there, else faceapi)")
      ->check(CLI::IsMember({"auto", "faceapi", "dlib"}))
      ->capture_default_str();
  app.add_flag("--overwrite", overwrite, "replace outputs that exist already");
  app.add_option("--models", models, "folder of the face-api models (default: $TSGAN_MODELS_DIR, else ~/.cache/tsgan/models)");
  tsgan::cli::add_threads_option(app, threads);
  app.add_option("--input-size", detector_options.input_size, "detector input size (multiple of 32, 128 to 608)")
      ->capture_default_str();
  app.add_option("--min-score", detector_options.score_threshold, "detector score threshold")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("IMAGE_OR_FOLDER", args, "PNG, JPEG or binary PGM/PPM files, or folders of them")->required();
  return tsgan::cli::run("tsgan-align", app, argc, argv, [&]() -> int {
    const fs::path dir = models.empty() ? tsgan::io::face_models_search_dir() : fs::path(models);
    for (const char* name : {"tiny_face_detector_model", "face_landmark_68_model"})
      if (!fs::is_regular_file(dir / fmt::format("{}-weights_manifest.json", name))) {
        fmt::print(stderr,
                   "tsgan-align: {} is not in {} (run scripts/fetch-face-models.sh, or pass --models DIR or set "
                   "TSGAN_MODELS_DIR)\n",
                   name, dir.string());
        return 2;
      }
    const align::FaceTemplate t =
        kind == "tsgan" ? align::FaceTemplate::tsgan(size ? size : 128) : align::FaceTemplate::dlib(size ? size : 150);
    const align::Fallback policy = fallback == "center" ? align::Fallback::center : align::Fallback::skip;
    if (landmarks == "auto") {
      landmarks = align::DlibLandmarks::available(dir) ? "dlib" : "faceapi";
      fmt::print(stderr, "tsgan-align: landmarks: {}\n", landmarks);
    }
    std::optional<align::DlibLandmarks> dlib;  // shared: its predictor and detector are read-only
    if (landmarks == "dlib") {
      dlib.emplace(dir);
      if (!dlib->detector) fmt::print(stderr, "tsgan-align: note: {}\n", align::DlibLandmarks::no_detector_note);
    }
    const fs::path out(out_dir);

    bool failed = false;
    std::vector<fs::path> given;
    for (const std::string& a : args) {
      std::error_code ec;
      if (fs::is_directory(a, ec)) {
        bool any = false;
        for (auto it = fs::recursive_directory_iterator(a, fs::directory_options::skip_permission_denied, ec);
             !any && !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
          any = it->is_regular_file(ec) && is_image_name(it->path());
        if (!any) {
          fmt::print(stderr, "tsgan-align: {}: a folder without PNG, JPEG or PGM/PPM images\n", a);
          failed = true;
          continue;
        }
      }
      given.emplace_back(a);
    }
    tsgan::io::OutputNaming naming;
    naming.overwrite = overwrite;
    naming.accept = is_image_name;
    const auto plan = tsgan::io::plan_outputs(given, out, naming);
    const fs::path jsonl_path = out / "landmarks.jsonl";
    if (!overwrite && fs::exists(jsonl_path))
      tsgan::fail<tsgan::IoError>("{}: exists already (pass --overwrite to replace it)", jsonl_path.string());
    fs::create_directories(out);
    std::ofstream jsonl(jsonl_path, std::ios::trunc);
    if (!jsonl) tsgan::fail<tsgan::IoError>("{}: cannot write", jsonl_path.string());

    // Workers take images in order and each runs its own networks (they are not thread-safe); the
    // library's own parallelism is then off, so workers do not fight over the cores.
    const int wanted = threads > 0 ? threads : tsgan::cli::idle_threads();
    const int workers = std::max(1, std::min<int>(wanted, static_cast<int>(plan.size())));
    tsgan::set_num_threads(workers > 1 ? 1 : wanted);
    std::vector<std::optional<Outcome>> outcomes(plan.size());
    std::mutex mutex;
    std::condition_variable ready;
    std::atomic<std::size_t> next{0};
    std::exception_ptr model_error;
    auto work = [&] {
      try {
        const tsgan::examples::FaceAligner aligner(dir);
        for (std::size_t i; (i = next++) < plan.size();) {
          const fs::path& input = plan[i].input;
          const fs::path& output = plan[i].outputs.front();
          Outcome o;
          tsgan::data::LandmarksEntry e{input.string(), {}, {}, {}, {}};
          try {
            std::error_code ec;
            if (fs::is_regular_file(input, ec) && fs::file_size(input, ec) == 0)
              tsgan::fail<tsgan::IoError>("{}: empty file (0 bytes)", input.string());
            const tsgan::io::Image image = tsgan::io::read_image(input);
            const align::AlignedFace face = aligner.align(image, t, policy, detector_options, dlib ? &*dlib : nullptr);
            if (face.hog_box) {
              const tsgan::models::DlibRect& r = face.hog_box->rect;
              e.box = std::array<double, 4>{double(r.left), double(r.top), double(r.right - r.left + 1),
                                            double(r.bottom - r.top + 1)};
              e.score = face.hog_box->score;
              e.landmarks = face.landmarks;
            } else if (face.box) {
              e.box = std::array<double, 4>{face.box->x, face.box->y, face.box->width, face.box->height};
              e.score = face.box->score;
              e.landmarks = face.landmarks;
            } else {
              o.message = fmt::format("{}: no face found{}", input.string(),
                                      face.crop ? "; cut from the centred square (--fallback center)" : "");
            }
            if (face.crop) {
              fs::create_directories(output.parent_path());
              tsgan::io::write_png(output, *face.crop);
              e.aligned = output.string();
            }
          } catch (const std::exception& err) {
            const std::string what = err.what();
            o.message = what.find(input.string()) != std::string::npos ? what : fmt::format("{}: {}", input.string(), what);
            o.bad_input = true;
          }
          o.line = tsgan::data::write_landmarks_line(e);
          std::lock_guard lock(mutex);
          outcomes[i] = std::move(o);
          ready.notify_one();
        }
      } catch (...) {  // the networks could not be loaded
        std::lock_guard lock(mutex);
        if (!model_error) model_error = std::current_exception();
        next = plan.size();
        ready.notify_one();
      }
    };
    std::vector<std::thread> pool;
    for (int w = 0; w < workers; ++w) pool.emplace_back(work);

    // This thread writes the lines in input order as they complete, and the progress.
    const auto start = std::chrono::steady_clock::now();
    auto shown = start;
    bool progress_on_screen = false;
    std::size_t written = 0, not_found = 0;
    while (written < plan.size()) {
      std::unique_lock lock(mutex);
      ready.wait_for(lock, std::chrono::milliseconds(500), [&] { return outcomes[written].has_value() || model_error; });
      if (model_error) break;
      while (written < plan.size() && outcomes[written]) {
        const Outcome o = std::move(*outcomes[written]);
        outcomes[written].reset();
        ++written;
        jsonl << o.line << '\n';
        if (!o.message.empty()) {
          fmt::print(stderr, "{}tsgan-align: {}\n", progress_on_screen ? "\n" : "", o.message);
          progress_on_screen = false;
          failed = failed || o.bad_input;
          not_found += !o.bad_input;
        }
      }
      jsonl.flush();
      const auto now = std::chrono::steady_clock::now();
      if (now - shown > std::chrono::milliseconds(500) || written == plan.size()) {
        const double seconds = std::chrono::duration<double>(now - start).count();
        const double rate = double(written) / std::max(seconds, 1e-9);
        fmt::print(stderr, "\r{} of {} images, {:.1f} images/s, {} left   ", written, plan.size(), rate,
                   written ? duration(double(plan.size() - written) / rate) : std::string("unknown time"));
        progress_on_screen = true;
        shown = now;
      }
    }
    for (auto& th : pool) th.join();
    if (progress_on_screen) fmt::print(stderr, "\n");
    if (model_error) std::rethrow_exception(model_error);
    if (!jsonl.flush()) tsgan::fail<tsgan::IoError>("{}: write failed", jsonl_path.string());
    fmt::print(stderr, "tsgan-align: {} images, {} without a face; wrote {}\n", plan.size(), not_found, jsonl_path.string());
    return failed ? 1 : 0;
  });
}
