// CUDA graphs (kernels/cuda/graph.cuh): a captured training step, replayed, gives the parameters
// an eager run gives; replays allocate nothing; a capture that would need new memory fails with a
// message and leaves the stream usable. GPU-only: every case skips itself without a device.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>

#include "support.hpp"
#include "tsgan/nn/layers.hpp"
#include "tsgan/nn/norm.hpp"
#include "tsgan/ops/losses.hpp"
#include "tsgan/optim/adam.hpp"

using namespace tsgan;

namespace {

// A little encoder-decoder with every kind of node a pix2pix step has: convolution, batch norm,
// fused activations, transposed convolution with bias, a reduction loss, Adam.
struct Tiny {
  nn::Conv2d<3, 8, 4, ConvOptions{.stride = 2, .padding = 1}, false, float, cuda> conv;
  nn::BatchNorm2d<8, float, cuda> bn;
  nn::ConvTranspose2d<8, 3, 4, ConvTransposeOptions{.stride = 2, .padding = 1}, true, float, cuda> up;
  static constexpr std::array field_names{"conv", "bn", "up"};
};

using X = Shape<4, 3, 16, 16>;

struct Trainer {
  Tiny model;
  optim::Adam<float, cuda> opt;
  Tensor<float, X, cuda> input, target;
  Tensor<float, Shape<>, cuda> loss;  // outlives each step's graph: what a replay leaves to read

  Trainer() : opt(init(model), {.lr = 1e-2, .beta1 = 0.5, .beta2 = 0.999}) {
    input = test::random_tensor<float, X, cuda>(11);
    target = test::random_tensor<float, X, cuda>(12);
  }
  static Tiny& init(Tiny& m) {
    nn::name_parameters(m);
    random::Generator gen(5);
    nn::reset_parameters(m, gen);
    return m;
  }

  void step() {
    Graph g;
    nn::zero_grad(model);
    auto h = model.bn(model.conv(g.input(input)));
    auto a = eval(leaky_relu(h, 0.2));
    auto y = model.up(a);
    auto l = l1_loss(tanh(y), target);
    l.backward();
    opt.step();
    loss.copy_from(l.value());
  }
};

template <class P>
void check_same(const P& a, const P& b, const std::string& what) {
  const auto ha = a.value().template to<cpu>();
  const auto hb = b.value().template to<cpu>();
  // The same kernels in the same order on the same data: expected to be identical bits; the
  // tolerance only keeps a rounding-level surprise from hiding the real question (stale pointers
  // or frozen scalars would be off by far more).
  test::check_all(hb, [&](index_t i) { return ha[i]; }, 1e-6, 1e-7, what);
}

}  // namespace

TEST_SUITE("cuda.graph") {
  TEST_CASE("a replayed training step gives the parameters of an eager step") {
    TSGAN_SKIP_UNAVAILABLE(cuda);
    Trainer eager, graphed;
    for (int i = 0; i < 4; ++i) eager.step();

    CudaGraph graph;
    graph.capture([&] { graphed.step(); });  // one eager warm-up step, then the recording
    CHECK(graph.captured());
    CHECK(graph.nodes() > 10);
    const auto before = allocator<cuda>().stats().system_allocations;
    for (int i = 0; i < 3; ++i) graph.replay();  // steps 2, 3, 4
    cuda_context().synchronize();
    CHECK(allocator<cuda>().stats().system_allocations == before);

    check_same(eager.model.conv.weight, graphed.model.conv.weight, "conv.weight");
    check_same(eager.model.bn.weight, graphed.model.bn.weight, "bn.weight");
    check_same(eager.model.bn.bias, graphed.model.bn.bias, "bn.bias");
    check_same(eager.model.up.weight, graphed.model.up.weight, "up.weight");
    check_same(eager.model.up.bias, graphed.model.up.bias, "up.bias");
    test::check_all(graphed.model.bn.running_mean.to<cpu>(),
                    [&, m = eager.model.bn.running_mean.to<cpu>()](index_t i) { return m[i]; }, 1e-6, 1e-7,
                    "bn.running_mean");
    test::check_all(graphed.loss.to<cpu>(), [&, l = eager.loss.to<cpu>()](index_t) { return l[0]; }, 1e-6, 1e-7, "loss");
    // Adam's step count advanced on the GPU with every replay.
    graphed.opt.for_each_state([](const std::string& name, std::int64_t& step, float*, float*, index_t) {
      CAPTURE(name);
      CHECK(step == 4);
    });
  }

  TEST_CASE("a capture that needs new memory fails and leaves the stream usable") {
    TSGAN_SKIP_UNAVAILABLE(cuda);
    CudaGraph graph;
    CHECK_THROWS_WITH_AS(graph.capture([] { Tensor<float, Shape<3, 123456789>, cuda> fresh; }, 0),
                         doctest::Contains("private pool is active"), Error);
    CHECK_FALSE(graph.captured());
    Tensor<float, Shape<5>, cuda> t(2.f);
    CHECK(t.to<cpu>()[4] == 2.f);
  }
}
