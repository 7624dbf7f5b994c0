// The tsgan half of the module exchange with PyTorch (driven by run_module_torch.cmake): builds a
// small network of every layer kind with PyTorch-style names, moves its batch-norm statistics
// with two training-mode passes, and writes the module's checkpoint plus an input and the
// network's eval-mode output. module_torch.py loads the checkpoint into the same network written
// in PyTorch (load_state_dict, strict) and compares its forward pass.
#include <fmt/core.h>

#include "tsgan/expr/random_expr.hpp"
#include "tsgan/nn/checkpoint.hpp"
#include "tsgan/nn/init.hpp"
#include "tsgan/nn/layers.hpp"
#include "tsgan/nn/norm.hpp"
#include "tsgan/ops/pool.hpp"

using namespace tsgan;

struct Net {
  nn::Conv2d<3, 8, 3, ConvOptions{.stride = 2, .padding = 1}> conv;
  nn::BatchNorm2d<8> norm;
  nn::ConvTranspose2d<8, 4, 4, ConvTransposeOptions{.stride = 2, .padding = 1}, false> up;
  nn::Linear<4, 5> fc;
  static constexpr std::array field_names{"conv", "norm", "up", "fc"};

  template <index_t N>
  auto operator()(const Var<float, Shape<N, 3, 12, 12>>& x) {
    const auto h = conv(x);
    const Var<float, typename decltype(h)::shape> a = relu(norm(h));
    const auto u = up(a);
    const Var<float, typename decltype(u)::shape> b = leaky_relu(u, 0.2);
    return fc(global_avg_pool2d(b));
  }
};

int main(int argc, char** argv) {
  if (argc != 3) {
    fmt::print(stderr, "usage: module_interop CHECKPOINT IO_FILE\n");
    return 2;
  }
  Net net;
  random::Generator gen(17);
  nn::reset_parameters(net, gen);
  nn::init::normal_(net.norm.weight, gen, 1.0, 0.3);
  nn::init::normal_(net.norm.bias, gen, 0.0, 0.3);
  Tensor<float, Shape<4, 3, 12, 12>> x = random::normal<Shape<4, 3, 12, 12>>(gen, 0.5f, 2.f);
  for (int pass = 0; pass < 2; ++pass) {  // training mode: running statistics move
    Graph g;
    net(g.input(x));
  }
  nn::eval(net);
  Graph g;
  const auto y = net(g.input(x));
  nn::save(argv[1], net);
  io::safetensors::Writer io;
  io.add("input", x);
  io.add("output", y.value());
  io.write(argv[2]);
  fmt::print("wrote {} and {}\n", argv[1], argv[2]);
  return 0;
}
