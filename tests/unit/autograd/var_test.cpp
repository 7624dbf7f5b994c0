// The tape, Vars and fused elementwise nodes: values, gradients against finite differences, and
// the bookkeeping (no-grad scopes, detach, accumulation and its order, reset, allocation). Templated over the
// device: on the GPU the fused backward pass is one kernel (expr/eval_cuda.cuh), and values and
// gradients must also match the CPU's.
#include <doctest/doctest.h>

#include <memory>

#include "support.hpp"
#include "tsgan/autograd/gradcheck.hpp"

using namespace tsgan;

namespace {
auto fused = [](const auto& xv, const auto& bv, const auto& cv) {
  return tanh(xv * bv + cv) * sigmoid(xv) - softplus(bv * 2.0) / (abs(cv) + 1.0) + where(xv > 0.0, xv, square(cv));
};
}  // namespace

TEST_SUITE("autograd.var") {
  TEST_CASE_TEMPLATE("a fused expression over Vars is one tape node and its gradients match finite differences", D,
                     TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    const auto x = test::random_tensor<double, Shape<3, 4, 5>>(1);
    const auto b = test::random_tensor<double, Shape<4, 1>>(2);  // broadcast over axes 0 and 2
    const auto c = test::random_tensor<double, Shape<5>>(3);
    Graph g;
    auto xv = g.variable(x.template to<D>());
    auto bv = g.variable(b.template to<D>());
    auto cv = g.variable(c.template to<D>());
    Var<double, Shape<3, 4, 5>, D> y = fused(xv, bv, cv);
    CHECK(g.size() == 1);  // one node for the whole expression
    Tensor<double, Shape<3, 4, 5>> ref = fused(x, b, c);
    test::check_all(test::to_host(y.value()), [&](index_t i) { return ref[i]; }, 1e-14, 1e-14, "forward");
    const auto r = gradcheck(fused, x.template to<D>(), b.template to<D>(), c.template to<D>());
    CHECK_MESSAGE(r.ok, r.message);
    test::check_gradient_parity<D>(fused, x, b, c);
    // The same in float, where the broadcast leaves fold their gradients with float sums.
    auto to_float = [](const auto& t) {
      using S = typename std::remove_cvref_t<decltype(t)>::shape;
      Tensor<float, S> f(uninitialized);
      for (index_t i = 0; i < S::size; ++i) f[i] = float(t[i]);
      return f;
    };
    test::check_gradient_parity<D>(fused, to_float(x), to_float(b), to_float(c));
  }

  TEST_CASE_TEMPLATE("a Var used twice in one expression gets both contributions", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    const auto x = test::random_tensor<double, Shape<7>>(4);
    auto twice = [](const auto& v) { return v * v * v + exp(v) * v; };
    const auto r = gradcheck(twice, x.template to<D>());
    CHECK_MESSAGE(r.ok, r.message);
    test::check_gradient_parity<D>(twice, x);
    Graph g;
    auto v = g.variable(x.template to<D>());
    auto loss = eval(sum(v * v));
    loss.backward();
    const auto& grad = test::to_host(v.grad());
    for (index_t i = 0; i < 7; ++i) CHECK(grad[i] == doctest::Approx(2 * x[i]));
  }

  TEST_CASE_TEMPLATE("gradients add up over several uses and several nodes", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    Graph g;
    auto x = g.variable(Tensor<double, Shape<4>, D>(2.0));
    Var<double, Shape<4>, D> a = x * 3.0;
    Var<double, Shape<4>, D> b = square(x);
    auto loss = eval(sum(a + b + x));
    loss.backward();
    const auto& grad = test::to_host(x.grad());
    for (index_t i = 0; i < 4; ++i) CHECK(grad[i] == doctest::Approx(3 + 2 * 2 + 1));
  }

  TEST_CASE("move_to_end: a gradient adds up its parts in the moved tape's order") {
    // x's three parts are 1e8, −1e8 and 1. In float, 1 − 1e8 rounds to −1e8: the order of the sum
    // decides whether the 1 survives.
    auto x_grad = [](bool move) {
      Graph g;
      auto x = g.variable(Tensor<float, Shape<1>>(1.f));
      const std::size_t first = g.size();
      Var<float, Shape<1>> a = x * 1e8f;
      Var<float, Shape<1>> b = x * -1e8f;
      const std::size_t last = g.size();
      Var<float, Shape<1>> c = x * 1.f;
      if (move) g.move_to_end(first, last);  // the tape of c, a, b
      eval(sum(a + b + c)).backward();
      return x.grad()[0];
    };
    CHECK(x_grad(false) == 0.f);  // backward: c, b, a: (1 − 1e8) + 1e8
    CHECK(x_grad(true) == 1.f);   // backward: b, a, c: (−1e8 + 1e8) + 1
    Graph g;
    auto x = g.variable(Tensor<float, Shape<1>>(1.f));
    Var<float, Shape<1>> a = x * 2.f;
    (void)a;
    CHECK_THROWS_WITH_AS(g.move_to_end(1, 2), doctest::Contains("move_to_end(1, 2) on a tape of 1 nodes"), Error);
  }

  TEST_CASE_TEMPLATE("reductions over Vars: values and gradients", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    const auto xh = test::random_tensor<double, Shape<3, 4, 5>>(5);
    const auto x = xh.template to<D>();
    CHECK_MESSAGE(gradcheck([](const auto& v) { return sum<Axes<1>>(v); }, x).ok, "sum");
    CHECK_MESSAGE(gradcheck([](const auto& v) { return mean<Axes<0, 2>, true>(square(v)); }, x).ok, "mean");
    CHECK_MESSAGE(gradcheck([](const auto& v) { return max<Axes<2>>(v * 3.0); }, x).ok, "max");
    CHECK_MESSAGE(gradcheck([](const auto& v) { return min<Axes<0>>(v); }, x).ok, "min");
    CHECK_MESSAGE(gradcheck([](const auto& v) { return logsumexp<Axes<-1>>(v * 4.0); }, x).ok, "logsumexp");
    CHECK_MESSAGE(gradcheck([](const auto& v) { return mean(v); }, x).ok, "mean of all");
    test::check_gradient_parity<D>([](const auto& v) { return mean<Axes<0, 2>, true>(square(v)); }, xh);
    test::check_gradient_parity<D>([](const auto& v) { return max<Axes<2>>(v * 3.0); }, xh);
    test::check_gradient_parity<D>([](const auto& v) { return logsumexp<Axes<-1>>(v * 4.0); }, xh);
    Graph g;
    auto v = g.variable(x.clone());
    auto m = mean<Axes<1>>(v);
    auto ref = mean<Axes<1>>(xh);
    test::check_all(test::to_host(m.value()), [&](index_t i) { return ref[i]; }, 1e-15, 1e-15, "mean value");
  }

  TEST_CASE_TEMPLATE("tied maxima share the gradient evenly, like PyTorch's amax", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    Graph g;
    Tensor<double, Shape<4>> t;
    t[0] = 1;
    t[1] = 3;
    t[2] = 3;
    t[3] = 2;
    auto x = g.variable(t.template to<D>());
    auto m = max(x);
    m.backward();
    const auto& grad = test::to_host(x.grad());
    CHECK(grad[0] == 0.0);
    CHECK(grad[1] == 0.5);
    CHECK(grad[2] == 0.5);
    CHECK(grad[3] == 0.0);
  }

  TEST_CASE_TEMPLATE("NoGrad records nothing; detach stops the gradient; inputs need none", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    Graph g;
    auto x = g.variable(Tensor<double, Shape<3>, D>(1.0));
    {
      NoGrad guard;
      Var<double, Shape<3>, D> y = x * 2.0;
      CHECK_FALSE(y.requires_grad());
      CHECK(g.size() == 0);
    }
    Var<double, Shape<3>, D> z = detach(x) * 2.0 + x;
    auto loss = eval(sum(z));
    loss.backward();
    const auto& grad = test::to_host(x.grad());
    for (index_t i = 0; i < 3; ++i) CHECK(grad[i] == 1.0);  // only the attached term
    Tensor<double, Shape<3>, D> c(5.0);
    auto k = g.input(c);
    CHECK_FALSE(k.requires_grad());
    CHECK_THROWS_WITH_AS(k.grad(), doctest::Contains("has no gradient"), Error);
  }

  TEST_CASE_TEMPLATE("errors: backward from a value without gradient, and twice on one graph", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    Graph g;
    auto c = g.input(Tensor<double, Shape<>, D>(1.0));
    Var<double, Shape<>, D> y = c * 2.0 + c;  // reads no variable: no node, no gradient
    (void)y;
    auto x = g.variable(Tensor<double, Shape<>, D>(1.0));
    auto l = eval(x * 3.0);
    l.backward();
    CHECK(test::to_host(x.grad())[0] == 3.0);
    CHECK_THROWS_WITH_AS(l.backward(), doctest::Contains("backward() twice"), Error);
  }

  TEST_CASE_TEMPLATE("parameters accumulate across backward passes until zero_grad", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    Param<double, Shape<2>, D> p;
    p.set_name("w");
    p.value().fill(1.5);
    for (int step = 0; step < 2; ++step) {
      Graph g;
      auto w = g.param(p);
      auto l = eval(sum(w * w));
      l.backward();
    }
    CHECK(test::to_host(p.grad())[0] == doctest::Approx(2 * 2 * 1.5));  // two passes added
    p.zero_grad();
    CHECK_FALSE(p.has_grad());
    CHECK_THROWS_WITH_AS(p.grad(), doctest::Contains("parameter 'w' has no gradient"), Error);
  }

  TEST_CASE("a Var used after its graph was reset or destroyed is an error, not a read of a freed slot") {
    Graph g;
    auto x = g.variable(Tensor<double, Shape<3>>(2.0));
    auto y = eval(x * x);
    auto loss = eval(sum(y));
    CHECK(y.value()[0] == 4.0);
    g.reset();
    CHECK_THROWS_WITH_AS(y.value(), doctest::Contains("used after its Graph was reset"), Error);
    CHECK_THROWS_WITH_AS(eval(x + 1.0), doctest::Contains("used after its Graph was reset"), Error);
    CHECK_THROWS_WITH_AS(loss.backward(), doctest::Contains("used after its Graph was reset"), Error);
    auto fresh = g.variable(Tensor<double, Shape<3>>(1.0));  // the new step's Vars work
    CHECK(eval(fresh * 3.0).value()[2] == 3.0);

    // A destroyed graph is found in the table of live generations, before the graph is read.
    const bool was_on = graph_lifetimes_checked();
    set_check_graph_lifetimes(true);
    auto short_lived = std::make_unique<Graph>();
    const auto orphan = short_lived->variable(Tensor<double, Shape<3>>(1.0));
    CHECK(orphan.value()[1] == 1.0);
    short_lived.reset();
    // Using the Var of a destroyed graph is the point; GCC may see it and warn.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#pragma GCC diagnostic ignored "-Wuse-after-free"
#endif
    CHECK_THROWS_WITH_AS(orphan.value(), doctest::Contains("used after its Graph was reset or destroyed"), Error);
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
    set_check_graph_lifetimes(was_on);
  }

  TEST_CASE_TEMPLATE("after a warm-up step, a step on a reset graph makes no system allocation", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    Param<float, Shape<64, 128>, D> p;
    auto x = test::random_tensor<float, Shape<8, 64, 128>, D>(6);
    Graph g;
    auto step = [&] {
      auto w = g.param(p);
      auto in = g.input(x);
      Var<float, Shape<8, 64, 128>, D> h = tanh(in * w + 1.f);
      auto l = mean(square(h - in));
      l.backward();
      g.reset();
      p.zero_grad();
    };
    step();
    const auto before = allocator<D>().stats().system_allocations;
    const auto arena = g.arena_capacity();
    step();
    step();
    CHECK(allocator<D>().stats().system_allocations == before);
    CHECK(g.arena_capacity() == arena);
  }

  TEST_CASE_TEMPLATE("gradcheck itself fails on a wrong gradient", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    // d|x|/dx is sign(x); feeding it through where() with a wrong branch must be caught.
    const auto x = test::random_tensor<double, Shape<6>, D>(7, 0.5, 1.0);
    auto wrong = [](const auto& v) { return v * detach(v); };  // true derivative 2x, analytic gives x
    const auto r = gradcheck(wrong, x);
    CHECK_FALSE(r.ok);
    CHECK(r.message.find("input 0") != std::string::npos);
  }
}
