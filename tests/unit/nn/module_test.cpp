// Modules: parameters found without registration and named PyTorch-style, train/eval, layers'
// shapes and gradients, default initialisation.
#include <doctest/doctest.h>

#include <map>

#include "support.hpp"
#include "tsgan/autograd/gradcheck.hpp"
#include "tsgan/nn/init.hpp"
#include "tsgan/nn/layers.hpp"

using namespace tsgan;

namespace {
struct Block {
  nn::Conv2d<3, 8, 3, ConvOptions{.padding = 1}> conv;
  nn::LeakyReLU act{0.2};
  nn::Conv2d<8, 4, 1, ConvOptions{}, false> project;
};
struct Net {
  Block encoder;
  std::array<nn::Linear<4, 4>, 2> heads;
  nn::Sequential<nn::Linear<4, 3>, nn::Tanh, nn::Linear<3, 2, false>> tail;
  int not_a_module = 7;
  static constexpr std::array field_names{"encoder", "heads", "tail", "not_a_module"};
};
struct Settings {
  Settings() = default;  // not an aggregate; holds no parameters, and says so below
  int width = 3;
};
}  // namespace
template <>
struct tsgan::nn::not_a_module<Settings> : std::true_type {};

TEST_SUITE("nn.module") {
  TEST_CASE("parameters are found by walking the members and named PyTorch-style") {
    Net net;
    std::vector<std::string> names;
    nn::for_each_parameter(net, [&](const std::string& name, auto&) { names.push_back(name); });
    const std::vector<std::string> want{"encoder.0.weight", "encoder.0.bias", "encoder.2.weight",
                                        "heads.0.weight",   "heads.0.bias",   "heads.1.weight",
                                        "heads.1.bias",     "tail.0.weight",  "tail.0.bias",
                                        "tail.2.weight"};
    CHECK(names == want);
    CHECK(nn::parameter_count(net) == 8 * 3 * 9 + 8 + 4 * 8 + 2 * (16 + 4) + 4 * 3 + 3 + 3 * 2);
    nn::name_parameters(net, "g");
    CHECK(net.tail.get<2>().weight.name() == "g.tail.2.weight");
  }

  TEST_CASE("reset_parameters follows PyTorch's default bounds and is reproducible") {
    Net a, b;
    random::Generator g1(3), g2(3);
    nn::reset_parameters(a, g1);
    nn::reset_parameters(b, g2);
    const auto& w = a.encoder.conv.weight.value();
    const double bound = 1.0 / std::sqrt(3.0 * 9.0);
    double lo = 1, hi = -1;
    for (index_t i = 0; i < w.size; ++i) {
      lo = std::min(lo, double(w[i]));
      hi = std::max(hi, double(w[i]));
      REQUIRE(w[i] == b.encoder.conv.weight.value()[i]);
    }
    CHECK(lo >= -bound);
    CHECK(hi <= bound);
    CHECK(hi - lo > bound);  // spread over the range, not a constant
    random::Generator g(4);
    nn::init::normal_(a.heads[0].weight, g, 0.0, 0.02);
    nn::init::xavier_uniform_(a.heads[1].weight, g);
    static_assert(nn::init::fan_in<Shape<64, 4, 4, 4>>() == 64 && nn::init::fan_out<Shape<64, 4, 4, 4>>() == 1024);
  }

  TEST_CASE("a block runs forward with shapes from its types, and its gradients are right") {
    Block block;
    random::Generator gen(5);
    nn::reset_parameters(block, gen);
    const auto x = test::random_tensor<float, Shape<2, 3, 6, 6>>(6);
    Graph g;
    auto h = block.project(block.act(block.conv(g.input(x))));
    static_assert(std::is_same_v<typename decltype(h)::shape, Shape<2, 4, 6, 6>>);

    struct DBlock {
      nn::Conv2d<2, 3, 3, ConvOptions{.stride = 2, .padding = 1}, true, double> conv;
      nn::Linear<3, 2, true, double> fc;
    } d;
    nn::name_parameters(d);
    random::Generator gd(7);
    nn::reset_parameters(d, gd);
    const auto xd = test::random_tensor<double, Shape<2, 2, 5, 5>>(8);
    const auto r = gradcheck_params([&](Graph& graph) {
      auto y = d.conv(graph.input(xd));
      auto pooled = mean<Axes<2, 3>>(y);  // [2, 3]
      return d.fc(pooled);
    }, d.conv.weight, d.conv.bias, d.fc.weight, d.fc.bias);
    CHECK_MESSAGE(r.ok, r.message);
  }

  TEST_CASE("layers take expressions over Vars, evaluating them first; activations fuse them") {
    nn::Linear<3, 2> fc;
    nn::LeakyReLU leaky{0.2};
    random::Generator gen(9);
    nn::reset_parameters(fc, gen);
    Tensor<float, Shape<2, 3>> x;
    for (index_t i = 0; i < x.size; ++i) x[i] = float(i) - 2.5f;
    Graph g;
    auto v = g.variable(x.clone());
    auto direct = fc(relu(v));  // an expression, evaluated by the layer
    auto evaluated = fc(eval(relu(v)));
    for (index_t i = 0; i < direct.size; ++i) CHECK(direct.value()[i] == evaluated.value()[i]);
    auto a = leaky(v * 2.0f);
    CHECK(a.value()(0, 0) == doctest::Approx(0.2f * 2 * -2.5f));
    CHECK(a.value()(1, 2) == doctest::Approx(2 * 2.5f));
    eval(sum(direct)).backward();
    CHECK(fc.weight.has_grad());
    CHECK(v.grad()(0, 0) == 0.f);  // relu's gradient below zero
  }

  TEST_CASE("std::string and declared types inside a module are walked past") {
    struct Named {
      std::string label = "head";
      Settings settings;
      nn::Linear<2, 2> fc;
    };
    Named n;
    CHECK(nn::parameter_count(n) == 6);
  }
}
