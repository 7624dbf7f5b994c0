// tsgan-bench-tsgan-gpu: TSGAN<config::Paper, cuda>'s training step (one discriminator step, then
// two generator steps with every loss term; docs/model.md) timed on the GPU, eagerly
// (train_step) or recorded once as a CUDA graph and replayed (train_step_graph).
//
//   tsgan-bench-tsgan-gpu [--mode eager|graph] [--steps K] [--warmup W] [--seed S] [--tf32 0|1]
//
// φ, the face recognizer, gets random weights (He-normal convolutions, unit scales, zero biases)
// instead of the pretrained ones: the work of a step does not depend on the values, and the GPU
// check then needs no download. The batch is fixed and synthetic (uniform images, Bernoulli(0.25)
// masks, identities 0 1 2 0 1 2). Each timed step ends with a device synchronisation. The last
// output line is a JSON object: ms_per_step (median), ms_min, ms_max, the caching allocator's peak
// in use during the timed steps and what it holds at the end (MB), the first and the last step's
// loss terms, the mode, the device, tf32. The first step's terms come from the same weights with
// TF32 on and off, so two runs that differ only in --tf32 measure TF32's error on the step
// (scripts/gpu-check.sh does). In graph mode the first two warm-up steps are the eager step and the
// recording (--warmup is at least 2 there); every timed step is a replay on the same batch buffers.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "tsgan/models/tsgan.hpp"
#include "tsgan/tsgan.hpp"

using namespace tsgan;

namespace {

using Config = config::Paper;
using Model = TSGAN<Config, cuda>;

struct Options {
  int steps = 10, warmup = 2;
  std::uint64_t seed = 0;
  bool tf32 = true;
  bool graph = false;
};

void randomise_identity(Model& model, random::Generator& gen) {
  nn::for_each_parameter(model.networks().phi, [&](const std::string& name, auto& p) {
    using P = std::remove_cvref_t<decltype(p)>;
    if constexpr (P::shape::rank == 4) nn::init::kaiming_normal_(p, gen);  // convolutions
    else if constexpr (P::shape::rank == 2) nn::init::xavier_normal_(p, gen);  // fc
    else nn::init::constant_(p, name.ends_with("scale.weight") ? 1.0 : 0.0);  // biases, affine scales
  });
}

Batch<Config, cuda> synthetic_batch(random::Generator& gen) {
  constexpr index_t B = Config::batch, S = Config::image_size;
  Batch<Config, cuda> b;
  b.profile = random::uniform<Shape<B, 3, S, S>, float, cuda>(gen);
  b.frontal = random::uniform<Shape<B, 3, S, S>, float, cuda>(gen);
  b.mask = random::bernoulli<Shape<B, 1, S, S>, float, cuda>(gen, 0.25f);
  for (index_t i = 0; i < B; ++i) b.identity[static_cast<std::size_t>(i)] = i % 3;
  return b;
}

int run(const Options& o) {
  set_tf32(o.tf32);
  auto& ctx = cuda_context();
  auto& alloc = allocator<cuda>();
  Model model(o.seed);
  random::Generator gen(o.seed + 1);
  randomise_identity(model, gen);
  const auto batch = synthetic_batch(gen);

  auto step = [&] { return o.graph ? model.train_step_graph(batch) : model.train_step(batch); };
  const StepLosses first = step();
  StepLosses losses = first;
  for (int i = 1; i < o.warmup; ++i) losses = step();
  ctx.synchronize();
  alloc.reset_peak();
  std::vector<double> times;
  for (int i = 0; i < o.steps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    losses = step();
    ctx.synchronize();
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  const std::size_t k = times.size();
  const double median = k % 2 ? times[k / 2] : 0.5 * (times[k / 2 - 1] + times[k / 2]);
  const auto stats = alloc.stats();
  std::string first_terms;
  for (const auto& [name, value] : first.terms())
    first_terms += fmt::format("{}\"{}\": {:.9g}", first_terms.empty() ? "" : ", ", name, value);
  fmt::print(
      "{{\"framework\": \"tsgan\", \"model\": \"tsgan\", \"mode\": \"{}\", \"config\": \"paper\", \"batch\": {}, \"ms_per_step\": {:.3f}, "
      "\"ms_min\": {:.3f}, \"ms_max\": {:.3f}, \"steps\": {}, \"warmup\": {}, \"seed\": {}, \"tf32\": {}, "
      "\"device\": \"{}\", \"peak_device_mb\": {:.1f}, \"reserved_device_mb\": {:.1f}, \"L_Dd\": {:.6g}, "
      "\"L_Df\": {:.6g}, \"L_G\": {:.6g}, \"L_pix\": {:.6g}, \"first\": {{{}}}, \"version\": \"tsgan {}\"}}\n",
      o.graph ? "graph" : "eager", Config::batch, median, times.front(), times.back(), o.steps, o.warmup, o.seed, o.tf32 ? "true" : "false",
      ctx.device_name(), double(stats.peak_bytes_in_use) / (1 << 20),
      double(stats.bytes_in_use + stats.bytes_cached) / (1 << 20), losses.d_deocclusion, losses.d_frontal,
      losses.generator, losses.pixel, first_terms, version_string);
  return 0;
}

[[noreturn]] void usage(const std::string& problem) {
  std::fprintf(stderr,
               "tsgan-bench-tsgan-gpu: %s\n"
               "usage: tsgan-bench-tsgan-gpu [--mode eager|graph] [--steps K] [--warmup W] [--seed S] [--tf32 0|1]\n",
               problem.c_str());
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage("missing value after " + a);
      return argv[++i];
    };
    if (a == "--steps") o.steps = std::stoi(value());
    else if (a == "--warmup") o.warmup = std::stoi(value());
    else if (a == "--seed") o.seed = std::stoull(value());
    else if (a == "--tf32") o.tf32 = value() != "0";
    else if (a == "--mode") {
      const std::string m = value();
      if (m != "eager" && m != "graph") usage("--mode must be eager or graph, not " + m);
      o.graph = m == "graph";
    }
    else usage("unknown argument " + a);
  }
  if (o.steps < 1 || o.warmup < 1) usage("--steps and --warmup must be at least 1");
  if (o.graph && o.warmup < 2) usage("--mode graph needs --warmup 2 or more (the eager step, then the recording)");
  if (!cuda_available()) {
    std::fprintf(stderr, "tsgan-bench-tsgan-gpu: no CUDA device is available (no driver or no GPU)\n");
    return 1;
  }
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tsgan-bench-tsgan-gpu: %s\n", e.what());
    return 1;
  }
}
