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

#include <chrono>
#include <filesystem>

#include "tsgan/data/loader.hpp"
#include "tsgan/io/image.hpp"
#include "tsgan/models/tsgan.hpp"

namespace fs = std::filesystem;
using Config = tsgan::config::Tiny;
using Model = tsgan::TSGAN<Config>;

namespace {

void write_snapshot(Model& model, const tsgan::Batch<Config>& batch, const fs::path& path) {
  constexpr tsgan::index_t B = Config::batch, S = Config::image_size;
  tsgan::Tensor<float, tsgan::Shape<B, 3, S, S>> occluded = batch.profile * (1.f - batch.mask);
  const auto restored = model.restore(occluded, batch.mask);
  const auto grid = tsgan::io::make_grid(occluded, batch.mask, restored.deoccluded, restored.frontal, batch.frontal);
  tsgan::io::write_png(path, tsgan::io::enlarge(grid, 4));  // 32-pixel faces are hard to see
}

std::string json_line(std::int64_t step, const tsgan::StepLosses& l, double ms) {
  return fmt::format(
      R"({{"step":{},"L_Dd":{:.6g},"L_Df":{:.6g},"L_adv":{:.6g},"L_dtri":{:.6g},"L_ip":{:.6g},"L_pix":{:.6g},)"
      R"("L_sym":{:.6g},"L_tv":{:.6g},"L_G":{:.6g},"ms_per_step":{:.1f}}})",
      step, l.d_deocclusion, l.d_frontal, l.adversarial, l.dual_triplet, l.identity, l.pixel, l.symmetry,
      l.total_variation, l.generator, ms);
}

}  // namespace

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

    fs::create_directories(out);
    const fs::path checkpoint = out / "checkpoint.safetensors";
    Model model(seed);
    if (resume) {
      if (fs::exists(checkpoint)) {
        model.load(checkpoint);
        fmt::print(stderr, "resumed from {} at step {}\n", checkpoint.string(), model.step());
      } else {
        fmt::print(stderr, "no checkpoint at {}: starting from step 0\n", checkpoint.string());
      }
    }

    auto last = std::chrono::steady_clock::now();
    std::int64_t since = 0;
    while (model.step() < steps) {
      const auto batch = loader.next(model.rng());
      const auto losses = model.train_step(batch);
      ++since;
      if (model.step() % log_every == 0 || model.step() == steps) {
        const auto now = std::chrono::steady_clock::now();
        const double ms = std::chrono::duration<double, std::milli>(now - last).count() / double(since);
        fmt::print("{}\n", json_line(model.step(), losses, ms));
        std::fflush(stdout);
        write_snapshot(model, batch, out / fmt::format("grid_{:06d}.png", model.step()));
        model.save(checkpoint);
        last = std::chrono::steady_clock::now();
        since = 0;
      }
    }
    fmt::print(stderr, "done: {} steps; grids and {} in {}\n", model.step(), checkpoint.filename().string(), out.string());
  } catch (const tsgan::Error& e) {
    fmt::print(stderr, "tsgan-train-tiny: {}\n", e.what());
    return 1;
  }
  return 0;
}
