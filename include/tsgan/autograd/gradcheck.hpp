// Finite-difference gradient checks, public so that users can check their own layers.
//
// gradcheck(f, x1, x2, ...) calls f with one graph variable per input tensor and differentiates
// L = Σ r ⊙ f(...) for a fixed random r (so every output element takes part); it compares each
// input's gradient with central differences (L(x + h) − L(x − h)) / 2h. gradcheck_params does the
// same for parameters that f reads itself. Use double precision: float differences are too noisy.
//
// Inputs and parameters may live on any device: f runs there, and the perturbed copies are kept
// on the host and copied over for each evaluation (slow on a GPU, but gradchecks are small).
#pragma once

#include <cmath>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "tsgan/autograd/reduce.hpp"
#include "tsgan/autograd/var.hpp"
#include "tsgan/core/copy.hpp"
#include "tsgan/expr/random_expr.hpp"

namespace tsgan {

struct GradcheckOptions {
  double step = 1e-6;
  double rtol = 1e-5;
  double atol = 1e-7;
  // Inputs larger than this are checked on a deterministic random subset of their elements.
  index_t max_elements = 256;
  std::uint64_t seed = 1234;
};

struct GradcheckResult {
  bool ok = true;
  double max_abs_error = 0;
  std::string message;  // the worst element, or the first failure
  explicit operator bool() const { return ok; }
};

namespace detail {

// L = Σ r ⊙ out for r uniform in [-1, 1], the same r on every call for a given seed.
template <class T, ShapeType S, class D>
Var<T, Shape<>, D> project(const Var<T, S, D>& out, std::uint64_t seed) {
  random::Generator g(seed);
  Tensor<T, S, D> r = random::uniform<S, T, D>(g, T(-1), T(1));
  return sum(out * std::move(r));
}

template <class F, class... Vs>
auto call_as_var(F& f, Vs&... vs) {
  return eval(f(vs...));
}

// Compares analytic gradient `analytic` (host memory) of one input with central differences of
// `loss_at`, which evaluates L after set(i, value) has changed the input's element i.
template <class T, class Get, class Set, class LossAt>
void compare(GradcheckResult& result, const GradcheckOptions& o, const std::string& what, Get&& get, Set&& set,
             const T* analytic, index_t size, LossAt&& loss_at) {
  std::vector<index_t> elements;
  if (size <= o.max_elements) {
    for (index_t i = 0; i < size; ++i) elements.push_back(i);
  } else {
    random::Generator g(o.seed);
    for (index_t k = 0; k < o.max_elements; ++k) elements.push_back(g.uniform_int(0, size - 1));
  }
  for (index_t i : elements) {
    const T saved = get(i);
    set(i, saved + static_cast<T>(o.step));
    const double plus = loss_at();
    set(i, saved - static_cast<T>(o.step));
    const double minus = loss_at();
    set(i, saved);
    const double numeric = (plus - minus) / (2 * o.step);
    const double a = static_cast<double>(analytic[i]);
    const double err = std::abs(a - numeric);
    const bool bad = !(err <= o.atol + o.rtol * std::abs(numeric));
    if (bad && result.ok) {
      result.ok = false;
      result.message = fmt::format("{} element {}: analytic {:.10g}, numeric {:.10g} (error {:.3g})", what, i, a, numeric, err);
    }
    if (err > result.max_abs_error) {
      result.max_abs_error = err;
      if (result.ok)
        result.message = fmt::format("worst: {} element {}: analytic {:.10g}, numeric {:.10g}", what, i, a, numeric);
    }
  }
}

// The one value of a scalar Var, on the host.
template <class T, ShapeType S, class D>
double scalar_value(const Var<T, S, D>& v) {
  T x;
  copy_to_host<D>(&x, v.value().data(), 1);
  return static_cast<double>(x);
}

}  // namespace detail

// Checks the gradients of f with respect to each of its input tensors (all of element type T).
template <class F, class T, ShapeType... S, class D>
GradcheckResult gradcheck(const GradcheckOptions& o, F f, const Tensor<T, S, D>&... inputs) {
  static_assert(sizeof...(S) > 0, "tsgan: gradcheck needs at least one input tensor");
  auto values = std::make_tuple(inputs.template to<cpu>()...);  // host copies, perturbed in place
  auto loss_of = [&](bool with_grad, auto&... vars) -> double {
    auto l = detail::project(detail::call_as_var(f, vars...), o.seed + 1);
    if (with_grad) l.backward();
    return detail::scalar_value(l);
  };

  GradcheckResult result;
  // Analytic gradients.
  Graph g;
  auto vars = std::apply([&](auto&... v) { return std::make_tuple(g.variable(v.template to<D>())...); }, values);
  std::apply([&](auto&... v) { loss_of(true, v...); }, vars);
  auto grads = std::apply([&](auto&... v) { return std::make_tuple(v.grad().template to<cpu>()...); }, vars);
  g.reset();

  // Numeric gradients, one input at a time.
  auto loss_now = [&]() {
    NoGrad guard;
    Graph h;
    return std::apply([&](auto&... v) {
      auto hv = std::make_tuple(h.input(v.template to<D>())...);
      return std::apply([&](auto&... x) { return loss_of(false, x...); }, hv);
    }, values);
  };
  std::size_t index = 0;
  std::apply([&](auto&... v) {
    std::apply([&](auto&... gr) {
      (detail::compare(result, o, fmt::format("input {}", index++), [&](index_t i) { return v.data()[i]; },
                       [&](index_t i, T x) { v.data()[i] = x; }, gr.data(), std::remove_cvref_t<decltype(v)>::size,
                       loss_now),
       ...);
    }, grads);
  }, values);
  return result;
}

template <class F, class T, ShapeType... S, class D>
GradcheckResult gradcheck(F f, const Tensor<T, S, D>&... inputs) {
  return gradcheck(GradcheckOptions{}, std::move(f), inputs...);
}

// Checks the gradients of the parameters `params` that f(graph) reads (through Graph::param).
template <class F, class... P>
GradcheckResult gradcheck_params(const GradcheckOptions& o, F f, P&... params) {
  auto run = [&](bool with_grad) -> double {
    Graph g;
    std::optional<NoGrad> guard;
    if (!with_grad) guard.emplace();
    auto l = detail::project(eval(f(g)), o.seed + 1);
    if (with_grad) l.backward();
    return detail::scalar_value(l);
  };
  (params.zero_grad(), ...);
  run(true);
  GradcheckResult result;
  auto check_one = [&](auto& p) {
    if (!p.has_grad()) {
      if (result.ok) result.message = fmt::format("parameter '{}' received no gradient", p.name());
      result.ok = false;
      return;
    }
    using Prm = std::remove_cvref_t<decltype(p)>;
    using T = typename Prm::value_type;
    using D = typename Prm::device;
    auto analytic = p.grad().template to<cpu>();
    T* value = p.value().data();
    detail::compare(result, o, fmt::format("parameter '{}'", p.name()),
                    [&](index_t i) {
                      T x;
                      copy_to_host<D>(&x, value + i, 1);
                      return x;
                    },
                    [&](index_t i, T x) { copy_from_host<D>(value + i, &x, 1); }, analytic.data(), Prm::shape::size,
                    [&] { return run(false); });
  };
  (check_one(params), ...);
  return result;
}

template <class F, class... P>
GradcheckResult gradcheck_params(F f, P&... params) {
  return gradcheck_params(GradcheckOptions{}, std::move(f), params...);
}

}  // namespace tsgan
