// What every differentiable operation shares: making its output slot, deciding whether it needs
// a gradient, and writing an input's gradient (overwrite the first time, add afterwards).
//
// An op is written as: a function on Vars that computes the value with a device kernel
// (kernels/<device>/...) and, when any input needs a gradient, records a Node whose backward()
// calls the matching backward kernels. Kernels are static members of a family struct specialised
// per device (`kernels::ConvKernels<cpu>`), so one op serves both devices.
#pragma once

#include "tsgan/autograd/var.hpp"

namespace tsgan::ops {

template <class... V>
bool needs_grad(const V&... vars) {
  return grad_enabled() && (vars.requires_grad() || ...);
}

// The output of an op: a slot in the graph's arena and the Var that reads it.
template <class T, ShapeType S, class D>
struct Output {
  Slot<T, S, D>* slot;
  bool grad;
  Var<T, S, D> var(Graph& g) const { return Var<T, S, D>(g, slot->value, grad ? &slot->grad : nullptr); }
  T* data() const { return slot->value.data(); }
};

template <class T, ShapeType S, class D>
Output<T, S, D> make_output(Graph& g, bool grad) {
  return {g.template make<Slot<T, S, D>>(uninitialized), grad};
}

// Calls write(dst, accumulate) with the input's gradient buffer when the input needs one.
template <class T, ShapeType S, class D, class F>
void write_grad(const Var<T, S, D>& v, F&& write) {
  if (GradSlot<T, S, D>* slot = v.grad_slot()) {
    const auto target = slot->target();
    write(target.data, target.accumulate);
  }
}

// The output gradient of a node, or null when nothing downstream produced one.
template <class T, ShapeType S, class D>
const T* output_grad(const Slot<T, S, D>* out) {
  return out->grad.ready() ? out->grad.tensor().data() : nullptr;
}

// The node of an op with one input whose backward is one kernel call, bw(dy, dx, accumulate):
// most data-movement ops (pooling, resizing, layout). Bw is a small lambda that holds the op's
// geometry (and whatever the forward saved, such as max-pooling's argmax).
template <class T, ShapeType X, ShapeType Y, class D, class Bw>
class UnaryNode final : public Node {
 public:
  UnaryNode(Var<T, X, D> x, Slot<T, Y, D>* out, Bw bw) : x_(x), out_(out), bw_(std::move(bw)) {}
  void backward() override {
    const T* dy = output_grad(out_);
    if (!dy) return;
    write_grad(x_, [&](T* dx, bool acc) { bw_(dy, dx, acc); });
    out_->grad.release();
  }

 private:
  Var<T, X, D> x_;
  Slot<T, Y, D>* out_;
  Bw bw_;
};

// Records a UnaryNode for `out` when it needs a gradient.
template <class T, ShapeType X, ShapeType Y, class D, class Bw>
void record_unary(const Var<T, X, D>& x, const Output<T, Y, D>& out, Bw bw) {
  if (out.grad) x.graph().template record<UnaryNode<T, X, Y, D, Bw>>(x, out.slot, std::move(bw));
}

}  // namespace tsgan::ops
