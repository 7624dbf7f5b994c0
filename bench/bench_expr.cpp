// Fused elementwise expressions over 16 M floats: tsgan's expression against a hand-written loop,
// Eigen's own array expression and a plain copy loop (the bandwidth ceiling), at 1 and 2 threads.
// Bandwidth counts the bytes each version must move: 4 inputs and 1 output for the expression,
// 1 input and 1 output for the copy. Results: docs/performance.md.
#include <benchmark/benchmark.h>

#include <Eigen/Core>

#include "tsgan/tsgan.hpp"

namespace {

constexpr tsgan::index_t N = 1 << 24;
using S = tsgan::Shape<N>;

struct Inputs {
  tsgan::Tensor<float, S> a, b, c, d, y;
  Inputs() {
    tsgan::random::Generator g(1);
    a = tsgan::random::normal<S>(g);
    b = tsgan::random::normal<S>(g);
    c = tsgan::random::normal<S>(g);
    d = tsgan::random::normal<S>(g);
  }
};

Inputs& inputs() {
  static Inputs in;
  return in;
}

void set_threads(benchmark::State& state) { tsgan::set_num_threads(static_cast<int>(state.range(0))); }

// The five ops: mul, add, relu, mul, sub.
void BM_tsgan_fused(benchmark::State& state) {
  set_threads(state);
  auto& in = inputs();
  for (auto _ : state) {
    in.y = tsgan::relu(in.a * in.b + in.c) * in.d - 0.5f;
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * N * 5 * sizeof(float));
}

void BM_hand_loop(benchmark::State& state) {
  set_threads(state);
  auto& in = inputs();
  const float *a = in.a.data(), *b = in.b.data(), *c = in.c.data(), *d = in.d.data();
  float* y = in.y.data();
  for (auto _ : state) {
#pragma omp parallel for simd schedule(static) num_threads(static_cast<int>(state.range(0)))
    for (tsgan::index_t i = 0; i < N; ++i) y[i] = std::max(a[i] * b[i] + c[i], 0.f) * d[i] - 0.5f;
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * N * 5 * sizeof(float));
}

// Eigen evaluates coefficient-wise expressions on one thread.
void BM_eigen_array(benchmark::State& state) {
  auto& in = inputs();
  using Map = Eigen::Map<Eigen::ArrayXf>;
  Map a(in.a.data(), N), b(in.b.data(), N), c(in.c.data(), N), d(in.d.data(), N), y(in.y.data(), N);
  for (auto _ : state) {
    y = (a * b + c).max(0.f) * d - 0.5f;
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * N * 5 * sizeof(float));
}

void BM_copy_loop(benchmark::State& state) {
  set_threads(state);
  auto& in = inputs();
  const float* a = in.a.data();
  float* y = in.y.data();
  for (auto _ : state) {
#pragma omp parallel for simd schedule(static) num_threads(static_cast<int>(state.range(0)))
    for (tsgan::index_t i = 0; i < N; ++i) y[i] = a[i];
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * N * 2 * sizeof(float));
}

// A heavier expression: tanh and exp are computed with SIMD polynomials.
void BM_tsgan_transcendental(benchmark::State& state) {
  set_threads(state);
  auto& in = inputs();
  for (auto _ : state) {
    in.y = tsgan::tanh(in.a * in.b + in.c) * tsgan::exp(-tsgan::abs(in.d));
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * N * 5 * sizeof(float));
}

}  // namespace

BENCHMARK(BM_copy_loop)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_hand_loop)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_eigen_array)->Arg(1)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_tsgan_fused)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_tsgan_transcendental)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
