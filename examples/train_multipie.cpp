// tsgan-train-multipie: trains TSGAN on Multi-PIE crops, Setting 2's training split.
//
//   tsgan-train-multipie --data DIR --out OUT --steps N [--config paper|small|tiny] [--models DIR]
//                        [--seed S] [--resume] [--mirror] [--log-every K] [--threads T]
//
// DIR holds crops named SSS_ss_rr_CCC_II*.png (in any sub-folders; docs/examples.md). Each neutral
// crop of subjects 001–200 at the 13 yaw cameras is paired with its frontal target (the same
// subject, session, recording and illumination at camera 05_1) and occluded synthetically (all
// seven occlusion types). --mirror flips negative-yaw inputs and their targets, so the network
// sees one side. Crops are read from disk batch by batch. The configurations that use the face
// recognizer as φ (paper, small) load its weights from --models (or TSGAN_MODELS_DIR); tiny uses a
// small random φ. Every K steps and at the end: one JSON line with every loss term on stdout, a
// grid OUT/grid_NNNNNN.png (occluded input | mask | Î_d | Î_f | target) and
// OUT/checkpoint.safetensors, written atomically; --resume continues from it, bit for bit.
//
// Compiled by nvcc (examples/CMakeLists.txt, when the CUDA backend is on) this file is
// tsgan-train-multipie-gpu: the same program training on the GPU (batches are read and occluded
// on the host, then copied over), with --tf32 (default 1: TF32 tensor cores for convolutions and
// products). Without a usable GPU it stops with exit status 1 before reading anything. Checkpoints
// are the same files on either device: a run can be resumed on the other one.
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "common.hpp"
#include "tsgan/data/loader.hpp"
#include "tsgan/data/multipie.hpp"

namespace fs = std::filesystem;
namespace ex = tsgan::examples;
namespace mp = tsgan::data::multipie;

namespace {

#if defined(__CUDACC__)
using Device = tsgan::cuda;
constexpr const char* program = "tsgan-train-multipie-gpu";
#else
using Device = tsgan::cpu;
constexpr const char* program = "tsgan-train-multipie";
#endif

struct Args {
  fs::path data, out;
  std::int64_t steps = 0, log_every = 50;
  std::string config = "paper", models;
  std::uint64_t seed = 0;
  bool resume = false, mirror = false;
};

template <class Config>
int run(const Args& a) {
  using Model = tsgan::TSGAN<Config, Device>;
  mp::Options options;
  options.mirror_negative_yaw = a.mirror;
  const auto setting = mp::Setting2::scan(a.data, options);
  std::vector<std::string> warnings = setting.warnings();
  const auto pairs = setting.training_pairs(warnings);
  for (const auto& w : warnings) fmt::print(stderr, "warning: {}\n", w);
  tsgan::data::LoaderOptions loading;
  loading.preload = false;
  const tsgan::data::PairLoader<Config> loader(pairs, loading);
  for (const auto& w : loader.warnings()) fmt::print(stderr, "warning: {}\n", w);
  std::set<std::int64_t> subjects;
  for (const auto& p : pairs) subjects.insert(p.identity);
  fmt::print(stderr, "{} training pairs of {} subjects from {} (config {}, {}x{}{})\n", loader.size(), subjects.size(),
             a.data.string(), a.config, Config::image_size, Config::image_size, a.mirror ? ", negative yaws mirrored" : "");

  Model model(a.seed);
  const bool resuming = a.resume && fs::exists(ex::checkpoint_path(a.out));
  if constexpr (ex::uses_face_recognizer<Model>) {
    if (!resuming) {  // a checkpoint carries φ's weights
      const auto dir = ex::models_dir(a.models);
      if (!dir) {
        fmt::print(stderr, "{}\n", ex::missing_models_message(program));
        return 2;
      }
      model.networks().phi.load(*dir);
    }
  }
  ex::maybe_resume(model, a.out, a.resume);
  ex::train(model, loader, {.steps = a.steps, .log_every = a.log_every, .out = a.out});
  fmt::print(stderr, "done: {} steps; grids and checkpoint.safetensors in {}\n", model.step(), a.out.string());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Train TSGAN on Multi-PIE crops (Setting 2 training split) with synthetic occlusions"};
  Args a;
  int threads = 0;
  app.add_option("--data", a.data, "folder of Multi-PIE crops SSS_ss_rr_CCC_II*.png")->required();
  app.add_option("--out", a.out, "folder for grids and checkpoint.safetensors")->required();
  app.add_option("--steps", a.steps, "train until this many steps in total")->required()->check(CLI::PositiveNumber);
  a.config = ex::config_names().front();
  app.add_option("--config", a.config, "model configuration")->check(CLI::IsMember(ex::config_names()))->capture_default_str();
  app.add_option("--models", a.models, "face recognizer weights (default: $TSGAN_MODELS_DIR, else ~/.cache/tsgan/models)");
  app.add_option("--seed", a.seed, "seed of weights, batches and occlusions");
  app.add_flag("--resume", a.resume, "continue from OUT/checkpoint.safetensors");
  app.add_flag("--mirror", a.mirror, "mirror negative-yaw inputs and their targets");
  app.add_option("--log-every", a.log_every, "steps between logs, grids and checkpoints")->check(CLI::PositiveNumber);
  app.add_option("--threads", threads, "CPU threads (default: all)");
#if defined(__CUDACC__)
  bool tf32 = true;
  app.add_option("--tf32", tf32, "TF32 tensor cores for float convolutions and products")->capture_default_str();
#endif
  CLI11_PARSE(app, argc, argv);
  if (threads > 0) tsgan::set_num_threads(threads);
#if defined(__CUDACC__)
  if (!tsgan::cuda_available()) {
    fmt::print(stderr, "{}: no CUDA device is available (no driver or no GPU); tsgan-train-multipie trains on the CPU\n",
               program);
    return 1;
  }
  tsgan::set_tf32(tf32);
#endif
  try {
    return ex::with_config(a.config, [&]<class C>(std::type_identity<C>) { return run<C>(a); });
  } catch (const tsgan::Error& e) {
    fmt::print(stderr, "{}: {}\n", program, e.what());
    return 1;
  }
}
