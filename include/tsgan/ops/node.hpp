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

}  // namespace tsgan::ops
