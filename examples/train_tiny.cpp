// tsgan-train-tiny: trains TSGAN<config::Tiny> (32 × 32 faces) on a face folder.
//
//   tsgan-train-tiny --data DIR --steps N --out OUTDIR [--seed S] [--resume] [--log-every K]
//
// DIR holds an index.csv with columns path,identity,pose (pose forward, frontal or 0 marks a
// frontal image); each non-frontal image is paired with a frontal image of the same person and
// occluded synthetically. Every K steps (and at the end) the program prints one JSON line with
// every loss term, writes a PNG grid (occluded input | mask | Î_d | Î_f | target, one row per
// item) and saves OUTDIR/checkpoint.safetensors atomically; --resume continues from it.
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <filesystem>

#include "common.hpp"
#include "tsgan/data/loader.hpp"

namespace fs = std::filesystem;
using Config = tsgan::config::Tiny;
using Model = tsgan::TSGAN<Config>;

int main(int argc, char** argv) {
  CLI::App app{"Train TSGAN (config::Tiny, 32x32) on a face folder with synthetic occlusions"};
  fs::path data, out;
  std::int64_t steps = 0;
  std::uint64_t seed = 0;
  bool resume = false;
  std::int64_t log_every = 50;
  int threads = 0;
  app.add_option("--data", data, "folder with index.csv (path,identity,pose)")->required();
  app.add_option("--steps", steps, "train until this many steps in total")->required()->check(CLI::PositiveNumber);
  app.add_option("--out", out, "folder for grids and checkpoint.safetensors")->required();
  app.add_option("--seed", seed, "seed of weights, batches and occlusions");
  app.add_flag("--resume", resume, "continue from OUTDIR/checkpoint.safetensors");
  app.add_option("--log-every", log_every, "steps between logs, grids and checkpoints")->check(CLI::PositiveNumber);
  app.add_option("--threads", threads, "CPU threads (default: all)");
  CLI11_PARSE(app, argc, argv);
  if (threads > 0) tsgan::set_num_threads(threads);

  try {
    const auto index = tsgan::data::FaceIndex::read(data);
    std::vector<std::string> warnings = index.warnings();
    const auto pairs = index.pairs(warnings);
    const tsgan::data::PairLoader<Config> loader(index, pairs);
    for (const auto& w : warnings) fmt::print(stderr, "warning: {}\n", w);
    for (const auto& w : loader.warnings()) fmt::print(stderr, "warning: {}\n", w);
    fmt::print(stderr, "{} training pairs of {} identities from {}\n", loader.size(), index.identities().size(),
               data.string());

    Model model(seed);
    tsgan::examples::maybe_resume(model, out, resume);
    tsgan::examples::train(model, loader, {.steps = steps, .log_every = log_every, .out = out});
    const fs::path checkpoint = tsgan::examples::checkpoint_path(out);
    fmt::print(stderr, "done: {} steps; grids and {} in {}\n", model.step(), checkpoint.filename().string(), out.string());
  } catch (const tsgan::Error& e) {
    fmt::print(stderr, "tsgan-train-tiny: {}\n", e.what());
    return 1;
  }
  return 0;
}
