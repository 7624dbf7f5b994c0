// tsgan-train-tiny: trains TSGAN<config::Tiny> (32 × 32 faces) on a face folder.
//
//   tsgan-train-tiny --data DIR --steps N --out OUTDIR [--seed S] [--resume | --overwrite]
//                    [--log-every K] [--threads T]
//
// DIR holds an index.csv with columns path,identity,pose (pose forward, frontal or 0 marks a
// frontal image); each non-frontal image is paired with a frontal image of the same person and
// occluded synthetically. The loop is train::Trainer's: every K steps (and at the end) it saves
// OUTDIR/checkpoint.safetensors atomically, prints one JSON line with every loss term (also
// appended to OUTDIR/log.jsonl) and writes a PNG grid (occluded input | mask | Î_d | Î_f | target,
// one row per item). --resume continues the checkpoint; an existing one is replaced only with
// --overwrite. A non-finite loss stops the run (exit 1) keeping the last good checkpoint;
// SIGINT/SIGTERM save and exit 130/143.
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <filesystem>

#include "common.hpp"
#include "tsgan/data/loader.hpp"

namespace fs = std::filesystem;
namespace ex = tsgan::examples;
using Config = tsgan::config::Tiny;
using Model = tsgan::TSGAN<Config>;

int main(int argc, char** argv) {
  CLI::App app{"Train TSGAN (config::Tiny, 32x32) on a face folder with synthetic occlusions"};
  fs::path data;
  ex::TrainArgs t;
  std::uint64_t seed = 0;
  int threads = 0;
  app.add_option("--data", data, "folder with index.csv (path,identity,pose)")->required();
  ex::add_train_options(app, t);
  app.add_option("--seed", seed, "seed of weights, batches and occlusions");
  tsgan::cli::add_threads_option(app, threads);
  return tsgan::cli::run("tsgan-train-tiny", app, argc, argv, [&] {
    tsgan::cli::apply_threads(threads);
    const auto index = tsgan::data::FaceIndex::read(data);
    std::vector<std::string> warnings = index.warnings();
    const auto pairs = index.pairs(warnings);
    const tsgan::data::PairLoader<Config> loader(index, pairs);
    for (const auto& w : warnings) fmt::print(stderr, "warning: {}\n", w);
    for (const auto& w : loader.warnings()) fmt::print(stderr, "warning: {}\n", w);
    fmt::print(stderr, "{} training pairs of {} identities from {}\n", loader.size(), index.identities().size(),
               data.string());

    Model model(seed);
    ex::TsganTraining run(model, loader);
    tsgan::train::Trainer trainer(run, ex::trainer_options(t, "tsgan-train-tiny"));
    trainer.start();
    const auto stop = trainer.run();
    if (stop == tsgan::train::Stop::finished)
      fmt::print(stderr, "done: {} steps; grids, log.jsonl and checkpoint.safetensors in {}\n", model.step(), t.out.string());
    return tsgan::train::exit_status(stop);
  });
}
