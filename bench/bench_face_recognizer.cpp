// Face descriptors per second of the face recognizer (dlib's ResNet, models/face_recognizer.hpp)
// on the CPU: the network on preprocessed 150x150 input (embed_preprocessed, no tape), batches of
// 1 and 32, at 1 and 2 threads. Needs the models (scripts/fetch-face-models.sh); without them it
// says so and exits. Results: docs/performance.md.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "tsgan/models/face_recognizer.hpp"

namespace {

using Net = tsgan::models::FaceRecognizer<float>;

Net& net() {
  static std::unique_ptr<Net> n = [] {
    const auto dir = tsgan::io::face_models_dir();
    if (!dir) {
      std::fprintf(stderr, "tsgan-bench-face: the face models are absent; run scripts/fetch-face-models.sh\n");
      std::exit(1);
    }
    return std::make_unique<Net>(*dir);
  }();
  return *n;
}

template <tsgan::index_t B>
void BM_embed(benchmark::State& state) {
  tsgan::set_num_threads(static_cast<int>(state.range(0)));
  Net& n = net();
  tsgan::random::Generator gen(1);
  // Normalised input: (byte - mean) / 255 lies in about [-0.5, 0.6].
  const tsgan::Tensor<float, Net::Input<B>> input = tsgan::random::uniform<Net::Input<B>, float>(gen, -0.5f, 0.6f);
  for (auto _ : state) {
    auto e = n.embed_preprocessed(input);
    benchmark::DoNotOptimize(e.data());
  }
  state.SetItemsProcessed(state.iterations() * B);
  state.counters["threads"] = static_cast<double>(state.range(0));
}

BENCHMARK(BM_embed<1>)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_embed<32>)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
