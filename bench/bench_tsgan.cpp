// tsgan-bench-tsgan: TSGAN<Config>'s training step (one discriminator step, then Config's generator
// steps with every loss term: two for small and paper, one for release, which also composes Î_d;
// docs/model.md) timed on the CPU, beside the PyTorch model of bench/reference/tsgan.py
// (bench/run_tsgan.py runs both, alternating).
//
//   tsgan-bench-tsgan --config small|paper|release --threads N [--steps K] [--warmup W] [--seed S]
//
// φ, the face recognizer, gets random weights (He-normal convolutions, unit scales, zero biases)
// instead of the pretrained ones, as in tsgan-bench-tsgan-gpu: the work of a step does not depend
// on the values, and the benchmark needs no download. The batch is fixed and synthetic (uniform
// images, the same rectangle occluded in each, identities 0 0 1 1 2 2) as in reference/tsgan.py.
// The last output line is one JSON object: framework, config, threads, ms_per_step (median),
// ms_min, ms_max, cpu_ms_per_step (median CPU time of the process, all threads: the steadier
// figure on a shared machine), faults_per_step (minor page faults of the timed steps, per step:
// memory the allocator handed back and took again), peak_rss_mb, steps, warmup, seed, L_G of the
// last step, version, and timed_from_s and timed_to_s: when the timed steps began and ended on the
// monotonic clock (CLOCK_MONOTONIC, which `perf record -k CLOCK_MONOTONIC` stamps its samples with;
// bench/profile_tsgan.py keeps the samples in between).
// With TSGAN_PROFILE=1 in the environment, a table of the timed steps' time by kind of operation
// (core/profile.hpp) goes to stderr.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "tsgan/models/face_recognizer.hpp"
#include "tsgan/models/tsgan.hpp"
#include "tsgan/tsgan.hpp"

using namespace tsgan;

namespace {

struct Options {
  std::string config = "small";
  int threads = 1, steps = 5, warmup = 1;
  std::uint64_t seed = 0;
};

rusage usage() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u;
}

template <class Model>
void randomise_identity(Model& model, random::Generator& gen) {
  nn::for_each_parameter(model.networks().phi, [&](const std::string& name, auto& p) {
    using P = std::remove_cvref_t<decltype(p)>;
    if constexpr (P::shape::rank == 4) nn::init::kaiming_normal_(p, gen);      // convolutions
    else if constexpr (P::shape::rank == 2) nn::init::xavier_normal_(p, gen);  // fc
    else nn::init::constant_(p, name.ends_with("scale.weight") ? 1.0 : 0.0);  // biases, affine scales
  });
}

template <class Config>
Batch<Config> synthetic_batch(random::Generator& gen) {
  constexpr index_t B = Config::batch, S = Config::image_size;
  Batch<Config> b;
  b.profile = random::uniform<Shape<B, 3, S, S>>(gen);
  b.frontal = random::uniform<Shape<B, 3, S, S>>(gen);
  b.mask.fill(0.f);
  for (index_t n = 0; n < B; ++n)
    for (index_t y = S / 4; y < S / 2; ++y)
      for (index_t x = S / 4; x < 3 * S / 4; ++x) b.mask[(n * S + y) * S + x] = 1.f;
  for (index_t i = 0; i < B; ++i) b.identity[static_cast<std::size_t>(i)] = i / 2;
  return b;
}

// A time on the steady clock, which is CLOCK_MONOTONIC with libstdc++ and libc++ on Linux.
double seconds(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

template <class Config>
int run(const Options& o) {
  auto model = std::make_unique<TSGAN<Config>>(o.seed);
  random::Generator gen(o.seed + 1);
  randomise_identity(*model, gen);
  const auto batch = synthetic_batch<Config>(gen);

  StepLosses losses;
  for (int i = 0; i < o.warmup; ++i) losses = model->train_step(batch);
  profile::reset();
  const long faults_before = usage().ru_minflt;
  std::vector<double> times, cpu_times;
  const auto timed_from = std::chrono::steady_clock::now();
  for (int i = 0; i < o.steps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto c0 = profile::process_cpu_ns();
    losses = model->train_step(batch);
    cpu_times.push_back(double(profile::process_cpu_ns() - c0) * 1e-6);
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  const auto timed_to = std::chrono::steady_clock::now();
  const double faults_per_step = double(usage().ru_minflt - faults_before) / double(o.steps);
  const double mean = std::accumulate(times.begin(), times.end(), 0.0) / double(times.size());
  const double cpu_mean = std::accumulate(cpu_times.begin(), cpu_times.end(), 0.0) / double(cpu_times.size());
  if (profile::enabled())
    fmt::print(stderr, "tsgan {}, {} thread(s), {} steps, mean {:.1f} ms/step, {:.1f} CPU ms/step:\n{}", o.config,
               o.threads, o.steps, mean, cpu_mean, profile::report(o.steps, mean * 1e-3, cpu_mean * 1e-3));
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t k = v.size();
    return k % 2 ? v[k / 2] : 0.5 * (v[k / 2 - 1] + v[k / 2]);
  };
  fmt::print(
      "{{\"framework\": \"tsgan\", \"config\": \"{}\", \"threads\": {}, \"ms_per_step\": {:.2f}, \"ms_min\": {:.2f}, "
      "\"ms_max\": {:.2f}, \"cpu_ms_per_step\": {:.2f}, \"faults_per_step\": {:.0f}, "
      "\"peak_rss_mb\": {:.1f}, \"steps\": {}, \"warmup\": {}, "
      "\"seed\": {}, \"L_G\": {:.6g}, \"version\": \"tsgan {}\", \"timed_from_s\": {:.6f}, \"timed_to_s\": {:.6f}}}\n",
      o.config, o.threads, median(times), *std::min_element(times.begin(), times.end()),
      *std::max_element(times.begin(), times.end()), median(cpu_times), faults_per_step,
      double(usage().ru_maxrss) / 1024.0 /* kilobytes on Linux */, o.steps, o.warmup, o.seed,
      losses.generator, version_string, seconds(timed_from), seconds(timed_to));
  return 0;
}

[[noreturn]] void usage(const std::string& problem) {
  std::fprintf(stderr,
               "tsgan-bench-tsgan: %s\n"
               "usage: tsgan-bench-tsgan --config small|paper|release --threads N [--steps K] [--warmup W] [--seed S]\n",
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
    if (a == "--config") o.config = value();
    else if (a == "--threads") o.threads = std::stoi(value());
    else if (a == "--steps") o.steps = std::stoi(value());
    else if (a == "--warmup") o.warmup = std::stoi(value());
    else if (a == "--seed") o.seed = std::stoull(value());
    else usage("unknown argument " + a);
  }
  if (o.steps < 1 || o.warmup < 0 || o.threads < 1) usage("--steps and --threads must be at least 1, --warmup at least 0");
  set_num_threads(o.threads);
  try {
    if (o.config == "small") return run<config::Small>(o);
    if (o.config == "paper") return run<config::Paper>(o);
    if (o.config == "release") return run<config::Release>(o);
    usage("unknown --config " + o.config + " (small, paper or release)");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tsgan-bench-tsgan: %s\n", e.what());
    return 1;
  }
}
