// The tape, Vars and fused elementwise nodes: values, gradients against finite differences, and
// the bookkeeping (no-grad scopes, detach, accumulation, reset, allocation).
#include <doctest/doctest.h>

#include "support.hpp"
#include "tsgan/autograd/gradcheck.hpp"

using namespace tsgan;

TEST_SUITE("autograd.var") {
  TEST_CASE("a fused expression over Vars is one tape node and its gradients match finite differences") {
    const auto x = test::random_tensor<double, Shape<3, 4, 5>>(1);
    const auto b = test::random_tensor<double, Shape<4, 1>>(2);  // broadcast over axes 0 and 2
    const auto c = test::random_tensor<double, Shape<5>>(3);
    auto f = [](const auto& xv, const auto& bv, const auto& cv) {
      return tanh(xv * bv + cv) * sigmoid(xv) - softplus(bv * 2.0) / (abs(cv) + 1.0) + where(xv > 0.0, xv, square(cv));
    };
    Graph g;
    auto xv = g.variable(x.clone());
    auto bv = g.variable(b.clone());
    auto cv = g.variable(c.clone());
    Var<double, Shape<3, 4, 5>> y = f(xv, bv, cv);
    CHECK(g.size() == 1);  // one node for the whole expression
    Tensor<double, Shape<3, 4, 5>> ref = f(x, b, c);
    test::check_all(y.value(), [&](index_t i) { return ref[i]; }, 1e-14, 1e-14, "forward");
    const auto r = gradcheck(f, x, b, c);
    CHECK_MESSAGE(r.ok, r.message);
  }

  TEST_CASE("a Var used twice in one expression gets both contributions") {
    const auto x = test::random_tensor<double, Shape<7>>(4);
    const auto r = gradcheck([](const auto& v) { return v * v * v + exp(v) * v; }, x);
    CHECK_MESSAGE(r.ok, r.message);
    Graph g;
    auto v = g.variable(x.clone());
    auto loss = eval(sum(v * v));
    loss.backward();
    for (index_t i = 0; i < 7; ++i) CHECK(v.grad()[i] == doctest::Approx(2 * x[i]));
  }

  TEST_CASE("gradients add up over several uses and several nodes") {
    Graph g;
    auto x = g.variable(Tensor<double, Shape<4>>(2.0));
    Var<double, Shape<4>> a = x * 3.0;
    Var<double, Shape<4>> b = square(x);
    auto loss = eval(sum(a + b + x));
    loss.backward();
    for (index_t i = 0; i < 4; ++i) CHECK(x.grad()[i] == doctest::Approx(3 + 2 * 2 + 1));
  }

  TEST_CASE("reductions over Vars: values and gradients") {
    const auto x = test::random_tensor<double, Shape<3, 4, 5>>(5);
    CHECK_MESSAGE(gradcheck([](const auto& v) { return sum<Axes<1>>(v); }, x).ok, "sum");
    CHECK_MESSAGE(gradcheck([](const auto& v) { return mean<Axes<0, 2>, true>(square(v)); }, x).ok, "mean");
    CHECK_MESSAGE(gradcheck([](const auto& v) { return max<Axes<2>>(v * 3.0); }, x).ok, "max");
    CHECK_MESSAGE(gradcheck([](const auto& v) { return min<Axes<0>>(v); }, x).ok, "min");
    CHECK_MESSAGE(gradcheck([](const auto& v) { return logsumexp<Axes<-1>>(v * 4.0); }, x).ok, "logsumexp");
    CHECK_MESSAGE(gradcheck([](const auto& v) { return mean(v); }, x).ok, "mean of all");
    Graph g;
    auto v = g.variable(x.clone());
    auto m = mean<Axes<1>>(v);
    auto ref = mean<Axes<1>>(x);
    test::check_all(m.value(), [&](index_t i) { return ref[i]; }, 1e-15, 1e-15, "mean value");
  }

  TEST_CASE("tied maxima share the gradient evenly, like PyTorch's amax") {
    Graph g;
    Tensor<double, Shape<4>> t;
    t[0] = 1;
    t[1] = 3;
    t[2] = 3;
    t[3] = 2;
    auto x = g.variable(std::move(t));
    auto m = max(x);
    m.backward();
    CHECK(x.grad()[0] == 0.0);
    CHECK(x.grad()[1] == 0.5);
    CHECK(x.grad()[2] == 0.5);
    CHECK(x.grad()[3] == 0.0);
  }

  TEST_CASE("NoGrad records nothing; detach stops the gradient; inputs need none") {
    Graph g;
    auto x = g.variable(Tensor<double, Shape<3>>(1.0));
    {
      NoGrad guard;
      Var<double, Shape<3>> y = x * 2.0;
      CHECK_FALSE(y.requires_grad());
      CHECK(g.size() == 0);
    }
    Var<double, Shape<3>> z = detach(x) * 2.0 + x;
    auto loss = eval(sum(z));
    loss.backward();
    for (index_t i = 0; i < 3; ++i) CHECK(x.grad()[i] == 1.0);  // only the attached term
    Tensor<double, Shape<3>> c(5.0);
    auto k = g.input(c);
    CHECK_FALSE(k.requires_grad());
    CHECK_THROWS_WITH_AS(k.grad(), doctest::Contains("has no gradient"), Error);
  }

  TEST_CASE("errors: backward from a value without gradient, and twice on one graph") {
    Graph g;
    auto c = g.input(Tensor<double, Shape<>>(1.0));
    Var<double, Shape<>> y = c * 2.0 + c;  // reads no variable: no node, no gradient
    (void)y;
    auto x = g.variable(Tensor<double, Shape<>>(1.0));
    auto l = eval(x * 3.0);
    l.backward();
    CHECK(x.grad()[0] == 3.0);
    CHECK_THROWS_WITH_AS(l.backward(), doctest::Contains("backward() twice"), Error);
  }

  TEST_CASE("parameters accumulate across backward passes until zero_grad") {
    Param<double, Shape<2>> p;
    p.set_name("w");
    p.value().fill(1.5);
    for (int step = 0; step < 2; ++step) {
      Graph g;
      auto w = g.param(p);
      auto l = eval(sum(w * w));
      l.backward();
    }
    CHECK(p.grad()[0] == doctest::Approx(2 * 2 * 1.5));  // two passes added
    p.zero_grad();
    CHECK_FALSE(p.has_grad());
    CHECK_THROWS_WITH_AS(p.grad(), doctest::Contains("parameter 'w' has no gradient"), Error);
  }

  TEST_CASE("after a warm-up step, a step on a reset graph makes no system allocation") {
    Param<float, Shape<64, 128>> p;
    auto x = test::random_tensor<float, Shape<8, 64, 128>>(6);
    Graph g;
    auto step = [&] {
      auto w = g.param(p);
      auto in = g.input(x);
      Var<float, Shape<8, 64, 128>> h = tanh(in * w + 1.f);
      auto l = mean(square(h - in));
      l.backward();
      g.reset();
      p.zero_grad();
    };
    step();
    const auto before = allocator<cpu>().stats().system_allocations;
    const auto arena = g.arena_capacity();
    step();
    step();
    CHECK(allocator<cpu>().stats().system_allocations == before);
    CHECK(g.arena_capacity() == arena);
  }

  TEST_CASE("gradcheck itself fails on a wrong gradient") {
    // d|x|/dx is sign(x); feeding it through where() with a wrong branch must be caught.
    const auto x = test::random_tensor<double, Shape<6>>(7, 0.5, 1.0);
    auto wrong = [](const auto& v) { return v * detach(v); };  // true derivative 2x, analytic gives x
    const auto r = gradcheck(wrong, x);
    CHECK_FALSE(r.ok);
    CHECK(r.message.find("input 0") != std::string::npos);
  }
}
