// tsgan-train-multipie: trains TSGAN on Multi-PIE crops, Setting 2's training split.
//
//   tsgan-train-multipie --data DIR --out OUT --steps N [--config paper|small|tiny] [--models DIR]
//                        [--seed S] [--resume | --overwrite] [--mirror] [--log-every K] [--threads T]
//
// DIR holds crops named SSS_ss_rr_CCC_II*.png (in any sub-folders; docs/examples.md). Each neutral
// crop of subjects 001–200 at the 13 yaw cameras is paired with its frontal target (the same
// subject, session, recording and illumination at camera 05_1) and occluded synthetically (all
// seven occlusion types). --mirror flips negative-yaw inputs and their targets, so the network
// sees one side. Crops are read from disk batch by batch. The configurations that use the face
// recognizer as φ (paper, small) load its weights from --models (or TSGAN_MODELS_DIR); tiny uses a
// small random φ. The loop is train::Trainer's (its policies: docs/examples.md): every K steps and
// at the end OUT/checkpoint.safetensors (atomically), one JSON line with every loss term on stdout
// and in OUT/log.jsonl, and a grid OUT/grid_NNNNNN.png (occluded input | mask | Î_d | Î_f |
// target); --resume continues the checkpoint bit for bit, in the configuration it names unless
// --config says otherwise; --overwrite starts again over it.
//
// Compiled by nvcc (examples/CMakeLists.txt, when the CUDA backend is on) this file is
// tsgan-train-multipie-gpu: the same program training on the GPU (batches are read and occluded
// on the host, then copied over), with --tf32 (default 1: TF32 tensor cores for convolutions and
// products). Without a usable GPU it stops with exit status 1 before reading anything. Checkpoints
// are the same files on either device: a run can be resumed on the other one.
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "common.hpp"
#if defined(__CUDACC__)
#include "model_tasks.hpp"  // model_tasks.cpp compiles the tasks for the CPU only
#endif
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
  fs::path data;
  ex::TrainArgs train;
  std::string config, models;  // config empty: the checkpoint's when resuming, else the first compiled
  std::uint64_t seed = 0;
  bool mirror = false;
};

template <class Config>
int run(const Args& a) {
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

  const ex::BatchSource<Config> source{[&](tsgan::random::Generator& gen) { return loader.next(gen); }};
  return ex::train_tsgan<Config, Device>(a.seed, source, a.train, a.models, program, {});
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Train TSGAN on Multi-PIE crops (Setting 2 training split) with synthetic occlusions"};
  Args a;
  int threads = 0;
  app.add_option("--data", a.data, "folder of Multi-PIE crops SSS_ss_rr_CCC_II*.png")->required();
  ex::add_train_options(app, a.train);
  app.add_option("--config", a.config,
                 fmt::format("model configuration (default: the checkpoint's with --resume, else {})", ex::config_names().front()))
      ->check(CLI::IsMember(ex::config_names()));
  app.add_option("--models", a.models, "face recognizer weights (default: $TSGAN_MODELS_DIR, else ~/.cache/tsgan/models)");
  app.add_option("--seed", a.seed, "seed of weights, batches and occlusions");
  app.add_flag("--mirror", a.mirror, "mirror negative-yaw inputs and their targets");
  tsgan::cli::add_threads_option(app, threads);
#if defined(__CUDACC__)
  bool tf32 = true;
  app.add_option("--tf32", tf32, "TF32 tensor cores for float convolutions and products")->capture_default_str();
#endif
  return tsgan::cli::run(program, app, argc, argv, [&] {
    tsgan::cli::apply_threads(threads);
#if defined(__CUDACC__)
    if (!tsgan::cuda_available()) {
      fmt::print(stderr, "{}: no CUDA device is available (no driver or no GPU); tsgan-train-multipie trains on the CPU\n",
                 program);
      return 1;
    }
    tsgan::set_tf32(tf32);
#endif
    const fs::path checkpoint = tsgan::train::checkpoint_path(a.train.out);
    if (a.config.empty())
      a.config = a.train.resume && fs::exists(checkpoint) ? ex::checkpoint_config(checkpoint) : ex::config_names().front();
    return ex::with_config(a.config, [&]<class C>(std::type_identity<C>) { return run<C>(a); });
  });
}
