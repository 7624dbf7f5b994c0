// tsgan-train: trains TSGAN on face folders (an index.csv each: tsgan-make-pairs' output, the CMU
// faces, or a user's own).
//
//   tsgan-train --data DIR [--data DIR ...] --out OUT --steps N [--config release|paper|small|tiny]
//               [--init MODEL] [--models DIR] [--seed S] [--resume | --overwrite] [--log-every K]
//               [--threads T]
//   tsgan-train --photos DIR [--photos DIR ...] [--yaws 15,30,45,60,75] [--mode profile|roundtrip]
//               [--head] --out OUT --steps N [the options above]
//
// Each DIR holds an index.csv with columns path,identity,pose (pose forward, frontal or 0 marks a
// frontal image); each non-frontal image is paired with the frontal image of the same person that
// shares the most attributes with it (tsgan-make-pairs' renders: their own source photo) and
// occluded synthetically, at the face's own landmarks when a landmarks.jsonl is beside the index.
// Identities are matched by name across folders, so one person's pairs from several folders count
// as one identity for the dual triplet loss.
//
// --photos trains without a pre-rendered folder: the pairs of tsgan-make-pairs are made on the fly
// (data::PoseSynthesisLoader). Each DIR is a face folder (index.csv) of photos, or a plain folder
// of images, one subfolder per person (data::FaceIndex::photos); its frontal rows (every row when
// none has a pose, every image of a plain folder) are fitted once at the start (data::FaceFitter: the detector
// and FaceMesh from --models, the fit of tsgan-make-pairs; without them, a message naming the
// missing file and exit status 2; the count and the photos left out go to stderr), and each batch
// item draws a photo, a yaw of --yaws and its side, and an occlusion from the model's generator,
// so --resume continues bit for bit here too. --mode and --head are tsgan-make-pairs' options.
//
// The loop is train::Trainer's: every K steps (and at the end) it saves OUT/checkpoint.safetensors
// atomically, prints one JSON line with every loss term (also appended to OUT/log.jsonl) and writes
// a PNG grid of a fixed evaluation batch (occluded input | mask | Î_d | Î_f | profile target |
// frontal target). --resume continues the checkpoint bit for bit, in the configuration it names;
// an existing one is replaced only with --overwrite. A non-finite loss stops the run (exit 1)
// keeping the last good checkpoint; SIGINT/SIGTERM save and exit 130/143. The configurations that
// use the face recognizer as φ (release, paper, small) load its weights from --models (or
// TSGAN_MODELS_DIR, else ~/.cache/tsgan/models) when they start from step 0. --init starts from a
// model file's generators (tsgan-export; models/tsgan-restore.safetensors), with new
// discriminators and optimizers: fine-tuning the release on one's own faces.
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <filesystem>
#include <functional>
#include <map>
#include <optional>

#include "common.hpp"
#include "face_networks.hpp"
#include "tsgan/data/loader.hpp"
#include "tsgan/render/head_mesh.hpp"

namespace fs = std::filesystem;
namespace ex = tsgan::examples;

namespace {

constexpr const char* program = "tsgan-train";

struct Args {
  std::vector<fs::path> data, photos;
  std::vector<double> yaws{15, 30, 45, 60, 75};
  std::string mode = "profile";
  bool head = false;
  fs::path init;
  ex::TrainArgs train;
  std::string config, models;
  std::uint64_t seed = 0;
};

// Every folder's pairs, with identities numbered by name over all folders.
std::vector<tsgan::data::ImagePair> read_pairs(const std::vector<fs::path>& folders, std::size_t& identities) {
  std::vector<tsgan::data::ImagePair> all;
  std::map<std::string, std::int64_t> ids;
  for (const auto& folder : folders) {
    const auto index = tsgan::data::FaceIndex::read(folder);
    std::vector<std::string> warnings = index.warnings();
    const auto pairs = index.pairs(warnings);
    for (const auto& w : warnings) fmt::print(stderr, "warning: {}\n", w);
    for (auto p : tsgan::data::PairLoader<tsgan::config::Tiny>::image_pairs(index, pairs, false)) {
      const std::string& name = index.identities()[static_cast<std::size_t>(p.identity)];
      p.identity = ids.try_emplace(name, static_cast<std::int64_t>(ids.size())).first->second;
      all.push_back(std::move(p));
    }
    fmt::print(stderr, "{}: {} pairs\n", folder.string(), pairs.size());
  }
  identities = ids.size();
  return all;
}

// The pose-synthesis loader over the --photos folders, every photo fitted once, with progress.
template <class Config>
tsgan::data::PoseSynthesisLoader<Config> photo_loader(const Args& a, const tsgan::data::FaceFitModels& fit_models) {
  namespace data = tsgan::data;
  std::vector<data::FaceIndex> indexes;
  for (const auto& folder : a.photos) {
    indexes.push_back(data::FaceIndex::photos(folder));
    for (const auto& w : indexes.back().warnings()) fmt::print(stderr, "warning: {}\n", w);
  }
  const tsgan::render::CanonicalMesh canonical = tsgan::render::read_canonical_mesh(fit_models.canonical_mesh);
  data::PoseSynthesizer synth = a.head ? data::PoseSynthesizer(tsgan::render::HeadMesh(canonical))
                                       : data::PoseSynthesizer(canonical.triangles);
  ex::PhotoFitter fitter(fit_models);
  std::vector<std::string> reasons;
  std::size_t tried = 0;
  const auto fit = [&](const tsgan::io::Image& photo) {
    auto points = fitter.points(photo, &reasons);
    if (++tried % 10 == 0) fmt::print(stderr, "\r{}: fitting photos: {} fitted, {} not   ", program, tried - reasons.size(), reasons.size());
    return points;
  };
  data::PoseSynthesisOptions options;
  options.yaws = a.yaws;
  options.mode = a.mode == "profile" ? data::PoseMode::profile : data::PoseMode::roundtrip;
  data::PoseSynthesisLoader<Config> loader(indexes, fit, std::move(synth), options);
  if (tried >= 10) fmt::print(stderr, "\n");
  for (const auto& w : loader.warnings()) fmt::print(stderr, "warning: {}\n", w);
  std::map<std::string, int> why;
  for (const auto& r : reasons) ++why[r.substr(0, r.find(" ("))];
  for (const auto& [reason, n] : why) fmt::print(stderr, "{}: {} photos not used: {}\n", program, n, reason);
  fmt::print(stderr, "{} of {} photos fitted; pairs made on the fly ({}, yaws ±{}, {}) (config {}, {}x{})\n", loader.size(),
             tried, a.mode, fmt::join(a.yaws, "/"), a.head ? "the whole head turns" : "the face turns", a.config,
             Config::image_size, Config::image_size);
  return loader;
}

template <class Config>
int run(const Args& a) {
  std::optional<tsgan::data::PoseSynthesisLoader<Config>> photos;
  std::optional<tsgan::data::PairLoader<Config>> pairs;
  ex::BatchSource<Config> source;
  if (!a.photos.empty()) {
    tsgan::data::FaceFitModels fit_models;
    try {
      fit_models = tsgan::data::face_fit_models(a.models);
    } catch (const tsgan::IoError& e) {
      fmt::print(stderr, "{}: {}\n", program, e.what());
      return 2;  // like the recognizer's weights missing
    }
    photos.emplace(photo_loader<Config>(a, fit_models));
    source.draw = [&](tsgan::random::Generator& gen) { return photos->next(gen); };
  } else {
    std::size_t identities = 0;
    pairs.emplace(read_pairs(a.data, identities));
    for (const auto& w : pairs->warnings()) fmt::print(stderr, "warning: {}\n", w);
    fmt::print(stderr, "{} training pairs of {} identities (config {}, {}x{})\n", pairs->size(), identities, a.config,
               Config::image_size, Config::image_size);
    source.draw = [&](tsgan::random::Generator& gen) { return pairs->next(gen); };
  }

  return ex::train_tsgan<Config, tsgan::cpu>(a.seed, source, a.train, a.models, program, a.init);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Train TSGAN on face folders (index.csv) or on photos turned on the fly, with synthetic occlusions"};
  Args a;
  int threads = 0;
  auto* data = app.add_option("--data", a.data, "folder with index.csv (path,identity,pose); repeat for several");
  auto* photos = app.add_option("--photos", a.photos,
                                "folder of photos (with index.csv, or images in one subfolder per person): pairs made from them on the fly "
                                "by pose synthesis; repeat for several")
                     ->excludes(data);
  app.add_option("--yaws", a.yaws, "with --photos: yaw angles in degrees, comma-separated; each is drawn left or right")
      ->delimiter(',')
      ->check(tsgan::cli::yaw_degrees())
      ->needs(photos);
  app.add_option("--mode", a.mode, "with --photos: profile (input rendered at the yaw) or roundtrip (rendered there and back)")
      ->check(CLI::IsMember({"profile", "roundtrip"}))
      ->needs(photos);
  app.add_flag("--head", a.head, "with --photos: turn the whole head, not only the face mesh")->needs(photos);
  app.parse_complete_callback([&] {
    if (a.data.empty() && a.photos.empty()) throw CLI::RequiredError("--data or --photos");
  });
  ex::add_train_options(app, a.train);
  app.add_option("--config", a.config,
                 fmt::format("model configuration (default: the checkpoint's with --resume, else {})", ex::config_names().front()))
      ->check(CLI::IsMember(ex::config_names()));
  auto* init = app.add_option("--init", a.init, "start from this model file's generators (not with --resume)");
  app.add_option("--models", a.models,
                 "face models: the recognizer's weights; with --photos also the detector and FaceMesh (default: $TSGAN_MODELS_DIR, "
                 "else ~/.cache/tsgan/models)");
  app.add_option("--seed", a.seed, "seed of weights, batches and occlusions");
  tsgan::cli::add_threads_option(app, threads);
  init->excludes(app.get_option("--resume"));
  return tsgan::cli::run(program, app, argc, argv, [&] {
    tsgan::cli::apply_threads(threads);
    const fs::path checkpoint = tsgan::train::checkpoint_path(a.train.out);
    if (a.config.empty()) {
      if (a.train.resume && fs::exists(checkpoint)) a.config = ex::checkpoint_config(checkpoint);
      else a.config = a.init.empty() ? ex::config_names().front() : ex::checkpoint_config(a.init);
    }
    return ex::with_config(a.config, [&]<class C>(std::type_identity<C>) { return run<C>(a); });
  });
}
