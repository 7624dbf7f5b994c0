// tsgan-bench-pix2pix-gpu: the pix2pix benchmark workload (bench-workload.md in the design notes,
// bench/flops.py, bench/reference/pix2pix.py) trained on the GPU, step by step (eager) or as one
// CUDA graph per step.
//
//   tsgan-bench-pix2pix-gpu --config paper --mode eager --steps 20
//   tsgan-bench-pix2pix-gpu --config paper --batch 64 --mode graph --tf32 1
//
// Prints, as its last line, the JSON object bench/reference/pix2pix.py prints ("framework":
// "tsgan"), plus the GPU's keys: device, mode, batch, tf32, peak_device_mb (the caching
// allocator's peak in use), reserved_device_mb (in use plus cached at the end). The FLOP count is
// flops.py's: only convolutions, forward 2·N·Cout·Hout·Wout·Cin·k², the D step's first layer
// without an input gradient, D's weights frozen in the G step.
//
// The network follows pix2pix.py layer by layer: U-Net generator (encoder conv(4, 2, 1) with
// batch norm from the second level, LeakyReLU 0.2; decoder convT(4, 2, 1), batch norm, ReLU,
// concatenation with the encoder level of the same size; tanh at the end), PatchGAN
// discriminator on cat(condition, image); D step on the detached fake and the real image, G step
// with BCE + 100·L1; Adam(1e-4, 0.5, 0.999); batch norm in training mode; float32.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "tsgan/tsgan.hpp"
#include "tsgan/nn/init.hpp"
#include "tsgan/nn/layers.hpp"
#include "tsgan/nn/norm.hpp"
#include "tsgan/ops/ops.hpp"
#include "tsgan/ops/losses.hpp"
#include "tsgan/optim/adam.hpp"

using namespace tsgan;

namespace {

using T = float;
using Dev = cuda;
constexpr ConvOptions down{.stride = 2, .padding = 1};
constexpr ConvTransposeOptions up{.stride = 2, .padding = 1};

constexpr int log2i(index_t v) {
  int l = 0;
  while ((index_t{1} << l) < v) ++l;
  return l;
}

template <index_t Size, index_t Batch, index_t Base>
struct Config {
  static constexpr index_t size = Size, batch = Batch, base = Base;
  static constexpr int levels = log2i(Size);
  static_assert((index_t{1} << levels) == Size, "the U-Net needs a power-of-two image size");
  // Channels of encoder level i (1-based): base, 2 base, 4 base, 8 base, 8 base, ...
  static constexpr index_t ch(int i) { return std::min(base << (i - 1), 8 * base); }
};

struct NoInner {};

// U-Net level I (2 <= I <= L): reads the output of level I − 1 (channels ch(I − 1)) and returns
// cat(dec_I(...), its input), channels 2·ch(I − 1).
template <class C, int I>
struct Level {
  static constexpr index_t cin = C::ch(I - 1), cout = C::ch(I);
  static constexpr bool innermost = I == C::levels;
  static constexpr index_t dec_in = innermost ? cout : 2 * cout;
  nn::Conv2d<cin, cout, 4, down, false, T, Dev> enc;
  nn::BatchNorm2d<cout, T, Dev> enc_bn;
  std::conditional_t<innermost, NoInner, Level<C, I + 1>> inner;
  nn::ConvTranspose2d<dec_in, cin, 4, up, false, T, Dev> dec;
  nn::BatchNorm2d<cin, T, Dev> dec_bn;

  template <ShapeType S>
  auto operator()(const Var<T, S, Dev>& x) {
    const auto e = eval(leaky_relu(enc_bn(enc(x)), 0.2));
    const auto d = [&] {
      if constexpr (innermost) return eval(relu(dec_bn(dec(e))));
      else return eval(relu(dec_bn(dec(inner(e)))));
    }();
    return concat<1>(d, x);
  }
};

template <class C>
struct Generator {
  nn::Conv2d<4, C::ch(1), 4, down, true, T, Dev> enc1;
  Level<C, 2> inner;
  nn::ConvTranspose2d<2 * C::ch(1), 3, 4, up, true, T, Dev> dec1;

  template <ShapeType S>
  auto operator()(const Var<T, S, Dev>& x) {
    const auto e1 = eval(leaky_relu(enc1(x), 0.2));
    return eval(tanh(dec1(inner(e1))));
  }
};

template <class C>
struct Discriminator {
  static constexpr index_t b = C::base;
  nn::Conv2d<7, b, 4, down, true, T, Dev> d1;
  nn::Conv2d<b, 2 * b, 4, down, false, T, Dev> d2;
  nn::BatchNorm2d<2 * b, T, Dev> bn2;
  nn::Conv2d<2 * b, 4 * b, 4, down, false, T, Dev> d3;
  nn::BatchNorm2d<4 * b, T, Dev> bn3;
  nn::Conv2d<4 * b, 8 * b, 4, ConvOptions{.stride = 1, .padding = 1}, false, T, Dev> d4;
  nn::BatchNorm2d<8 * b, T, Dev> bn4;
  nn::Conv2d<8 * b, 1, 4, ConvOptions{.stride = 1, .padding = 1}, true, T, Dev> d5;

  template <ShapeType S>
  auto operator()(const Var<T, S, Dev>& x) {
    const auto h1 = eval(leaky_relu(d1(x), 0.2));
    const auto h2 = eval(leaky_relu(bn2(d2(h1)), 0.2));
    const auto h3 = eval(leaky_relu(bn3(d3(h2)), 0.2));
    const auto h4 = eval(leaky_relu(bn4(d4(h3)), 0.2));
    return d5(h4);
  }
};

// pix2pix's 'normal' initialisation: conv weights N(0, 0.02), batch-norm weights N(1, 0.02),
// biases 0.
template <class M>
void init_weights(M& m, random::Generator& gen) {
  nn::for_each_parameter(m, [&](const std::string& name, auto& p) {
    using P = std::remove_cvref_t<decltype(p)>;
    if (name.ends_with("bias")) nn::init::constant_(p, 0.0);
    else if constexpr (P::shape::rank == 4) nn::init::normal_(p, gen, 0.0, 0.02);
    else nn::init::normal_(p, gen, 1.0, 0.02);
  });
}

// bench/flops.py's count of one training step.
template <class C>
double step_flops() {
  const double n = double(C::batch), kk = 16;
  double total = 0;
  index_t h = C::size;
  // Generator encoder: 1 forward, 1 weight gradient, 1 input gradient (none for enc1).
  index_t cin = 4;
  for (int i = 1; i <= C::levels; ++i) {
    const index_t ho = h / 2, cout = C::ch(i);
    const double f = 2 * n * double(cout) * double(ho * ho) * double(cin) * kk;
    total += f * (i == 1 ? 2 : 3);
    cin = cout;
    h = ho;
  }
  // Generator decoder (transposed): F = 2·N·Cin·Hin·Win·Cout·k², 3 passes each.
  for (int i = C::levels; i >= 1; --i) {
    const index_t in = i == C::levels ? C::ch(C::levels) : 2 * C::ch(i);
    const index_t out = i == 1 ? 3 : C::ch(i - 1);
    total += 3 * 2 * n * double(in) * double(h * h) * double(out) * kk;
    h *= 2;
  }
  // Discriminator: 3 forward, 2 weight gradients, 3 input gradients (1 for d1).
  const index_t b = C::base;
  const index_t chans[6] = {7, b, 2 * b, 4 * b, 8 * b, 1};
  const index_t strides[5] = {2, 2, 2, 1, 1};
  h = C::size;
  for (int l = 0; l < 5; ++l) {
    const index_t ho = (h + 2 - 4) / strides[l] + 1;
    const double f = 2 * n * double(chans[l + 1]) * double(ho * ho) * double(chans[l]) * kk;
    total += f * (l == 0 ? 6 : 8);
    h = ho;
  }
  return total;
}

struct Options {
  std::string config = "paper";
  std::string mode = "eager";
  index_t batch = 0;  // 0: the config's
  int steps = 20, warmup = 3;
  std::uint64_t seed = 0;
  bool tf32 = true;
};

template <class C>
int run(const Options& o) {
  using X = Shape<C::batch, 4, C::size, C::size>;
  using Img = Shape<C::batch, 3, C::size, C::size>;
  set_tf32(o.tf32);
  auto& ctx = cuda_context();
  auto& alloc = allocator<cuda>();

  Generator<C> G;
  Discriminator<C> D;
  random::Generator gen(o.seed);
  init_weights(G, gen);
  init_weights(D, gen);
  nn::name_parameters(G, "G");
  nn::name_parameters(D, "D");
  optim::Adam<T, Dev> opt_g(G, {.lr = 1e-4, .beta1 = 0.5, .beta2 = 0.999});
  optim::Adam<T, Dev> opt_d(D, {.lr = 1e-4, .beta1 = 0.5, .beta2 = 0.999});

  // One fixed batch: RGB in [-1, 1] plus a 0/1 occlusion mask, and the target image.
  Tensor<T, X, Dev> x(uninitialized);
  x.template channels<3>(0) = random::uniform<Shape<C::batch, 3, C::size, C::size>, T, Dev>(gen, T(-1), T(1));
  x.template channels<1>(3) = random::uniform<Shape<C::batch, 1, C::size, C::size>, T, Dev>(gen, T(0), T(1)) > T(0.7);
  const Tensor<T, Img, Dev> real = random::uniform<Img, T, Dev>(gen, T(-1), T(1));
  Tensor<T, Shape<>, Dev> loss_d_out, loss_g_out;

  auto step = [&] {
    Graph gg;  // the generator's forward and the G step
    auto xv = gg.input(x);
    auto rv = gg.input(real);
    auto fake = G(xv);
    {  // D step on the detached fake and the real image
      nn::unfreeze(D);
      nn::zero_grad(D);
      Graph gd;
      auto xd = gd.input(x);
      auto fd = gd.input(fake.value());
      auto lf = D(concat<1>(xd, fd));
      auto lr = D(concat<1>(xd, gd.input(real)));
      auto loss_d = eval((bce_with_logits(lf, 0.0) + bce_with_logits(lr, 1.0)) * 0.5);
      loss_d.backward();
      opt_d.step();
      loss_d_out.copy_from(loss_d.value());
    }
    // G step: D frozen, only its input gradients flow back to G.
    nn::freeze(D);
    nn::zero_grad(G);
    auto logit = D(concat<1>(xv, fake));
    auto loss_g = eval(bce_with_logits(logit, 1.0) + l1_loss(fake, rv) * 100.0);
    loss_g.backward();
    opt_g.step();
    loss_g_out.copy_from(loss_g.value());
  };

  for (int i = 0; i < o.warmup; ++i) step();
  ctx.synchronize();
  CudaGraph graph;
  if (o.mode == "graph") graph.capture(step, 0);  // the warm-up steps filled every cache
  alloc.reset_peak();

  std::vector<double> times;
  for (int i = 0; i < o.steps; ++i) {
    ctx.synchronize();
    const auto t0 = std::chrono::steady_clock::now();
    if (o.mode == "graph") graph.replay();
    else step();
    ctx.synchronize();
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::vector<double> sorted = times;
  std::sort(sorted.begin(), sorted.end());
  const std::size_t k = sorted.size();
  const double median = k % 2 ? sorted[k / 2] : 0.5 * (sorted[k / 2 - 1] + sorted[k / 2]);
  const double flops = step_flops<C>();
  const auto stats = alloc.stats();
  const double loss_d = loss_d_out.template to<cpu>()[0], loss_g = loss_g_out.template to<cpu>()[0];
  const double rss_mb = [] {
    std::FILE* f = std::fopen("/proc/self/status", "r");
    double mb = 0;
    char line[256];
    while (f && std::fgets(line, sizeof line, f))
      if (std::string(line).starts_with("VmHWM:")) mb = std::atof(line + 6) / 1024;
    if (f) std::fclose(f);
    return mb;
  }();
  fmt::print(
      "{{\"framework\": \"tsgan\", \"config\": \"{}\", \"threads\": 1, \"ms_per_step\": {:.3f}, \"ms_min\": {:.3f}, "
      "\"ms_max\": {:.3f}, \"gflops\": {:.3f}, \"peak_rss_mb\": {:.1f}, \"steps\": {}, \"warmup\": {}, \"seed\": {}, "
      "\"gflop_per_step\": {:.4f}, \"loss_d\": {:.5f}, \"loss_g\": {:.5f}, \"version\": \"tsgan {}\", "
      "\"device\": \"{}\", \"mode\": \"{}\", \"batch\": {}, \"tf32\": {}, \"peak_device_mb\": {:.1f}, "
      "\"reserved_device_mb\": {:.1f}, \"graph_nodes\": {}}}\n",
      o.config, median, sorted.front(), sorted.back(), flops / (median * 1e6), rss_mb, o.steps, o.warmup, o.seed,
      flops / 1e9, loss_d, loss_g, version_string, ctx.device_name(), o.mode, C::batch, o.tf32 ? "true" : "false",
      double(stats.peak_bytes_in_use) / (1 << 20), double(stats.bytes_in_use + stats.bytes_cached) / (1 << 20),
      graph.nodes());
  return 0;
}

[[noreturn]] void usage(const std::string& problem) {
  std::fprintf(stderr,
               "tsgan-bench-pix2pix-gpu: %s\n"
               "usage: tsgan-bench-pix2pix-gpu [--config small|paper] [--batch N] [--mode eager|graph]\n"
               "                               [--steps K] [--warmup W] [--seed S] [--tf32 0|1] [--threads N]\n"
               "  batches compiled in: small 4; paper 6 and 64\n",
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
    else if (a == "--mode") o.mode = value();
    else if (a == "--batch") o.batch = std::stoll(value());
    else if (a == "--steps") o.steps = std::stoi(value());
    else if (a == "--warmup") o.warmup = std::stoi(value());
    else if (a == "--seed") o.seed = std::stoull(value());
    else if (a == "--tf32") o.tf32 = value() != "0";
    else if (a == "--threads") (void)value();  // the host side is one thread; accepted for the runner
    else usage("unknown argument " + a);
  }
  if (o.mode != "eager" && o.mode != "graph") usage("--mode is eager or graph");
  if (o.steps < 1 || o.warmup < 1) usage("--steps and --warmup must be at least 1 (graph mode captures after the warm-up)");
  if (!cuda_available()) {
    std::fprintf(stderr, "tsgan-bench-pix2pix-gpu: no CUDA device\n");
    return 1;
  }
  try {
    if (o.config == "small" && (o.batch == 0 || o.batch == 4)) return run<Config<64, 4, 32>>(o);
    if (o.config == "paper" && (o.batch == 0 || o.batch == 6)) return run<Config<128, 6, 64>>(o);
    if (o.config == "paper" && o.batch == 64) return run<Config<128, 64, 64>>(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tsgan-bench-pix2pix-gpu: %s\n", e.what());
    return 1;
  }
  usage("no such config and batch compiled in");
}
