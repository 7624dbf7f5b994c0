// tsgan-bench-pix2pix: times the pix2pix training step (bench/pix2pix.hpp) as
// bench/reference/pix2pix.py does in PyTorch, and prints as its last line one JSON object with the
// same keys (bench/run_pix2pix.py runs both side by side).
//
//   tsgan-bench-pix2pix --config small|paper --threads N --steps K --warmup W [--seed S]
//   tsgan-bench-pix2pix --config small --layers        the conv layers and FLOPs, as JSON (tests)
//   tsgan-bench-pix2pix --config small --check-training 50
//       trains K steps on the fixed batch; fails unless the L1 loss falls, or when a step after
//       the first makes a system allocation
//
// Exit status: 0, or 1 when a timed step made a system allocation or a check failed.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <string>
#include <string_view>
#include <vector>

#include "pix2pix.hpp"

namespace {

struct Args {
  std::string config = "small";
  int threads = 1, steps = 10, warmup = 3;
  std::uint64_t seed = 0;
  bool layers = false;
  int check_training = 0;
};

[[noreturn]] void usage(const char* msg) {
  std::fprintf(stderr,
               "tsgan-bench-pix2pix: %s\nusage: tsgan-bench-pix2pix --config small|paper --threads N --steps K "
               "--warmup W [--seed S] [--layers] [--check-training K]\n",
               msg);
  std::exit(2);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value after " + std::string(arg)).c_str());
      return argv[++i];
    };
    auto number = [&]() -> long long {
      const std::string v = value();
      char* end = nullptr;
      const long long n = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < 0) usage(("not a non-negative number: " + v).c_str());
      return n;
    };
    if (arg == "--config") a.config = value();
    else if (arg == "--threads") a.threads = static_cast<int>(number());
    else if (arg == "--steps") a.steps = static_cast<int>(number());
    else if (arg == "--warmup") a.warmup = static_cast<int>(number());
    else if (arg == "--seed") a.seed = static_cast<std::uint64_t>(number());
    else if (arg == "--layers") a.layers = true;
    else if (arg == "--check-training") a.check_training = static_cast<int>(number());
    else usage(("unknown argument " + std::string(arg)).c_str());
  }
  if (a.threads < 1) usage("--threads must be at least 1");
  if (a.steps < 1 && !a.layers && !a.check_training) usage("--steps must be at least 1");
  return a;
}

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;  // kilobytes on Linux
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::size_t system_allocations() { return tsgan::allocator<tsgan::cpu>().stats().system_allocations; }

std::string gemm_name() {
  return tsgan::kernels::gemm_backend() == tsgan::kernels::GemmBackend::blas ? "openblas" : "eigen";
}

template <class C>
int print_layers(const Args& a) {
  std::printf("{\"config\": \"%s\", \"batch\": %lld, \"gflop_per_step\": %.6f, \"step_flops\": %.0f, \"layers\": [",
              a.config.c_str(), static_cast<long long>(C::batch), pix2pix::step_flops<C>() / 1e9,
              pix2pix::step_flops<C>());
  bool first = true;
  for (const auto& l : pix2pix::layers<C>()) {
    const auto p = l.passes();
    std::printf("%s\n  {\"net\": \"%s\", \"name\": \"%s\", \"transposed\": %s, \"cin\": %lld, \"cout\": %lld, "
                "\"k\": %lld, \"stride\": %lld, \"pad\": %lld, \"hin\": %lld, \"hout\": %lld, \"bias\": %s, "
                "\"bn\": %s, \"act\": \"%s\", \"passes\": [%d, %d, %d], \"pass_flops\": %.0f, \"step_flops\": %.0f}",
                first ? "" : ",", l.net.c_str(), l.name.c_str(), l.transposed ? "true" : "false",
                static_cast<long long>(l.cin), static_cast<long long>(l.cout), static_cast<long long>(l.k),
                static_cast<long long>(l.stride), static_cast<long long>(l.pad), static_cast<long long>(l.hin),
                static_cast<long long>(l.hout), l.bias ? "true" : "false", l.bn ? "true" : "false", l.act.c_str(),
                p[0], p[1], p[2], l.pass_flops(C::batch), l.step_flops(C::batch));
    first = false;
  }
  std::printf("\n]}\n");
  return 0;
}

// Trains `steps` steps on the fixed batch: the L1 part of loss_G must fall (the mean of the last
// five steps below 90 % of the first step's), and no step after the first may make a system
// allocation.
template <class C>
int check_training(const Args& a) {
  pix2pix::Trainer<C> t(a.seed);
  const auto first = t.step();
  const auto allocs = system_allocations();
  std::vector<pix2pix::Losses> hist{first};
  for (int i = 1; i < a.check_training; ++i) {
    hist.push_back(t.step());
    if (i % 10 == 0 || i + 1 == a.check_training)
      std::fprintf(stderr, "step %3d: loss_D %.4f  loss_G %.4f  L1 %.4f\n", i + 1, hist.back().d, hist.back().g,
                   hist.back().l1);
  }
  const std::size_t made = system_allocations() - allocs;
  const std::size_t tail = std::min<std::size_t>(5, hist.size());
  double late = 0;
  for (std::size_t i = hist.size() - tail; i < hist.size(); ++i) late += hist[i].l1;
  late /= double(tail);
  const bool falls = late < 0.9 * first.l1;
  std::printf("{\"framework\": \"tsgan\", \"config\": \"%s\", \"steps\": %d, \"l1_first\": %.5f, \"l1_last5\": %.5f, "
              "\"loss_d_first\": %.5f, \"loss_d_last\": %.5f, \"system_allocations_after_first_step\": %zu, "
              "\"trains\": %s}\n",
              a.config.c_str(), a.check_training, first.l1, late, first.d, hist.back().d, made,
              falls ? "true" : "false");
  if (!falls) std::fprintf(stderr, "FAIL: the L1 loss did not fall (%.5f -> %.5f)\n", first.l1, late);
  if (made != 0) std::fprintf(stderr, "FAIL: %zu system allocations after the first step\n", made);
  return falls && made == 0 ? 0 : 1;
}

template <class C>
int bench(const Args& a) {
  using clock = std::chrono::steady_clock;
  pix2pix::Trainer<C> t(a.seed);
  pix2pix::Losses last{};
  for (int i = 0; i < a.warmup; ++i) last = t.step();
  const auto allocs = system_allocations();
  const auto arena = t.graph_g.arena_capacity() + t.graph_d.arena_capacity();
  tsgan::profile::reset();
  std::vector<double> ms, cpu_ms;
  for (int i = 0; i < a.steps; ++i) {
    const auto t0 = clock::now();
    const auto c0 = tsgan::profile::process_cpu_ns();
    last = t.step();
    cpu_ms.push_back(double(tsgan::profile::process_cpu_ns() - c0) * 1e-6);
    ms.push_back(std::chrono::duration<double, std::milli>(clock::now() - t0).count());
  }
  const std::size_t made = system_allocations() - allocs;
  const std::size_t arena_growth = t.graph_g.arena_capacity() + t.graph_d.arena_capacity() - arena;
  std::vector<double> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  const double median = median_of(ms), cpu_median = median_of(cpu_ms);
  const double flops = pix2pix::step_flops<C>();
  std::string profiled;  // with TSGAN_PROFILE=1: the conv layers' own rate, and a table on stderr
  if (tsgan::profile::enabled()) {
    using tsgan::profile::Op;
    namespace prof = tsgan::profile;
    const double conv_s = (prof::seconds(Op::conv_forward) + prof::seconds(Op::conv_backward)) / a.steps;
    const double conv_cpu = (prof::cpu_seconds(Op::conv_forward) + prof::cpu_seconds(Op::conv_backward)) / a.steps;
    const double gemm_s = prof::seconds(Op::conv_gemm) / a.steps, gemm_cpu = prof::cpu_seconds(Op::conv_gemm) / a.steps;
    char buf[320];
    std::snprintf(buf, sizeof buf,
                  "\"conv_ms_per_step\": %.2f, \"conv_gflops\": %.2f, \"conv_gemm_gflops\": %.2f, "
                  "\"conv_cpu_ms_per_step\": %.2f, \"conv_gflops_per_cpu_s\": %.2f, \"conv_gemm_gflops_per_cpu_s\": %.2f, ",
                  conv_s * 1e3, flops / conv_s / 1e9, flops / gemm_s / 1e9, conv_cpu * 1e3, flops / conv_cpu / 1e9,
                  flops / gemm_cpu / 1e9);
    profiled = buf;
    const double mean = std::accumulate(ms.begin(), ms.end(), 0.0) / double(ms.size());
    const double cpu_mean = std::accumulate(cpu_ms.begin(), cpu_ms.end(), 0.0) / double(cpu_ms.size());
    std::fprintf(stderr, "tsgan %s, %d thread(s), %d steps, mean %.1f ms/step, %.1f CPU ms/step:\n%s",
                 a.config.c_str(), a.threads, a.steps, mean, cpu_mean, prof::report(a.steps, mean * 1e-3, cpu_mean * 1e-3).c_str());
  }
  std::printf("{\"framework\": \"tsgan\", \"config\": \"%s\", \"threads\": %d, \"ms_per_step\": %.2f, "
              "\"ms_min\": %.2f, \"ms_max\": %.2f, \"cpu_ms_per_step\": %.2f, \"gflops\": %.2f, \"peak_rss_mb\": %.1f, \"steps\": %d, "
              "\"warmup\": %d, \"seed\": %llu, \"gflop_per_step\": %.4f, \"system_allocations\": %zu, "
              "\"arena_growth_bytes\": %zu, %s\"loss_d\": %.5f, \"loss_g\": %.5f, \"gemm\": \"%s\", "
              "\"version\": \"tsgan %s\"}\n",
              a.config.c_str(), a.threads, median, sorted.front(), sorted.back(), cpu_median, flops / (median * 1e6),
              peak_rss_mb(), a.steps, a.warmup, static_cast<unsigned long long>(a.seed), flops / 1e9, made,
              arena_growth, profiled.c_str(), last.d, last.g, gemm_name().c_str(), tsgan::version_string);
  if (made != 0 || arena_growth != 0)
    std::fprintf(stderr, "tsgan-bench-pix2pix: the timed steps made %zu system allocations (arena grew by %zu bytes)\n",
                 made, arena_growth);
  return made == 0 && arena_growth == 0 ? 0 : 1;
}

template <class C>
int run(const Args& a) {
  if (a.layers) return print_layers<C>(a);
  tsgan::set_num_threads(a.threads);
  if (a.check_training) return check_training<C>(a);
  return bench<C>(a);
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  if (a.config == "small") return run<pix2pix::Small>(a);
  if (a.config == "paper") return run<pix2pix::Paper>(a);
  usage(("unknown config " + a.config).c_str());
}
