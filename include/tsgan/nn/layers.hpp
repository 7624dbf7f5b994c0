// Layers: modules that own parameters and call one op. Hyper-parameters are template arguments,
// so a layer's output shape is known at compile time and a layer that does not fit its input does
// not compile. Parameters are named as PyTorch names them (`weight`, `bias`, OIHW layouts), so a
// tsgan checkpoint loads into the equivalent PyTorch module.
//
// Layers take Vars and, evaluating them first, expressions over Vars: `fc(relu(x))`.
//
// Parameters start at zero; nn::reset_parameters(module, generator) gives PyTorch's default
// initialisation, nn/init.hpp the others.
#pragma once

#include <cmath>
#include <tuple>

#include "tsgan/expr/random_expr.hpp"
#include "tsgan/nn/module.hpp"
#include "tsgan/ops/conv.hpp"
#include "tsgan/ops/dropout.hpp"
#include "tsgan/ops/linear.hpp"

namespace tsgan::nn {

struct NoBias {};

// An unevaluated expression over Vars, which a layer evaluates (one fused node) before its op.
template <class E>
concept VarExpression = Expression<E> && !is_var<std::remove_cvref_t<E>>::value && expr::node_t<const E&>::has_var;

namespace detail {
// PyTorch's default for conv and linear layers: kaiming_uniform(a = √5) for the weight, which is
// U(−1/√fan_in, 1/√fan_in), and the same bound for the bias.
template <class P>
void uniform_fill(P& p, random::Generator& gen, double bound) {
  using T = typename P::value_type;
  using S = typename P::shape;
  using D = typename P::device;
  p.value() = random::uniform<S, T, D>(gen, static_cast<T>(-bound), static_cast<T>(bound));
}
}  // namespace detail

template <index_t In, index_t Out, index_t K, ConvOptions O = ConvOptions{}, bool Bias = true, class T = float,
          class D = cpu>
struct Conv2d {
  static_assert(In % O.groups == 0 && Out % O.groups == 0, "tsgan: Conv2d channels must divide by groups");
  Param<T, Shape<Out, In / O.groups, K, K>, D> weight;
  [[no_unique_address]] std::conditional_t<Bias, Param<T, Shape<Out>, D>, NoBias> bias;

  template <class V>
  void visit(V& v) {
    v.param("weight", weight);
    if constexpr (Bias) v.param("bias", bias);
  }
  void reset_parameters(random::Generator& gen) {
    const double bound = 1.0 / std::sqrt(double(In / O.groups * K * K));
    detail::uniform_fill(weight, gen, bound);
    if constexpr (Bias) detail::uniform_fill(bias, gen, bound);
  }
  template <ShapeType S>
  auto operator()(const Var<T, S, D>& x) {
    Graph& g = x.graph();
    if constexpr (Bias) return conv2d<O>(x, g.param(weight), g.param(bias));
    else return conv2d<O>(x, g.param(weight));
  }
  template <VarExpression E>
  auto operator()(const E& e) {
    return (*this)(tsgan::eval(e));
  }
};

template <index_t In, index_t Out, index_t K, ConvTransposeOptions O = ConvTransposeOptions{}, bool Bias = true,
          class T = float, class D = cpu>
struct ConvTranspose2d {
  static_assert(In % O.groups == 0 && Out % O.groups == 0, "tsgan: ConvTranspose2d channels must divide by groups");
  Param<T, Shape<In, Out / O.groups, K, K>, D> weight;  // PyTorch's layout: [in, out / groups, kh, kw]
  [[no_unique_address]] std::conditional_t<Bias, Param<T, Shape<Out>, D>, NoBias> bias;

  template <class V>
  void visit(V& v) {
    v.param("weight", weight);
    if constexpr (Bias) v.param("bias", bias);
  }
  void reset_parameters(random::Generator& gen) {
    const double bound = 1.0 / std::sqrt(double(Out / O.groups * K * K));  // PyTorch takes fan_in from dim 1
    detail::uniform_fill(weight, gen, bound);
    if constexpr (Bias) detail::uniform_fill(bias, gen, bound);
  }
  template <ShapeType S>
  auto operator()(const Var<T, S, D>& x) {
    Graph& g = x.graph();
    if constexpr (Bias) return conv_transpose2d<O>(x, g.param(weight), g.param(bias));
    else return conv_transpose2d<O>(x, g.param(weight));
  }
  template <VarExpression E>
  auto operator()(const E& e) {
    return (*this)(tsgan::eval(e));
  }
};

template <index_t In, index_t Out, bool Bias = true, class T = float, class D = cpu>
struct Linear {
  Param<T, Shape<Out, In>, D> weight;
  [[no_unique_address]] std::conditional_t<Bias, Param<T, Shape<Out>, D>, NoBias> bias;

  template <class V>
  void visit(V& v) {
    v.param("weight", weight);
    if constexpr (Bias) v.param("bias", bias);
  }
  void reset_parameters(random::Generator& gen) {
    const double bound = 1.0 / std::sqrt(double(In));
    detail::uniform_fill(weight, gen, bound);
    if constexpr (Bias) detail::uniform_fill(bias, gen, bound);
  }
  template <index_t N>
  auto operator()(const Var<T, Shape<N, In>, D>& x) {
    Graph& g = x.graph();
    if constexpr (Bias) return linear(x, g.param(weight), g.param(bias));
    else return linear(x, g.param(weight));
  }
  template <VarExpression E>
  auto operator()(const E& e) {
    return (*this)(tsgan::eval(e));
  }
};

// Activations: stateless modules, each one fused elementwise node (an expression argument is
// fused into it). LeakyReLU's slope is a member, PyTorch's negative_slope: `nn::LeakyReLU act{0.2};`.
struct LeakyReLU {
  double negative_slope = 0.01;
  template <Expression E>
  auto operator()(const E& x) const { return tsgan::eval(leaky_relu(x, negative_slope)); }
};
struct ReLU {
  template <Expression E>
  auto operator()(const E& x) const { return tsgan::eval(relu(x)); }
};
struct Tanh {
  template <Expression E>
  auto operator()(const E& x) const { return tsgan::eval(tanh(x)); }
};
struct Sigmoid {
  template <Expression E>
  auto operator()(const E& x) const { return tsgan::eval(sigmoid(x)); }
};

// Dropout (ops/dropout.hpp) with its own random stream, active in training mode (nn::train /
// nn::eval): seed `generator` per network for reproducible masks.
struct Dropout {
  double p = 0.5;
  random::Generator generator{};
  bool training = true;

  template <class V>
  void visit(V& v) {
    v.training(training);
  }
  template <class T, ShapeType S, class D>
  Var<T, S, D> operator()(const Var<T, S, D>& x) {
    return dropout(x, p, generator, training);
  }
};

// Layers applied in order; named 0, 1, ... like torch.nn.Sequential.
template <class... Layers>
struct Sequential {
  std::tuple<Layers...> layers;

  template <class V>
  void visit(V& v) {
    std::size_t i = 0;
    std::apply([&](auto&... l) { (v.child(std::to_string(i++), l), ...); }, layers);
  }
  template <class X>
  auto operator()(const X& x) {
    return std::apply([&](auto&... l) { return apply_all(x, l...); }, layers);
  }
  template <std::size_t I>
  auto& get() {
    return std::get<I>(layers);
  }

 private:
  template <class X>
  static auto apply_all(const X& x) {
    return x;
  }
  template <class X, class First, class... Rest>
  static auto apply_all(const X& x, First& first, Rest&... rest) {
    return apply_all(first(x), rest...);
  }
};

// PyTorch's default initialisation: every layer with a reset_parameters(gen) member draws its
// parameters, in the order the modules are visited (so the same seed gives the same network).
template <class M>
void reset_parameters(M& m, random::Generator& gen) {
  for_each_module(m, [&](auto& x) {
    if constexpr (requires { x.reset_parameters(gen); }) x.reset_parameters(gen);
  });
}

}  // namespace tsgan::nn
