// Var<T, Shape, Device>: a value on the tape and, when it requires one, its gradient.
//
// A Var is a cheap handle (graph, value, gradient slot). Values produced by operations live in
// slots in the graph's arena until Graph::reset(). Vars are expression operands: an elementwise
// expression over Vars assigned to a Var is ONE tape node whose forward is one pass and whose
// backward is one pass too — each element's trace is recomputed from the leaves and pushed through
// the op structs' derivative rules (expr/expr.hpp) straight into the leaves' gradients.
//
// A Var lasts one generation of its graph (until Graph::reset() or the graph's end); using it later
// is an error (autograd/graph.hpp).
//
// Gradients are written, not zeroed and added: the first contribution overwrites the buffer and
// later ones add (GradSlot), so a step pays no memset per gradient.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <utility>

#include "tsgan/autograd/graph.hpp"
#include "tsgan/core/profile.hpp"
#include "tsgan/expr/expr.hpp"
#include "tsgan/expr/reduce.hpp"

namespace tsgan {

template <class T, ShapeType S, class D>
class GradSlot {
 public:
  // Where the next contribution goes, and whether it adds to what is there.
  struct Target {
    T* data;
    bool accumulate;
  };
  Target target() {
    if (!tensor_) tensor_.emplace(uninitialized);
    const bool acc = ready_;
    ready_ = true;
    return {tensor_->data(), acc};
  }
  // Allocates the buffer now, without a gradient in it: an optimizer reserves its parameters'
  // gradients up front, so that the first step's allocations are those of every later step.
  void reserve() {
    if (!tensor_) tensor_.emplace(uninitialized);
  }
  bool ready() const { return ready_; }
  const Tensor<T, S, D>& tensor() const { return *tensor_; }
  Tensor<T, S, D>& tensor() { return *tensor_; }
  // Forgets the gradient but keeps its memory (zero_grad of a parameter).
  void clear() { ready_ = false; }
  // Forgets the gradient and returns its memory to the allocator.
  void release() {
    ready_ = false;
    tensor_.reset();
  }

 private:
  std::optional<Tensor<T, S, D>> tensor_;
  bool ready_ = false;
};

// A value computed during a step, with room for its gradient; lives in the graph's arena.
template <class T, ShapeType S, class D>
struct Slot {
  Tensor<T, S, D> value;
  GradSlot<T, S, D> grad;
  explicit Slot(uninitialized_t) : value(uninitialized) {}
  explicit Slot(Tensor<T, S, D>&& v) : value(std::move(v)) {}
};

// A trainable tensor: value, gradient and its PyTorch-style name (given by the module visitor).
template <class T, ShapeType S, class D = cpu>
class Param {
 public:
  using value_type = T;
  using shape = S;
  using device = D;

  Param() = default;
  Param(Param&&) noexcept = default;
  Param& operator=(Param&&) noexcept = default;

  Tensor<T, S, D>& value() { return value_; }
  const Tensor<T, S, D>& value() const { return value_; }
  bool has_grad() const { return grad_.ready(); }
  const Tensor<T, S, D>& grad() const {
    if (!grad_.ready()) fail("tsgan: parameter '{}' has no gradient (no backward pass reached it since zero_grad)", name_);
    return grad_.tensor();
  }
  GradSlot<T, S, D>& grad_slot() { return grad_; }
  void zero_grad() { grad_.clear(); }

  // A frozen parameter is read as a constant: gradients flow through it to its inputs, never into it.
  bool requires_grad() const { return requires_grad_; }
  void set_requires_grad(bool on) { requires_grad_ = on; }

  const std::string& name() const { return name_; }
  void set_name(std::string n) { name_ = std::move(n); }

 private:
  Tensor<T, S, D> value_;
  GradSlot<T, S, D> grad_;
  std::string name_;
  bool requires_grad_ = true;
};

template <class X>
struct is_var : std::false_type {};
template <class T, class S, class D>
struct is_var<Var<T, S, D>> : std::true_type {};

namespace expr {

// A Var read by an expression. Its backward writes straight into the Var's gradient when the leaf
// has the output's shape; a leaf that broadcasts writes a full-size temporary that finish() sums
// over the broadcast axes into the gradient.
template <class T, class Layout, ShapeType LeafS, ShapeType Out, class D>
struct VarLeafEval : TensorLeafEval<T, Layout> {
  using GradLayout = LeafLayout<Out, default_strides_t<Out>, Out>;
  static constexpr bool has_grad = true;
  T* grad = nullptr;  // null when this Var needs no gradient
  T* grad_row = nullptr;
  bool accumulate = false;
  GradSlot<T, LeafS, D>* fold_into = nullptr;  // set for broadcasting leaves

  template <std::size_t K>
  TSGAN_HD void begin_row(const index_t* outer) {
    TensorLeafEval<T, Layout>::template begin_row<K>(outer);
    if (grad) grad_row = grad + GradLayout::template row_offset<K>(outer);
  }

  template <class V, std::size_t K>
  TSGAN_HD_TEMPLATE void backward(const LeafTrace<V>&, V adj, const RowPos<K>& p) const {
    if (!grad) return;
    T* g = grad_row + p.i;
    store_value<V>(g, accumulate ? load_value<V>(g, p.n) + adj : adj, p.n);
  }
  template <class V, std::size_t R>
  TSGAN_HD_TEMPLATE void backward(const LeafTrace<V>&, V adj, const ElementPos<R>& p) const {
    if (!grad) return;
    T* g = grad + p.linear;
    *g = accumulate ? *g + adj : adj;
  }

  void finish() {
    if constexpr (!Layout::identity) {
      if (!fold_into) return;
      const auto target = fold_into->target();
      TensorLeaf<T, Out, D, default_strides_t<Out>> full;
      full.data = grad;
      reduction::reduce_on<D, reduction::Sum, broadcast_axes_t<LeafS, Out>>(target.data, full, target.accumulate);
    }
  }
};

// Temporaries for the gradients of broadcasting leaves during one backward pass.
template <class T, class D, std::size_t N>
struct GradTemps {
  std::array<Buffer<T, D>, (N > 0 ? N : 1)> buffers;
  std::size_t used = 0;
  T* take(std::size_t count) {
    buffers[used] = Buffer<T, D>(count);
    return buffers[used++].data();
  }
};

template <class T, ShapeType S, class D>
struct VarLeaf : ExprTraits<T, S, D> {
  static constexpr bool has_var = true;
  static constexpr std::size_t var_leaves = 1;
  Graph* graph;
  const T* data;
  GradSlot<T, S, D>* slot;  // null when no gradient is needed

  template <ShapeType Out>
  auto evaluator() const {
    return TensorLeafEval<T, LeafLayout<S, default_strides_t<S>, Out>>{data};
  }
  template <ShapeType Out, class Ctx>
  auto grad_evaluator(Ctx& temps) const {
    using Layout = LeafLayout<S, default_strides_t<S>, Out>;
    VarLeafEval<T, Layout, S, Out, D> e;
    e.data = data;
    if (slot == nullptr) return e;
    if constexpr (Layout::identity) {
      const auto target = slot->target();
      e.grad = target.data;
      e.accumulate = target.accumulate;
    } else {
      e.grad = temps.take(static_cast<std::size_t>(Out::size));
      e.fold_into = slot;
    }
    return e;
  }
};

template <class T, class S, class D>
struct Adapter<Var<T, S, D>> {
  static VarLeaf<T, S, D> make(const Var<T, S, D>& v) {
    VarLeaf<T, S, D> leaf;
    leaf.graph = &v.graph();
    leaf.data = v.value().data();
    leaf.slot = v.grad_slot();
    return leaf;
  }
};

// Calls f(leaf) for every Var leaf of a node, left to right.
template <class N, class F>
void for_each_var_leaf(const N& n, F&& f) {
  if constexpr (!N::has_var) {
    return;
  } else if constexpr (requires { n.slot; n.graph; }) {
    f(n);
  } else if constexpr (requires { n.c; n.a; n.b; }) {
    for_each_var_leaf(n.c, f);
    for_each_var_leaf(n.a, f);
    for_each_var_leaf(n.b, f);
  } else if constexpr (requires { n.a; n.b; }) {
    for_each_var_leaf(n.a, f);
    for_each_var_leaf(n.b, f);
  } else {
    for_each_var_leaf(n.c, f);
  }
}

// The graph an expression over Vars belongs to, and whether its result needs a gradient.
template <class N>
std::pair<Graph*, bool> graph_of(const N& n) {
  Graph* g = nullptr;
  bool needs_grad = false;
  for_each_var_leaf(n, [&](const auto& leaf) {
    if (g != nullptr && leaf.graph != g) fail("tsgan: an expression mixes Vars of two different graphs");
    g = leaf.graph;
    needs_grad = needs_grad || leaf.slot != nullptr;
  });
  return {g, needs_grad && grad_enabled()};
}

// A recorded node re-reads its leaves during backward(), after the caller's temporaries may be
// gone. So when a node is recorded, every subtree that reads no Var (tensors read by reference,
// constant sub-expressions) is evaluated once into a tensor in the graph's arena; Vars, scalars
// and tensors the expression already owns are kept as they are. This also spares the backward pass
// from recomputing constant sub-expressions.
template <class N>
auto retain_constants(const N& n, Graph& g) {
  if constexpr (!N::has_var) {
    if constexpr (requires { n.value; } || requires { n.tensor; }) {
      return n;  // a scalar, or a tensor the node owns
    } else {
      using T = typename N::value_type;
      using S = typename N::shape;
      using D = typename N::device;
      auto* copy = g.template make<Slot<T, S, D>>(uninitialized);
      assign(copy->value, n);
      TensorLeaf<T, S, D, default_strides_t<S>> leaf;
      leaf.data = copy->value.data();
      return leaf;
    }
  } else if constexpr (requires { n.slot; n.graph; }) {
    return n;  // a Var
  } else if constexpr (requires { n.c; n.a; n.b; }) {
    auto c = retain_constants(n.c, g);
    auto a = retain_constants(n.a, g);
    auto b = retain_constants(n.b, g);
    return TernaryExpr<decltype(n.op), decltype(c), decltype(a), decltype(b)>{{}, n.op, c, a, b};
  } else if constexpr (requires { n.a; n.b; }) {
    auto a = retain_constants(n.a, g);
    auto b = retain_constants(n.b, g);
    return BinaryExpr<decltype(n.op), decltype(a), decltype(b)>{{}, n.op, a, b};
  } else {
    auto c = retain_constants(n.c, g);
    return UnaryExpr<decltype(n.op), decltype(c)>{{}, n.op, c};
  }
}

// Runs the backward pass of a fused expression on the device D (CPU here; kernels/cuda adds the
// GPU), then lets broadcasting leaves fold their gradients.
template <class D, class T, ShapeType Out, class Ev, class Adj>
void run_backward(Ev& ev, const Adj& adj) {
  if constexpr (std::is_same_v<D, cpu>) backward_cpu<T, Out>(ev, adj);
  else backward_device<T, Out>(ev, adj);  // expr/eval_cuda.cuh
}

struct PassAdjoint {
  template <class V>
  TSGAN_HD_TEMPLATE V operator()(V, V g, V, V) const { return g; }
};

}  // namespace expr

// The tape node of a fused elementwise expression.
template <class T, ShapeType S, class D, class N>
class FusedNode final : public Node {
 public:
  FusedNode(N expr, Slot<T, S, D>* out) : expr_(std::move(expr)), out_(out) {}
  void backward() override {
    if (!out_->grad.ready()) return;
    const profile::Scope scope(profile::Op::elementwise_backward);
    expr::GradTemps<T, D, N::var_leaves> temps;
    auto ev = expr::grad_evaluator<S>(expr_, temps);
    using GradLeaf = expr::TensorLeafEval<T, expr::LeafLayout<S, default_strides_t<S>, S>>;
    const expr::AdjointEval<expr::PassAdjoint, GradLeaf> adj{{}, GradLeaf{out_->grad.tensor().data()}};
    expr::run_backward<D, T, S>(ev, adj);
    out_->grad.release();  // read once: give the memory back for the rest of the backward pass
  }

 private:
  N expr_;
  Slot<T, S, D>* out_;
};

template <class T, ShapeType S, class D = cpu>
class Var {
  static_assert(CheckDeviceAvailable<D>::value);

 public:
  using value_type = T;
  using shape = S;
  using device = D;
  static constexpr bool is_expression = true;
  static constexpr std::size_t rank = S::rank;
  static constexpr index_t size = S::size;

  Var(Graph& g, const Tensor<T, S, D>& value, GradSlot<T, S, D>* grad)
      : graph_(&g), value_(&value), grad_(grad), generation_(g.generation()) {}

  // Evaluates an expression over Vars: one pass forward, one tape node whose backward is one pass.
  template <Expression E>
    requires(!is_var<std::remove_cvref_t<E>>::value && expr::node_t<const E&>::has_var)
  Var(const E& e) {  // NOLINT: implicit, like Tensor's evaluation
    auto node = expr::as_node(e);
    using N = decltype(node);
    static_assert(CheckSameShape<S, typename N::shape>::value);
    static_assert(CheckSameValueType<T, typename N::value_type>::value);
    auto [g, needs_grad] = expr::graph_of(node);
    const profile::Scope scope(profile::Op::elementwise_forward);
    auto* slot = g->template make<Slot<T, S, D>>(uninitialized);
    assign(slot->value, node);
    graph_ = g;
    value_ = &slot->value;
    grad_ = needs_grad ? &slot->grad : nullptr;
    generation_ = g->generation();
    if (needs_grad) {
      auto kept = expr::retain_constants(node, *g);
      g->template record<FusedNode<T, S, D, decltype(kept)>>(std::move(kept), slot);
    }
  }

  Graph& graph() const {
    check_alive();
    return *graph_;
  }
  const Tensor<T, S, D>& value() const {
    check_alive();
    return *value_;
  }
  bool requires_grad() const { return grad_ != nullptr; }
  GradSlot<T, S, D>* grad_slot() const {
    check_alive();
    return grad_;
  }
  bool has_grad() const {
    check_alive();
    return grad_ != nullptr && grad_->ready();
  }
  // The gradient after backward(): kept for graph variables and inputs of the differentiated
  // value; intermediate values give theirs back to the allocator once used.
  const Tensor<T, S, D>& grad() const {
    if (!has_grad()) fail("tsgan: this Var has no gradient (it does not require one, or backward() has not reached it)");
    return grad_->tensor();
  }

  // Differentiates this scalar: seeds its gradient with 1 and runs the tape backward.
  void backward() const {
    static_assert(S::size == 1, "tsgan: backward() starts from a single value (a loss); reduce first");
    if (!grad_) fail("tsgan: backward() on a value that needs no gradient (no parameter or variable reaches it, or it was computed under NoGrad)");
    check_alive();
    grad_->target();
    grad_->tensor().fill(T(1));
    graph_->run_backward();
  }

 private:
  void check_alive() const { Graph::check_generation(graph_, generation_); }

  Graph* graph_ = nullptr;
  const Tensor<T, S, D>* value_ = nullptr;
  GradSlot<T, S, D>* grad_ = nullptr;
  std::uint64_t generation_ = 0;
};

// The same value, cut off from the tape: no gradient flows through it.
template <class T, ShapeType S, class D>
Var<T, S, D> detach(const Var<T, S, D>& v) {
  return Var<T, S, D>(v.graph(), v.value(), nullptr);
}

// Evaluates an expression now: a Var when it reads Vars (recorded on their graph), else a Tensor.
template <Expression E>
auto eval(const E& e) {
  using N = expr::node_t<const E&>;
  using T = typename N::value_type;
  using S = typename N::shape;
  using D = typename N::device;
  if constexpr (is_var<std::remove_cvref_t<E>>::value) return e;
  else if constexpr (N::has_var) return Var<T, S, D>(e);
  else return Tensor<T, S, D>(e);
}

// ---- graph leaves ------------------------------------------------------------------------------
template <class T, ShapeType S, class D>
Var<T, S, D> Graph::input(const Tensor<T, S, D>& t) {
  return Var<T, S, D>(*this, t, nullptr);
}
template <class T, ShapeType S, class D>
Var<T, S, D> Graph::input(Tensor<T, S, D>&& t) {
  auto* slot = make<Slot<T, S, D>>(std::move(t));
  return Var<T, S, D>(*this, slot->value, nullptr);
}
template <class T, ShapeType S, class D>
Var<T, S, D> Graph::variable(Tensor<T, S, D> t) {
  auto* slot = make<Slot<T, S, D>>(std::move(t));
  return Var<T, S, D>(*this, slot->value, grad_enabled() ? &slot->grad : nullptr);
}
template <class T, ShapeType S, class D>
Var<T, S, D> Graph::param(Param<T, S, D>& p) {
  return Var<T, S, D>(*this, p.value(), grad_enabled() && p.requires_grad() ? &p.grad_slot() : nullptr);
}

}  // namespace tsgan
