// tsgan-train: trains TSGAN on face folders (an index.csv each: tsgan-make-pairs' output, the CMU
// faces, or a user's own).
//
//   tsgan-train --data DIR [--data DIR ...] --out OUT --steps N [--config release|paper|small|tiny]
//               [--init MODEL] [--models DIR] [--seed S] [--resume | --overwrite] [--log-every K]
//               [--threads T]
//
// Each DIR holds an index.csv with columns path,identity,pose (pose forward, frontal or 0 marks a
// frontal image); each non-frontal image is paired with the frontal image of the same person that
// shares the most attributes with it (tsgan-make-pairs' renders: their own source photo) and
// occluded synthetically, at the face's own landmarks when a landmarks.jsonl is beside the index.
// Identities are matched by name across folders, so one person's pairs from several folders count
// as one identity for the dual triplet loss.
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
#include <map>

#include "common.hpp"
#include "tsgan/data/loader.hpp"

namespace fs = std::filesystem;
namespace ex = tsgan::examples;

namespace {

constexpr const char* program = "tsgan-train";

struct Args {
  std::vector<fs::path> data;
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

template <class Config>
int run(const Args& a) {
  using Model = tsgan::TSGAN<Config>;
  std::size_t identities = 0;
  const auto pairs = read_pairs(a.data, identities);
  const tsgan::data::PairLoader<Config> loader(pairs);
  for (const auto& w : loader.warnings()) fmt::print(stderr, "warning: {}\n", w);
  fmt::print(stderr, "{} training pairs of {} identities (config {}, {}x{})\n", loader.size(), identities, a.config,
             Config::image_size, Config::image_size);

  Model model(a.seed);
  return ex::train_model(model, loader, a.train, a.models, program, [&] {
    if (!a.init.empty()) model.load_generators(a.init);
  });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Train TSGAN on face folders (index.csv) with synthetic occlusions"};
  Args a;
  int threads = 0;
  app.add_option("--data", a.data, "folder with index.csv (path,identity,pose); repeat for several")->required();
  ex::add_train_options(app, a.train);
  app.add_option("--config", a.config,
                 fmt::format("model configuration (default: the checkpoint's with --resume, else {})", ex::config_names().front()))
      ->check(CLI::IsMember(ex::config_names()));
  auto* init = app.add_option("--init", a.init, "start from this model file's generators (not with --resume)");
  app.add_option("--models", a.models, "face recognizer weights (default: $TSGAN_MODELS_DIR, else ~/.cache/tsgan/models)");
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
