// Reductions over Vars: sum, mean, max, min and logsumexp of an expression that reads Vars give a
// Var. The forward reduces without materialising the expression; the backward is one fused pass
// over the input shape whose adjoint is the output gradient broadcast back (times 1/count for
// mean; split evenly between tied maxima for max and min, like PyTorch's amax; the softmax for
// logsumexp).
#pragma once

#include "tsgan/autograd/var.hpp"

namespace tsgan {
namespace expr {

template <class T>
struct ScaleAdjoint {
  T scale;
  template <class V>
  TSGAN_HD_TEMPLATE V operator()(V, V g, V, V) const { return g * V(scale); }
};
struct ExtremumAdjoint {  // y == m ? g / count : 0
  template <class V>
  TSGAN_HD_TEMPLATE V operator()(V y, V g, V m, V count) const { return math::select(y == m, g / count, V(0)); }
};
struct SoftmaxAdjoint {  // g * exp(y - logsumexp)
  template <class V>
  TSGAN_HD_TEMPLATE V operator()(V y, V g, V lse, V) const { return g * math::exp(y - lse); }
};

enum class ReduceKind { sum, max, min, logsumexp };

}  // namespace expr

template <expr::ReduceKind Kind, class Ax, bool KeepDims, class N>
class ReduceNode final : public Node {
  using T = typename N::value_type;
  using D = typename N::device;
  using In = typename N::shape;
  using Kept = reduce_t<In, Ax, true>;
  using Out = reduce_t<In, Ax, KeepDims>;

 public:
  ReduceNode(N expr, Slot<T, Out, D>* out, T scale) : expr_(std::move(expr)), out_(out), scale_(scale) {}

  void backward() override {
    if (!out_->grad.ready()) return;
    const profile::Scope scope(profile::Op::reduce_backward);
    using KeptLeaf = expr::TensorLeafEval<T, expr::LeafLayout<Kept, default_strides_t<Kept>, In>>;
    const KeptLeaf g{out_->grad.tensor().data()};
    const KeptLeaf y{out_->value.data()};
    expr::GradTemps<T, D, N::var_leaves> temps;
    if constexpr (Kind == expr::ReduceKind::sum) {
      auto ev = expr::grad_evaluator<In>(expr_, temps);
      expr::run_backward<D, T, In>(ev, expr::AdjointEval<expr::ScaleAdjoint<T>, KeptLeaf>{{scale_}, g});
    } else if constexpr (Kind == expr::ReduceKind::logsumexp) {
      auto ev = expr::grad_evaluator<In>(expr_, temps);
      expr::run_backward<D, T, In>(ev, expr::AdjointEval<expr::SoftmaxAdjoint, KeptLeaf, KeptLeaf>{{}, g, y});
    } else {
      // How many elements reach the extremum, to share its gradient between ties.
      Tensor<T, Kept, D> count(uninitialized);
      expr::TensorLeaf<T, Kept, D, default_strides_t<Kept>> m;
      m.data = out_->value.data();
      reduction::reduce_on<D, reduction::Sum, Ax>(count.data(), expr::make_binary(ops::Equal{}, expr_, m));
      auto ev = expr::grad_evaluator<In>(expr_, temps);
      expr::run_backward<D, T, In>(
          ev, expr::AdjointEval<expr::ExtremumAdjoint, KeptLeaf, KeptLeaf, KeptLeaf>{{}, g, y, KeptLeaf{count.data()}});
    }
    out_->grad.release();
  }

 private:
  N expr_;
  Slot<T, Out, D>* out_;
  T scale_;
};

namespace detail {
template <expr::ReduceKind Kind, class Ax, bool KeepDims, class E>
auto reduce_var(const E& e, bool mean = false) {
  auto node = expr::as_node(e);
  using N = decltype(node);
  using T = typename N::value_type;
  using D = typename N::device;
  using In = typename N::shape;
  using Out = reduce_t<In, Ax, KeepDims>;
  auto [g, needs_grad] = expr::graph_of(node);
  const profile::Scope scope(profile::Op::reduce_forward);
  auto* slot = g->template make<Slot<T, Out, D>>(uninitialized);
  const T scale = mean ? T(Out::size) / T(In::size) : T(1);
  if constexpr (Kind == expr::ReduceKind::sum) {
    reduction::reduce_on<D, reduction::Sum, Ax>(slot->value.data(), node);
    if (mean) slot->value = slot->value * scale;
  } else if constexpr (Kind == expr::ReduceKind::max) {
    reduction::reduce_on<D, reduction::Max, Ax>(slot->value.data(), node);
  } else if constexpr (Kind == expr::ReduceKind::min) {
    reduction::reduce_on<D, reduction::Min, Ax>(slot->value.data(), node);
  } else {
    using Kept = reduce_t<In, Ax, true>;
    Tensor<T, Kept, D> m(uninitialized), s(uninitialized);
    reduction::reduce_on<D, reduction::Max, Ax>(m.data(), node);
    reduction::reduce_on<D, reduction::Sum, Ax>(s.data(), exp(node - m));
    slot->value = log(s.template view_as<Out>()) + m.template view_as<Out>();
  }
  if (needs_grad) {
    auto kept = expr::retain_constants(node, *g);
    g->template record<ReduceNode<Kind, Ax, KeepDims, decltype(kept)>>(std::move(kept), slot, scale);
  }
  return Var<T, Out, D>(*g, slot->value, needs_grad ? &slot->grad : nullptr);
}
}  // namespace detail

template <class E>
concept VarExpression = Expression<E> && expr::node_t<const E&>::has_var;

template <class Ax = Axes<>, bool KeepDims = false, VarExpression E>
auto sum(const E& e) {
  return detail::reduce_var<expr::ReduceKind::sum, Ax, KeepDims>(e);
}
template <class Ax = Axes<>, bool KeepDims = false, VarExpression E>
auto mean(const E& e) {
  return detail::reduce_var<expr::ReduceKind::sum, Ax, KeepDims>(e, true);
}
template <class Ax = Axes<>, bool KeepDims = false, VarExpression E>
auto max(const E& e) {
  return detail::reduce_var<expr::ReduceKind::max, Ax, KeepDims>(e);
}
template <class Ax = Axes<>, bool KeepDims = false, VarExpression E>
auto min(const E& e) {
  return detail::reduce_var<expr::ReduceKind::min, Ax, KeepDims>(e);
}
template <class Ax = Axes<>, bool KeepDims = false, VarExpression E>
auto logsumexp(const E& e) {
  return detail::reduce_var<expr::ReduceKind::logsumexp, Ax, KeepDims>(e);
}

}  // namespace tsgan
