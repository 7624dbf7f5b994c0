// Dropout: the kept fraction and the independence of masks (statistics over 65536 elements, 5σ
// bounds), kept values scaled by exactly 1 / (1 − p), determinism for a seed, the identity in eval
// mode, gradients (the mask times the scale; finite differences in double with a fixed seed), the
// nn::Dropout layer's train/eval switch, and bad probabilities. Templated over the device: the GPU's
// mask is the CPU's, bit for bit.
#include <doctest/doctest.h>

#include <cmath>

#include "support.hpp"
#include "tsgan/autograd/gradcheck.hpp"
#include "tsgan/nn/layers.hpp"
#include "tsgan/ops/dropout.hpp"

using namespace tsgan;

namespace {

using Big = Shape<64, 1024>;

template <class D>
Tensor<float, Big> dropped_ones(double p, random::Generator& gen) {
  Graph g;
  return dropout(g.input(Tensor<float, Big, D>(1.f)), p, gen).value().template to<cpu>();
}

}  // namespace

TEST_SUITE("ops.dropout") {
  TEST_CASE_TEMPLATE("dropout keeps 1 − p of the elements, scaled by 1 / (1 − p), with independent masks", D,
                     TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    for (double p : {0.1, 0.3, 0.5, 0.9}) {
      CAPTURE(p);
      random::Generator gen(42);
      const auto a = dropped_ones<D>(p, gen);
      const auto b = dropped_ones<D>(p, gen);  // the generator moved on: a new mask
      const float scale = float(1 / (1 - p));
      double kept = 0, both = 0;
      index_t odd = 0;
      for (index_t i = 0; i < Big::size; ++i) {
        if (a[i] != 0.f && a[i] != scale) ++odd;
        kept += a[i] != 0.f;
        both += a[i] != 0.f && b[i] != 0.f;
      }
      CHECK(odd == 0);
      const double n = double(Big::size), q = 1 - p;
      CHECK(std::abs(kept / n - q) <= 5 * std::sqrt(q * p / n));
      // Independent masks keep an element in both with probability q².
      CHECK(std::abs(both / n - q * q) <= 5 * std::sqrt(q * q * (1 - q * q) / n));
    }
  }

  TEST_CASE_TEMPLATE("dropout is deterministic for a seed and the same on every device", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    random::Generator g1(7), g2(7), g3(8), on_cpu(7);
    const auto a = dropped_ones<D>(0.5, g1);
    const auto b = dropped_ones<D>(0.5, g2);
    const auto c = dropped_ones<D>(0.5, g3);
    const auto host = dropped_ones<cpu>(0.5, on_cpu);
    index_t differ = 0;
    for (index_t i = 0; i < Big::size; ++i) {
      REQUIRE(a[i] == b[i]);
      REQUIRE(a[i] == host[i]);
      differ += a[i] != c[i];
    }
    CHECK(differ > Big::size / 4);  // another seed, another mask (half the elements differ)
  }

  TEST_CASE_TEMPLATE("dropout: eval mode and p = 0 are the identity, p = 1 gives zeros, gradients are mask · scale", D,
                     TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    const auto x = test::random_tensor<double, Shape<3, 50>>(11);
    random::Generator gen(3);
    Graph g;
    auto v = g.variable(x.template to<D>());
    const auto before = gen.offset();
    CHECK(test::to_host(dropout(v, 0.5, gen, false).value())(1, 7) == x(1, 7));
    CHECK(test::to_host(dropout(v, 0.0, gen).value())(2, 9) == x(2, 9));
    CHECK(gen.offset() == before);  // no draw when nothing is dropped
    const auto& zeros = test::to_host(dropout(v, 1.0, gen).value());
    for (index_t i = 0; i < zeros.size; ++i) REQUIRE(zeros[i] == 0.0);
    auto y = dropout(v, 0.25, gen);
    sum(y).backward();
    const auto& yh = test::to_host(y.value());
    const auto& dx = test::to_host(v.grad());
    for (index_t i = 0; i < yh.size; ++i) {
      const bool kept = yh[i] != 0.0;
      CHECK(dx[i] == (kept ? 1 / 0.75 : 0.0));
      if (kept) CHECK(yh[i] == doctest::Approx(x[i] / 0.75).epsilon(1e-15));
    }
    const auto r = gradcheck([](const auto& u) {
      random::Generator fixed(5);  // the same mask at every evaluation
      return dropout(u, 0.4, fixed);
    }, x.template to<D>());
    CHECK_MESSAGE(r.ok, r.message);
    CHECK_THROWS_WITH_AS(dropout(v, 1.5, gen), "tsgan: dropout probability 1.5 is outside [0, 1]", Error);
    CHECK_THROWS_AS(dropout(v, std::nan(""), gen), Error);
  }

  TEST_CASE_TEMPLATE("nn::Dropout drops in training mode and is the identity after nn::eval", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    nn::Dropout layer{.p = 0.5, .generator = random::Generator(9)};
    const Tensor<float, Shape<256>> ones(1.f);
    Graph g;
    const auto& trained = test::to_host(layer(g.input(ones.template to<D>())).value());
    index_t zeros = 0;
    for (index_t i = 0; i < trained.size; ++i) zeros += trained[i] == 0.f;
    CHECK(zeros > 64);
    CHECK(zeros < 192);
    nn::eval(layer);
    const auto& evaluated = test::to_host(layer(g.input(ones.template to<D>())).value());
    for (index_t i = 0; i < evaluated.size; ++i) REQUIRE(evaluated[i] == 1.f);
  }
}
