// Expression templates. `a * b + 1.f` builds a tree of small nodes and computes nothing; assigning
// it to a tensor (or a view) evaluates the tree in one pass over the output, with no temporary
// tensors, on the device the operands live on. Operands broadcast as in numpy.
//
// Two layers:
//  - expression nodes (what the user holds): UnaryExpr, BinaryExpr, TernaryExpr, and the leaves
//    TensorLeaf (reads a tensor or a view), OwnedLeaf (keeps an rvalue tensor alive), ScalarLeaf;
//  - evaluators (what a loop or a kernel runs): trivially copyable structs made by
//    `node.evaluator<Out>()` for a given output shape Out. Leaves then know their broadcast
//    strides into Out, and every node can produce a value, a trace (all intermediate values of
//    one element, for the fused backward pass) and push an adjoint back to its leaves.
//
// Positions. The CPU evaluates row by row: the output is split at axis K into outer rows and a
// contiguous inner run, where every leaf is either contiguous or constant (see LeafLayout). A
// RowPos<K> names a SIMD packet inside the current row. The GPU evaluates one element at a time
// from its linear index and multi-index (ElementPos).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "tsgan/core/shape.hpp"
#include "tsgan/core/tensor.hpp"
#include "tsgan/expr/ops.hpp"

namespace tsgan {
namespace expr {

// ---- positions --------------------------------------------------------------------------------
template <std::size_t K>
struct RowPos {
  index_t i;  // offset inside the row
  int n;      // valid lanes (the packet width except at the end of a row)
};

template <std::size_t R>
struct ElementPos {
  index_t linear;
  const index_t* idx;  // R indices
};

template <class V>
TSGAN_HD_TEMPLATE inline V load_value(const std::remove_const_t<math::scalar_of_t<V>>* p, int n) {
  if constexpr (std::is_arithmetic_v<V>) {
    (void)n;
    return *p;
  } else {
    return n == V::width ? V::load(p) : V::load_partial(p, n);
  }
}

template <class V>
TSGAN_HD_TEMPLATE inline void store_value(math::scalar_of_t<V>* p, V v, int n) {
  if constexpr (std::is_arithmetic_v<V>) {
    (void)n;
    *p = v;
  } else if (n == V::width) {
    v.store(p);
  } else {
    v.store_partial(p, n);
  }
}

// ---- how a leaf is laid out relative to the output ---------------------------------------------
template <ShapeType LeafShape, class LeafStrides, ShapeType Out>
struct LeafLayout {
  static_assert(broadcasts_to_v<LeafShape, Out>);
  static constexpr std::size_t rank = Out::rank;

  // Stride of the leaf along each output axis; 0 where the leaf is broadcast.
  static constexpr std::array<index_t, rank> bstrides = [] {
    std::array<index_t, rank> b{};
    for (std::size_t j = 0; j < rank; ++j) {
      if (j + LeafShape::rank < rank) continue;
      const std::size_t a = j + LeafShape::rank - rank;
      b[j] = LeafShape::dims[a] == 1 ? 0 : LeafStrides::values[a];
    }
    return b;
  }();

  // Offset = linear output index: same shape, row-major, no broadcast.
  static constexpr bool identity = [] {
    if (LeafShape::size != Out::size) return false;
    for (std::size_t j = 0; j < rank; ++j)
      if (Out::dims[j] > 1 && bstrides[j] != Out::strides[j]) return false;
    return true;
  }();

  // Over axes [k, rank) the leaf is read contiguously (offset base + inner index) ...
  static constexpr bool contiguous_from(std::size_t k) {
    for (std::size_t j = k; j < rank; ++j)
      if (Out::dims[j] > 1 && bstrides[j] != Out::strides[j]) return false;
    return true;
  }
  // ... or is one constant value.
  static constexpr bool constant_from(std::size_t k) {
    for (std::size_t j = k; j < rank; ++j)
      if (Out::dims[j] > 1 && bstrides[j] != 0) return false;
    return true;
  }
  // The first axis K for which rows [K, rank) can be evaluated with packets.
  static constexpr std::size_t min_split = [] {
    for (std::size_t k = 0; k <= rank; ++k)
      if (contiguous_from(k) || constant_from(k)) return k;
    return rank;
  }();

  // The local copies below keep device code from referring to the host-side static arrays (nvcc
  // allows reading a constexpr variable's value in a kernel, not taking its address).
  template <std::size_t K>
  static TSGAN_HD index_t row_offset(const index_t* outer) {
    constexpr auto b = bstrides;
    index_t off = 0;
    for (std::size_t j = 0; j < K; ++j) off += outer[j] * b[j];
    return off;
  }
  static TSGAN_HD index_t element_offset(index_t linear, const index_t* idx) {
    if constexpr (identity) {
      return linear;
    } else {
      constexpr auto b = bstrides;
      index_t off = 0;
      for (std::size_t j = 0; j < rank; ++j) off += idx[j] * b[j];
      return off;
    }
  }
};

// ---- evaluators -------------------------------------------------------------------------------
template <class V>
struct LeafTrace {
  V y;
};

// Reads a tensor or a view (no gradient).
template <class T, class Layout>
struct TensorLeafEval {
  static constexpr bool has_grad = false;
  static constexpr std::size_t min_split = Layout::min_split;
  const T* data;
  const T* row = nullptr;

  template <std::size_t K>
  TSGAN_HD void begin_row(const index_t* outer) {
    row = data + Layout::template row_offset<K>(outer);
  }
  template <class V, std::size_t K>
  TSGAN_HD_TEMPLATE V eval(const RowPos<K>& p) const {
    if constexpr (Layout::contiguous_from(K)) return load_value<V>(row + p.i, p.n);
    else return V(*row);
  }
  template <class V, std::size_t R>
  TSGAN_HD_TEMPLATE V eval(const ElementPos<R>& p) const {
    return data[Layout::element_offset(p.linear, p.idx)];
  }
  template <class V, class P>
  TSGAN_HD_TEMPLATE LeafTrace<V> trace(const P& p) const { return {eval<V>(p)}; }
  template <class V, class P>
  TSGAN_HD_TEMPLATE void backward(const LeafTrace<V>&, V, const P&) const {}
};

template <class T>
struct ScalarLeafEval {
  static constexpr bool has_grad = false;
  static constexpr std::size_t min_split = 0;
  T value;
  template <std::size_t K>
  TSGAN_HD void begin_row(const index_t*) {}
  template <class V, class P>
  TSGAN_HD_TEMPLATE V eval(const P&) const { return V(value); }
  template <class V, class P>
  TSGAN_HD_TEMPLATE LeafTrace<V> trace(const P&) const { return {V(value)}; }
  template <class V, class P>
  TSGAN_HD_TEMPLATE void backward(const LeafTrace<V>&, V, const P&) const {}
};

template <class V, class C>
struct UnaryTrace {
  V y;
  C c;
};
template <class V, class A, class B>
struct BinaryTrace {
  V y;
  A a;
  B b;
};
template <class V, class C, class A, class B>
struct TernaryTrace {
  V y;
  C c;
  A a;
  B b;
};

template <class Op, class C>
struct UnaryEval {
  static constexpr bool has_grad = C::has_grad;
  static constexpr std::size_t min_split = C::min_split;
  Op op;
  C c;
  template <std::size_t K>
  TSGAN_HD void begin_row(const index_t* outer) { c.template begin_row<K>(outer); }
  template <class V, class P>
  TSGAN_HD_TEMPLATE V eval(const P& p) const { return op(c.template eval<V>(p)); }
  template <class V, class P>
  TSGAN_HD_TEMPLATE auto trace(const P& p) const {
    auto tc = c.template trace<V>(p);
    return UnaryTrace<V, decltype(tc)>{op(tc.y), tc};
  }
  template <class V, class P, class Tr>
  TSGAN_HD_TEMPLATE void backward(const Tr& t, V adj, const P& p) const {
    if constexpr (C::has_grad) c.backward(t.c, adj * op.dx(t.c.y, t.y), p);
  }
  // After the backward loop: leaves that broadcast fold their gradient (see autograd/var.hpp).
  void finish() {
    if constexpr (C::has_grad) c.finish();
  }
};

template <class Op, class A, class B>
struct BinaryEval {
  static constexpr bool has_grad = A::has_grad || B::has_grad;
  static constexpr std::size_t min_split = std::max(A::min_split, B::min_split);
  Op op;
  A a;
  B b;
  template <std::size_t K>
  TSGAN_HD void begin_row(const index_t* outer) {
    a.template begin_row<K>(outer);
    b.template begin_row<K>(outer);
  }
  template <class V, class P>
  TSGAN_HD_TEMPLATE V eval(const P& p) const { return op(a.template eval<V>(p), b.template eval<V>(p)); }
  template <class V, class P>
  TSGAN_HD_TEMPLATE auto trace(const P& p) const {
    auto ta = a.template trace<V>(p);
    auto tb = b.template trace<V>(p);
    return BinaryTrace<V, decltype(ta), decltype(tb)>{op(ta.y, tb.y), ta, tb};
  }
  template <class V, class P, class Tr>
  TSGAN_HD_TEMPLATE void backward(const Tr& t, V adj, const P& p) const {
    if constexpr (A::has_grad) a.backward(t.a, adj * op.da(t.a.y, t.b.y, t.y), p);
    if constexpr (B::has_grad) b.backward(t.b, adj * op.db(t.a.y, t.b.y, t.y), p);
  }
  void finish() {
    if constexpr (A::has_grad) a.finish();
    if constexpr (B::has_grad) b.finish();
  }
};

template <class Op, class C, class A, class B>
struct TernaryEval {
  static constexpr bool has_grad = A::has_grad || B::has_grad;
  static constexpr std::size_t min_split = std::max({C::min_split, A::min_split, B::min_split});
  Op op;
  C c;
  A a;
  B b;
  template <std::size_t K>
  TSGAN_HD void begin_row(const index_t* outer) {
    c.template begin_row<K>(outer);
    a.template begin_row<K>(outer);
    b.template begin_row<K>(outer);
  }
  template <class V, class P>
  TSGAN_HD_TEMPLATE V eval(const P& p) const {
    return op(c.template eval<V>(p), a.template eval<V>(p), b.template eval<V>(p));
  }
  template <class V, class P>
  TSGAN_HD_TEMPLATE auto trace(const P& p) const {
    auto tc = c.template trace<V>(p);
    auto ta = a.template trace<V>(p);
    auto tb = b.template trace<V>(p);
    return TernaryTrace<V, decltype(tc), decltype(ta), decltype(tb)>{op(tc.y, ta.y, tb.y), tc, ta, tb};
  }
  template <class V, class P, class Tr>
  TSGAN_HD_TEMPLATE void backward(const Tr& t, V adj, const P& p) const {
    if constexpr (A::has_grad) a.backward(t.a, adj * op.da(t.c.y, t.a.y, t.b.y, t.y), p);
    if constexpr (B::has_grad) b.backward(t.b, adj * op.db(t.c.y, t.a.y, t.b.y, t.y), p);
  }
  void finish() {
    if constexpr (A::has_grad) a.finish();
    if constexpr (B::has_grad) b.finish();
  }
};

// Writes the destination of an assignment: a tensor or a view, by row (CPU) or by element (GPU).
template <class T, class Layout>
struct DestEval {
  static constexpr std::size_t min_split = Layout::min_split;
  T* data;
  T* row = nullptr;
  template <std::size_t K>
  TSGAN_HD void begin_row(const index_t* outer) {
    row = data + Layout::template row_offset<K>(outer);
  }
  template <class V, std::size_t K>
  void store(const RowPos<K>& p, V v) const {
    store_value<V>(row + p.i, v, p.n);
  }
  template <class V, std::size_t K>
  void stream(const RowPos<K>& p, V v) const {
    T* dst = row + p.i;
    if (p.n == V::width && reinterpret_cast<std::uintptr_t>(dst) % sizeof(typename V::Packet) == 0) v.stream(dst);
    else store_value<V>(dst, v, p.n);
  }
  template <class V, std::size_t R>
  TSGAN_HD_TEMPLATE void store(const ElementPos<R>& p, V v) const {
    data[Layout::element_offset(p.linear, p.idx)] = v;
  }
};

template <class Dst>
auto dest_evaluator(const Dst& dst) {
  using D = std::remove_cvref_t<Dst>;
  using S = typename D::shape;
  using T = typename D::value_type;
  return DestEval<T, LeafLayout<S, typename D::strides, S>>{const_cast<T*>(dst.data())};
}

// What every device's assign() checks first.
template <class T>
concept Computable = std::is_same_v<T, float> || std::is_same_v<T, double>;

template <class Expected, class Given>
struct CheckAssignable {
  static constexpr bool value = broadcasts_to_v<Given, Expected>;
  static_assert(value, "tsgan: cannot assign an expression of this shape to this destination "
                       "(first: destination shape, second: expression shape; the expression must "
                       "equal or broadcast to the destination)");
};

// ---- expression nodes -------------------------------------------------------------------------
template <class T, ShapeType S, class D>
struct ExprTraits {
  using value_type = T;
  using shape = S;
  using device = D;
  static constexpr bool is_expression = true;
  static constexpr bool has_var = false;      // reads a Var (autograd/var.hpp): differentiable
  static constexpr std::size_t var_leaves = 0;
};

// The evaluator the backward pass uses: leaves that read a Var also write its gradient. Nodes
// without a Var use their plain evaluator.
template <ShapeType Out, class N, class Ctx>
auto grad_evaluator(const N& n, Ctx& ctx) {
  if constexpr (N::has_var) return n.template grad_evaluator<Out>(ctx);
  else return n.template evaluator<Out>();
}

// Reads a tensor or a view by pointer; the tensor must outlive the expression.
template <class T, ShapeType S, class D, class St>
struct TensorLeaf : ExprTraits<T, S, D> {
  const T* data;
  template <ShapeType Out>
  auto evaluator() const {
    return TensorLeafEval<T, LeafLayout<S, St, Out>>{data};
  }
};

// Keeps a temporary tensor alive inside the expression that reads it.
template <class T, ShapeType S, class D>
struct OwnedLeaf : ExprTraits<T, S, D> {
  Tensor<T, S, D> tensor;
  template <ShapeType Out>
  auto evaluator() const {
    return TensorLeafEval<T, LeafLayout<S, default_strides_t<S>, Out>>{tensor.data()};
  }
};

template <class T, class D>
struct ScalarLeaf : ExprTraits<T, Shape<>, D> {
  T value;
  template <ShapeType Out>
  auto evaluator() const {
    return ScalarLeafEval<T>{value};
  }
};

template <class Op, class C>
struct UnaryExpr : ExprTraits<typename C::value_type, typename C::shape, typename C::device> {
  static constexpr bool has_var = C::has_var;
  static constexpr std::size_t var_leaves = C::var_leaves;
  Op op;
  C c;
  template <ShapeType Out>
  auto evaluator() const {
    using CE = decltype(c.template evaluator<Out>());
    return UnaryEval<Op, CE>{op, c.template evaluator<Out>()};
  }
  template <ShapeType Out, class Ctx>
  auto grad_evaluator(Ctx& ctx) const {
    auto ce = expr::grad_evaluator<Out>(c, ctx);
    return UnaryEval<Op, decltype(ce)>{op, ce};
  }
};

template <class Op, class A, class B>
struct BinaryExpr : ExprTraits<typename A::value_type, broadcast_t<typename A::shape, typename B::shape>,
                               typename A::device> {
  static constexpr bool has_var = A::has_var || B::has_var;
  static constexpr std::size_t var_leaves = A::var_leaves + B::var_leaves;
  Op op;
  A a;
  B b;
  template <ShapeType Out>
  auto evaluator() const {
    using AE = decltype(a.template evaluator<Out>());
    using BE = decltype(b.template evaluator<Out>());
    return BinaryEval<Op, AE, BE>{op, a.template evaluator<Out>(), b.template evaluator<Out>()};
  }
  template <ShapeType Out, class Ctx>
  auto grad_evaluator(Ctx& ctx) const {
    auto ae = expr::grad_evaluator<Out>(a, ctx);  // left to right: the order backward visits leaves
    auto be = expr::grad_evaluator<Out>(b, ctx);
    return BinaryEval<Op, decltype(ae), decltype(be)>{op, ae, be};
  }
};

template <class Op, class C, class A, class B>
struct TernaryExpr
    : ExprTraits<typename A::value_type,
                 broadcast_t<typename C::shape, broadcast_t<typename A::shape, typename B::shape>>,
                 typename A::device> {
  static constexpr bool has_var = C::has_var || A::has_var || B::has_var;
  static constexpr std::size_t var_leaves = C::var_leaves + A::var_leaves + B::var_leaves;
  Op op;
  C c;
  A a;
  B b;
  template <ShapeType Out, class Ctx>
  auto grad_evaluator(Ctx& ctx) const {
    auto ce = expr::grad_evaluator<Out>(c, ctx);
    auto ae = expr::grad_evaluator<Out>(a, ctx);
    auto be = expr::grad_evaluator<Out>(b, ctx);
    return TernaryEval<Op, decltype(ce), decltype(ae), decltype(be)>{op, ce, ae, be};
  }
  template <ShapeType Out>
  auto evaluator() const {
    using CE = decltype(c.template evaluator<Out>());
    using AE = decltype(a.template evaluator<Out>());
    using BE = decltype(b.template evaluator<Out>());
    return TernaryEval<Op, CE, AE, BE>{op, c.template evaluator<Out>(), a.template evaluator<Out>(),
                                       b.template evaluator<Out>()};
  }
};

// ---- turning operands into nodes --------------------------------------------------------------
// Adapter<X>::make(x) turns an operand into a node. Tensors and views become leaves (an rvalue
// tensor is moved into its leaf); nodes pass through. autograd/var.hpp adds Var.
template <class X>
struct Adapter {
  template <class Y>
  static Y&& make(Y&& y) { return std::forward<Y>(y); }
};
template <class T, class S, class D>
struct Adapter<Tensor<T, S, D>> {
  static TensorLeaf<T, S, D, default_strides_t<S>> make(const Tensor<T, S, D>& t) {
    TensorLeaf<T, S, D, default_strides_t<S>> leaf;
    leaf.data = t.data();
    return leaf;
  }
  static OwnedLeaf<T, S, D> make(Tensor<T, S, D>&& t) {
    OwnedLeaf<T, S, D> leaf;
    leaf.tensor = std::move(t);
    return leaf;
  }
};
template <class T, class S, class D, class St>
struct Adapter<TensorView<T, S, D, St>> {
  static auto make(const TensorView<T, S, D, St>& v) {
    TensorLeaf<std::remove_const_t<T>, S, D, St> leaf;
    leaf.data = v.data();
    return leaf;
  }
};

template <Expression X>
auto as_node(X&& x) {
  return Adapter<std::remove_cvref_t<X>>::make(std::forward<X>(x));
}

template <class X>
using node_t = std::remove_cvref_t<decltype(as_node(std::declval<X>()))>;

// The value type and device of an operand list: taken from the first expression among them.
template <class... X>
struct CommonOperand;
template <class X, class... Rest>
struct CommonOperand<X, Rest...> {
  using next = CommonOperand<Rest...>;
  static constexpr bool found = Expression<X>;
  using value_type = typename std::conditional_t<Expression<X>, std::remove_cvref_t<X>, next>::value_type;
  using device = typename std::conditional_t<Expression<X>, std::remove_cvref_t<X>, next>::device;
};
template <>
struct CommonOperand<> {
  using value_type = float;
  using device = cpu;
};

template <class T, class D, class X>
auto operand(X&& x) {
  if constexpr (Expression<X>) {
    using N = node_t<X>;
    static_assert(CheckSameValueType<T, typename N::value_type>::value);
    static_assert(CheckSameDevice<D, typename N::device>::value);
    return as_node(std::forward<X>(x));
  } else {
    ScalarLeaf<T, D> s;
    s.value = static_cast<T>(x);
    return s;
  }
}

template <class Op, class X>
auto make_unary(Op op, X&& x) {
  using C = node_t<X>;
  return UnaryExpr<Op, C>{{}, op, as_node(std::forward<X>(x))};
}

template <class Op, class A, class B>
auto make_binary(Op op, A&& a, B&& b) {
  using Common = CommonOperand<A, B>;
  using T = typename Common::value_type;
  using D = typename Common::device;
  auto na = operand<T, D>(std::forward<A>(a));
  auto nb = operand<T, D>(std::forward<B>(b));
  using NA = decltype(na);
  using NB = decltype(nb);
  static_assert(BroadcastShapes<typename NA::shape, typename NB::shape>::ok);
  return BinaryExpr<Op, NA, NB>{{}, op, std::move(na), std::move(nb)};
}

template <class Op, class C, class A, class B>
auto make_ternary(Op op, C&& c, A&& a, B&& b) {
  using Common = CommonOperand<A, B, C>;
  using T = typename Common::value_type;
  using D = typename Common::device;
  auto nc = operand<T, D>(std::forward<C>(c));
  auto na = operand<T, D>(std::forward<A>(a));
  auto nb = operand<T, D>(std::forward<B>(b));
  using NC = decltype(nc);
  using NA = decltype(na);
  using NB = decltype(nb);
  static_assert(BroadcastShapes<typename NA::shape, typename NB::shape>::ok &&
                BroadcastShapes<typename NC::shape, broadcast_t<typename NA::shape, typename NB::shape>>::ok);
  return TernaryExpr<Op, NC, NA, NB>{{}, op, std::move(nc), std::move(na), std::move(nb)};
}

template <class A, class B>
concept Operands = (Expression<A> && (Expression<B> || std::is_arithmetic_v<std::remove_cvref_t<B>>)) ||
                   (Expression<B> && std::is_arithmetic_v<std::remove_cvref_t<A>>);

}  // namespace expr

// ---- the user-facing vocabulary ---------------------------------------------------------------
#define TSGAN_BINARY_OPERATOR(sym, Op)                                        \
  template <class A, class B>                                                 \
    requires expr::Operands<A, B>                                             \
  auto operator sym(A&& a, B&& b) {                                           \
    return expr::make_binary(ops::Op{}, std::forward<A>(a), std::forward<B>(b)); \
  }
TSGAN_BINARY_OPERATOR(+, Add)
TSGAN_BINARY_OPERATOR(-, Sub)
TSGAN_BINARY_OPERATOR(*, Mul)
TSGAN_BINARY_OPERATOR(/, Div)
TSGAN_BINARY_OPERATOR(<, Less)
TSGAN_BINARY_OPERATOR(<=, LessEqual)
TSGAN_BINARY_OPERATOR(>, Greater)
TSGAN_BINARY_OPERATOR(>=, GreaterEqual)
#undef TSGAN_BINARY_OPERATOR

template <class A, class B>
  requires expr::Operands<A, B>
auto equal(A&& a, B&& b) {
  return expr::make_binary(ops::Equal{}, std::forward<A>(a), std::forward<B>(b));
}
// Elementwise minimum and maximum (numpy's names; min/max are reductions, see reduce.hpp).
template <class A, class B>
  requires expr::Operands<A, B>
auto minimum(A&& a, B&& b) {
  return expr::make_binary(ops::Min{}, std::forward<A>(a), std::forward<B>(b));
}
template <class A, class B>
  requires expr::Operands<A, B>
auto maximum(A&& a, B&& b) {
  return expr::make_binary(ops::Max{}, std::forward<A>(a), std::forward<B>(b));
}

template <Expression X>
auto operator-(X&& x) {
  return expr::make_unary(ops::Neg{}, std::forward<X>(x));
}

#define TSGAN_UNARY_FUNCTION(name, Op)                       \
  template <Expression X>                                    \
  auto name(X&& x) {                                         \
    return expr::make_unary(ops::Op{}, std::forward<X>(x));  \
  }
TSGAN_UNARY_FUNCTION(exp, Exp)
TSGAN_UNARY_FUNCTION(log, Log)
TSGAN_UNARY_FUNCTION(sqrt, Sqrt)
TSGAN_UNARY_FUNCTION(rsqrt, Rsqrt)
TSGAN_UNARY_FUNCTION(abs, Abs)
TSGAN_UNARY_FUNCTION(sign, Sign)
TSGAN_UNARY_FUNCTION(square, Square)
TSGAN_UNARY_FUNCTION(tanh, Tanh)
TSGAN_UNARY_FUNCTION(sigmoid, Sigmoid)
TSGAN_UNARY_FUNCTION(relu, Relu)
TSGAN_UNARY_FUNCTION(softplus, Softplus)
#undef TSGAN_UNARY_FUNCTION

template <Expression X>
auto pow(X&& x, double exponent) {
  using T = typename std::remove_cvref_t<X>::value_type;
  return expr::make_unary(ops::Pow<T>{static_cast<T>(exponent)}, std::forward<X>(x));
}
template <Expression X>
auto leaky_relu(X&& x, double alpha) {
  using T = typename std::remove_cvref_t<X>::value_type;
  return expr::make_unary(ops::LeakyRelu<T>{static_cast<T>(alpha)}, std::forward<X>(x));
}
template <Expression X>
auto clamp(X&& x, double lo, double hi) {
  using T = typename std::remove_cvref_t<X>::value_type;
  return expr::make_unary(ops::Clamp<T>{static_cast<T>(lo), static_cast<T>(hi)}, std::forward<X>(x));
}
// a where `cond` is non-zero, b elsewhere; all three broadcast together.
template <class C, class A, class B>
  requires(Expression<C> || Expression<A> || Expression<B>)
auto where(C&& cond, A&& a, B&& b) {
  return expr::make_ternary(ops::Where{}, std::forward<C>(cond), std::forward<A>(a), std::forward<B>(b));
}

// Wraps any operand as an expression node (a tensor becomes a leaf that reads it).
template <Expression X>
auto lazy(X&& x) {
  return expr::as_node(std::forward<X>(x));
}

}  // namespace tsgan

#include "tsgan/expr/eval_cpu.hpp"
#if defined(__CUDACC__)
#include "tsgan/expr/eval_cuda.cuh"
#endif
