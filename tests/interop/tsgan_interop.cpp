// The tsgan half of the TSGAN parity check with PyTorch (driven by run_tsgan_torch.cmake; the other
// half is tsgan_torch.py, which runs bench/reference/tsgan.py). For TSGAN<config::Tiny> in double
// (prefix f64) and in float with one generator step per train_step (f32) it writes, into DIR:
//   <p>_init.safetensors   the checkpoint of a freshly seeded model (every network, Adam, the config)
//   <p>_after.safetensors  its checkpoint after one train_step (weights, batch-norm statistics and
//                          Adam moments after one discriminator and two generator steps)
//   <p>_io.safetensors     the batch (batch.profile, .mask, .frontal, .identity), Î_d and Î_f of
//                          restore() before and after the step (before.*, after.*), every loss term
//                          of the step (loss.<name>, F64) and every parameter's gradient as the step
//                          left it (grad.<name>: D_d and D_f from the discriminator step, G_d and
//                          G_f from the last generator step)
// and into both io files the chip → crop maps of RecognizerChip<S> for
// S = 32, 64, 128 (chip.<S> = [a, tx, ty]), which the PyTorch model of Small and Paper hard-codes.
//
//   tsgan_interop DIR
#include <fmt/core.h>

#include <filesystem>

#include "tsgan/models/tsgan.hpp"

using namespace tsgan;

namespace {

struct TinyDouble : config::Tiny {
  using value_type = double;
};
// In float, one generator step per train_step: the second generator step's gradients follow Adam's
// first update of G, lr·g/(|g| + ε), which is ±lr for every element whose gradient is far above ε,
// however small, so an element whose float gradient is rounding noise moves by lr in either
// direction. PyTorch in float against PyTorch in double differs by 7.5 % in those gradients; in
// the first generator step by 1.7e-4. The double run keeps Tiny's two generator steps.
struct TinyOneGeneratorStep : config::Tiny {
  static constexpr int generator_steps = 1;
};

// Uniform images and one rectangular occlusion per item, at a different place in each, so that
// every mask-attention level sees occluded, visible and partly occluded cells. Identities repeat
// (3, 3, 5, 8) so that the dual triplet loss's batch roll skips an item of the same identity.
template <class C>
Batch<C> fixed_batch(std::uint64_t seed) {
  using T = typename C::value_type;
  constexpr index_t B = C::batch, S = C::image_size;
  random::Generator g(seed);
  const Tensor<float, Shape<B, 3, S, S>> profile = random::uniform<Shape<B, 3, S, S>>(g);
  const Tensor<float, Shape<B, 3, S, S>> frontal = random::uniform<Shape<B, 3, S, S>>(g);
  Batch<C> out;
  for (index_t i = 0; i < profile.size; ++i) {
    out.profile[i] = T(profile[i]);
    out.frontal[i] = T(frontal[i]);
  }
  for (index_t b = 0; b < B; ++b)
    for (index_t y = 0; y < S; ++y)
      for (index_t x = 0; x < S; ++x) {
        const bool hidden = y >= 3 + 4 * b && y < 15 + 4 * b && x >= 5 + 3 * b && x < 19 + 3 * b;
        out.mask[(b * S + y) * S + x] = hidden ? T(1) : T(0);
      }
  out.identity = {3, 3, 5, 8};
  return out;
}

template <index_t S>
void add_chip_map(io::safetensors::Writer& io) {
  const align::Similarity m = models::RecognizerChip<S, double>().chip_to_crop_map();  // a copy: the chip is a temporary
  Tensor<double, Shape<3>> values(uninitialized);
  values[0] = m.a;
  values[1] = m.tx;
  values[2] = m.ty;
  io.add(fmt::format("chip.{}", S), values);
}

template <class C>
void write(const std::filesystem::path& dir, const std::string& prefix) {
  using T = typename C::value_type;
  TSGAN<C> model(7);
  const Batch<C> batch = fixed_batch<C>(11);
  model.save(dir / (prefix + "_init.safetensors"));

  io::safetensors::Writer io;
  io.add("batch.profile", batch.profile);
  io.add("batch.mask", batch.mask);
  io.add("batch.frontal", batch.frontal);
  io.add_bytes("batch.identity", io::safetensors::Dtype::I64, {C::batch},
               std::as_bytes(std::span(batch.identity)));
  const Tensor<T, Shape<C::batch, 3, C::image_size, C::image_size>> occluded = batch.profile * (T(1) - batch.mask);
  auto before = model.restore(occluded, batch.mask);
  io.add("before.deoccluded", before.deoccluded);
  io.add("before.frontal", before.frontal);

  const StepLosses losses = model.train_step(batch);
  for (const auto& [name, value] : losses.terms())
    io.add_bytes("loss." + name, io::safetensors::Dtype::F64, {}, std::as_bytes(std::span(&value, 1)));
  int grads = 0;
  nn::for_each_parameter(model.networks(), [&](const std::string& name, auto& p) {
    if (!p.has_grad()) return;
    io.add("grad." + name, p.grad());
    ++grads;
  });
  add_chip_map<32>(io);
  add_chip_map<64>(io);
  add_chip_map<128>(io);
  auto after = model.restore(occluded, batch.mask);
  io.add("after.deoccluded", after.deoccluded);
  io.add("after.frontal", after.frontal);
  io.write(dir / (prefix + "_io.safetensors"));
  model.save(dir / (prefix + "_after.safetensors"));
  fmt::print("{}: wrote the step's {} loss terms and {} gradients; L_G = {:.17g}\n", prefix, losses.terms().size(),
             grads, losses.generator);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    fmt::print(stderr, "usage: tsgan_interop DIR\n");
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);
  write<TinyDouble>(dir, "f64");
  write<TinyOneGeneratorStep>(dir, "f32");
  return 0;
}
