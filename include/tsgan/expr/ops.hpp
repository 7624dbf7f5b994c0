// Elementwise operations. Each op is one small struct: its forward and its partial derivatives,
// written once as templates on the value type V (a scalar on either device, or the CPU's SIMD
// Vec<T>). The expression evaluators, the fused backward pass and the CUDA kernels all call these.
//
//   unary:   y = op(x);        op.dx(x, y)       = ∂y/∂x
//   binary:  y = op(a, b);     op.da(a, b, y), op.db(a, b, y)
//   ternary: y = op(c, a, b);  op.da(c, a, b, y), op.db(c, a, b, y)  (no gradient to c)
#pragma once

#include "tsgan/expr/math.hpp"
// Before the templates: qualified calls bind at definition. Empty in nvcc's device pass, where the
// op structs are only ever instantiated with scalars.
#include "tsgan/expr/vec_cpu.hpp"

// Host-device templates; nvcc only instantiates them for the device with scalar value types.
#define TSGAN_HD_TEMPLATE TSGAN_HD

namespace tsgan::ops {

// ---- unary ------------------------------------------------------------------------------------
struct Identity {
  template <class V> TSGAN_HD_TEMPLATE V operator()(V x) const { return x; }
  template <class V> TSGAN_HD_TEMPLATE V dx(V, V) const { return V(1); }
};
struct Neg {
  template <class V> TSGAN_HD_TEMPLATE V operator()(V x) const { return -x; }
  template <class V> TSGAN_HD_TEMPLATE V dx(V, V) const { return V(-1); }
};
struct Exp {
  template <class V> TSGAN_HD_TEMPLATE V operator()(V x) const { return math::exp(x); }
  template <class V> TSGAN_HD_TEMPLATE V dx(V, V y) const { return y; }
};
struct Log {
  template <class V> TSGAN_HD_TEMPLATE V operator()(V x) const { return math::log(x); }
  template <class V> TSGAN_HD_TEMPLATE V dx(V x, V) const { return V(1) / x; }
};
struct Sqrt {
  template <class V> TSGAN_HD_TEMPLATE V operator()(V x) const { return math::sqrt(x); }
  template <class V> TSGAN_HD_TEMPLATE V dx(V, V y) const { return V(0.5) / y; }
};
struct Rsqrt {
  template <class V> TSGAN_HD_TEMPLATE V operator()(V x) const { return math::rsqrt(x); }
  template <class V> TSGAN_HD_TEMPLATE V dx(V, V y) const { return V(-0.5) * y * y * y; }
};
struct Abs {
  template <class V> TSGAN_HD_TEMPLATE V operator()(V x) const { return math::abs(x); }
  // sign(x): zero at zero, as in PyTorch.
  template <class V> TSGAN_HD_TEMPLATE V dx(V x, V) const {
    return math::select(x > V(0), V(1), math::select(x < V(0), V(-1), V(0)));
  }
};
struct Sign {
  template <class V> TSGAN_HD_TEMPLATE V operator()(V x) const {
    return math::select(x > V(0), V(1), math::select(x < V(0), V(-1), V(0)));
  }
  template <class V> TSGAN_HD_TEMPLATE V dx(V, V) const { return V(0); }
};
struct Square {
  template <class V> TSGAN_HD_TEMPLATE V operator()(V x) const { return x * x; }
  template <class V> TSGAN_HD_TEMPLATE V dx(V x, V) const { return V(2) * x; }
};
template <class T>
struct Pow {
  T exponent;
  template <class V> TSGAN_HD_TEMPLATE V operator()(V x) const { return math::pow(x, V(exponent)); }
  template <class V> TSGAN_HD_TEMPLATE V dx(V x, V) const {
    return V(exponent) * math::pow(x, V(exponent - T(1)));
  }
};
struct Tanh {
  template <class V> TSGAN_HD_TEMPLATE V operator()(V x) const { return math::tanh(x); }
  template <class V> TSGAN_HD_TEMPLATE V dx(V, V y) const { return V(1) - y * y; }
};
struct Sigmoid {
  template <class V> TSGAN_HD_TEMPLATE V operator()(V x) const { return V(1) / (V(1) + math::exp(-x)); }
  template <class V> TSGAN_HD_TEMPLATE V dx(V, V y) const { return y * (V(1) - y); }
};
struct Relu {
  template <class V> TSGAN_HD_TEMPLATE V operator()(V x) const { return math::max(x, V(0)); }
  template <class V> TSGAN_HD_TEMPLATE V dx(V x, V) const { return math::select(x > V(0), V(1), V(0)); }
};
template <class T>
struct LeakyRelu {
  T alpha;
  template <class V> TSGAN_HD_TEMPLATE V operator()(V x) const { return math::select(x > V(0), x, V(alpha) * x); }
  template <class V> TSGAN_HD_TEMPLATE V dx(V x, V) const { return math::select(x > V(0), V(1), V(alpha)); }
};
// log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|).
struct Softplus {
  template <class V> TSGAN_HD_TEMPLATE V operator()(V x) const {
    return math::max(x, V(0)) + math::log1p(math::exp(-math::abs(x)));
  }
  template <class V> TSGAN_HD_TEMPLATE V dx(V x, V) const { return V(1) / (V(1) + math::exp(-x)); }
};
template <class T>
struct Clamp {
  T lo, hi;
  template <class V> TSGAN_HD_TEMPLATE V operator()(V x) const { return math::min(math::max(x, V(lo)), V(hi)); }
  // Passes the gradient inside [lo, hi], edges included (as PyTorch).
  template <class V> TSGAN_HD_TEMPLATE V dx(V x, V) const {
    return math::select(x < V(lo), V(0), math::select(x > V(hi), V(0), V(1)));
  }
};

// ---- binary -----------------------------------------------------------------------------------
struct Add {
  template <class V> TSGAN_HD_TEMPLATE V operator()(V a, V b) const { return a + b; }
  template <class V> TSGAN_HD_TEMPLATE V da(V, V, V) const { return V(1); }
  template <class V> TSGAN_HD_TEMPLATE V db(V, V, V) const { return V(1); }
};
struct Sub {
  template <class V> TSGAN_HD_TEMPLATE V operator()(V a, V b) const { return a - b; }
  template <class V> TSGAN_HD_TEMPLATE V da(V, V, V) const { return V(1); }
  template <class V> TSGAN_HD_TEMPLATE V db(V, V, V) const { return V(-1); }
};
struct Mul {
  template <class V> TSGAN_HD_TEMPLATE V operator()(V a, V b) const { return a * b; }
  template <class V> TSGAN_HD_TEMPLATE V da(V, V b, V) const { return b; }
  template <class V> TSGAN_HD_TEMPLATE V db(V a, V, V) const { return a; }
};
struct Div {
  template <class V> TSGAN_HD_TEMPLATE V operator()(V a, V b) const { return a / b; }
  template <class V> TSGAN_HD_TEMPLATE V da(V, V b, V) const { return V(1) / b; }
  template <class V> TSGAN_HD_TEMPLATE V db(V, V b, V y) const { return -y / b; }
};
// Ties split the gradient in half between the operands (PyTorch's minimum/maximum).
struct Min {
  template <class V> TSGAN_HD_TEMPLATE V operator()(V a, V b) const { return math::select(b < a, b, a); }
  template <class V> TSGAN_HD_TEMPLATE V da(V a, V b, V) const {
    return math::select(a < b, V(1), math::select(a == b, V(0.5), V(0)));
  }
  template <class V> TSGAN_HD_TEMPLATE V db(V a, V b, V) const {
    return math::select(b < a, V(1), math::select(a == b, V(0.5), V(0)));
  }
};
struct Max {
  template <class V> TSGAN_HD_TEMPLATE V operator()(V a, V b) const { return math::select(a < b, b, a); }
  template <class V> TSGAN_HD_TEMPLATE V da(V a, V b, V) const {
    return math::select(a > b, V(1), math::select(a == b, V(0.5), V(0)));
  }
  template <class V> TSGAN_HD_TEMPLATE V db(V a, V b, V) const {
    return math::select(b > a, V(1), math::select(a == b, V(0.5), V(0)));
  }
};
// Comparisons yield 1 or 0 and pass no gradient; they feed where() and masks.
#define TSGAN_COMPARISON(Name, op)                                                               \
  struct Name {                                                                                   \
    template <class V> TSGAN_HD_TEMPLATE V operator()(V a, V b) const {                           \
      return math::select(a op b, V(1), V(0));                                                    \
    }                                                                                             \
    template <class V> TSGAN_HD_TEMPLATE V da(V, V, V) const { return V(0); }                     \
    template <class V> TSGAN_HD_TEMPLATE V db(V, V, V) const { return V(0); }                     \
  };
TSGAN_COMPARISON(Less, <)
TSGAN_COMPARISON(LessEqual, <=)
TSGAN_COMPARISON(Greater, >)
TSGAN_COMPARISON(GreaterEqual, >=)
TSGAN_COMPARISON(Equal, ==)
#undef TSGAN_COMPARISON

// ---- ternary ----------------------------------------------------------------------------------
// where(c, a, b): a where c is non-zero, else b.
struct Where {
  template <class V> TSGAN_HD_TEMPLATE V operator()(V c, V a, V b) const { return math::select(c != V(0), a, b); }
  template <class V> TSGAN_HD_TEMPLATE V da(V c, V, V, V) const { return math::select(c != V(0), V(1), V(0)); }
  template <class V> TSGAN_HD_TEMPLATE V db(V c, V, V, V) const { return math::select(c != V(0), V(0), V(1)); }
};

}  // namespace tsgan::ops
