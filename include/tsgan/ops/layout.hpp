// Layout ops on Vars: they move values and compute nothing, and each backward pass is the
// inverse movement of the output gradient.
//
//   flip_horizontal(x)                    reverses the last axis (W of NCHW)
//   pad2d<top, bottom, left, right>(x, v) pads the last two axes with the constant v (default 0)
//   concat<Axis>(a, b)                    joins along Axis; the other dimensions must agree
//   slice<Axis, Start, Count>(x)          elements [Start, Start + Count) of Axis
//   slice_channels<Start, Count>(x)       slice<1, Start, Count>: channels of NCHW
//   split<Axis, Sizes...>(x)              a std::tuple of consecutive slices covering Axis
//   reshape<Shape>(x)                     the same elements, another shape of the same size
//   permute<P...>(x), transpose<A, B>(x)  output axis i is input axis P[i]; B and A swapped
//
// Axes may be negative (counted from the end). Every shape is computed at compile time, and a
// mismatch is a compile error whose instantiation names the shapes (ConcatShapes, CheckSlice,
// CheckReshape, PermuteShape). reshape copies: a Var's value is a Tensor of its own shape, which
// owns its buffer, so it cannot alias a tensor of another shape; a copy costs one pass.
#pragma once

#include <tuple>
#include <type_traits>

#include "tsgan/kernels/cpu/layout.hpp"
#if defined(__CUDACC__)
#include "tsgan/kernels/cuda/layout.cuh"
#endif
#include "tsgan/ops/node.hpp"

namespace tsgan {

template <ShapeType S, int Axis, index_t Start, index_t Count>
struct CheckSlice {
  static constexpr std::size_t axis = CheckAxis<S, Axis>::index;
  static constexpr bool value = Start >= 0 && Count >= 1 && Start + Count <= S::dims[axis];
  static_assert(value, "tsgan: slice out of range: elements [Start, Start + Count) must lie inside the axis "
                       "(in this instantiation: shape, axis, start, count)");
};

template <ShapeType S, int Axis, index_t... Sizes>
struct CheckSplit {
  static constexpr std::size_t axis = CheckAxis<S, Axis>::index;
  static constexpr bool value = ((Sizes >= 1) && ...) && (index_t{0} + ... + Sizes) == S::dims[axis];
  static_assert(value, "tsgan: split sizes must be positive and add up to the dimension of the axis "
                       "(in this instantiation: shape, axis, sizes)");
};

template <ShapeType S, index_t Top, index_t Bottom, index_t Left, index_t Right>
struct CheckPad2d {
  static constexpr bool value = S::rank >= 2 && Top >= 0 && Bottom >= 0 && Left >= 0 && Right >= 0;
  static_assert(value, "tsgan: pad2d pads the last two axes of a tensor of rank 2 or more by non-negative amounts");
};

namespace detail {

// S with dimension Axis replaced by Dim.
template <ShapeType S, std::size_t Axis, index_t Dim>
struct WithDimGen {
  static constexpr std::size_t rank = S::rank;
  static constexpr std::array<index_t, rank> dims = [] {
    auto d = S::dims;
    d[Axis] = Dim;
    return d;
  }();
};
template <ShapeType S, std::size_t Axis, index_t Dim>
using with_dim_t = shape_from_t<WithDimGen<S, Axis, Dim>>;

// A shape cut at an axis: `outer` blocks of `dim` x `inner` elements.
template <ShapeType S, std::size_t Axis>
struct AxisBlocks {
  static constexpr index_t inner = S::strides[Axis], dim = S::dims[Axis], outer = S::size / (dim * inner);
};

// Output axis i of the permutation reads input axis perm[i] of X.
template <ShapeType X, std::size_t R>
constexpr kernels::PermuteGeometry permute_geometry(const std::array<int, R>& perm) {
  kernels::PermuteGeometry g{};
  g.rank = static_cast<int>(R);
  for (std::size_t i = 0; i < R; ++i) {
    const auto a = static_cast<std::size_t>(perm[i]);
    g.dims[i] = X::dims[a];
    g.in_strides[i] = X::strides[a];
    if (a == R - 1) g.q = static_cast<int>(i);
  }
  return g;
}

template <ShapeType X, int... P>
struct PermutePlan {
  using Check = PermuteShape<X, P...>;
  static_assert(Check::ok);
  static_assert(X::rank <= kernels::PermuteGeometry::max_rank, "tsgan: permute supports tensors of rank 8 or less");
  using out = typename Check::type;
  static constexpr std::array<int, X::rank> inverse = [] {
    std::array<int, X::rank> inv{};
    for (std::size_t i = 0; i < X::rank; ++i) inv[static_cast<std::size_t>(Check::perm[i])] = static_cast<int>(i);
    return inv;
  }();
  static constexpr kernels::PermuteGeometry forward = permute_geometry<X>(Check::perm);
  static constexpr kernels::PermuteGeometry backward = permute_geometry<out>(inverse);
};

template <class T, ShapeType A, ShapeType B, ShapeType Y, std::size_t Axis, class D>
class ConcatNode final : public Node {
 public:
  ConcatNode(Var<T, A, D> a, Var<T, B, D> b, Slot<T, Y, D>* out) : a_(a), b_(b), out_(out) {}
  void backward() override {
    const T* dy = ops::output_grad(out_);
    if (!dy) return;
    const profile::Scope scope(profile::Op::layout_backward);
    using K = kernels::LayoutKernels<D>;
    using BA = AxisBlocks<A, Axis>;
    constexpr index_t a_len = BA::dim * BA::inner, b_len = B::dims[Axis] * BA::inner;
    ops::write_grad(a_, [&](T* da, bool acc) { K::copy_rows(BA::outer, a_len, dy, a_len + b_len, da, a_len, acc); });
    ops::write_grad(b_, [&](T* db, bool acc) { K::copy_rows(BA::outer, b_len, dy + a_len, a_len + b_len, db, b_len, acc); });
    out_->grad.release();
  }

 private:
  Var<T, A, D> a_;
  Var<T, B, D> b_;
  Slot<T, Y, D>* out_;
};

}  // namespace detail

template <class T, ShapeType X, class D>
Var<T, X, D> flip_horizontal(const Var<T, X, D>& x) {
  static_assert(X::rank >= 1, "tsgan: flip_horizontal reverses the last axis; a scalar has none");
  using K = kernels::LayoutKernels<D>;
  constexpr index_t w = X::dims[X::rank - 1], rows = X::size / w;
  auto out = ops::make_output<T, X, D>(x.graph(), ops::needs_grad(x));
  K::flip_last(rows, w, x.value().data(), out.data(), false);
  ops::record_unary(x, out, [](const T* dy, T* dx, bool acc) { K::flip_last(rows, w, dy, dx, acc); });
  return out.var(x.graph());
}

template <index_t Top, index_t Bottom, index_t Left, index_t Right, class T, ShapeType X, class D>
auto pad2d(const Var<T, X, D>& x, std::type_identity_t<T> value = T(0)) {
  static_assert(CheckPad2d<X, Top, Bottom, Left, Right>::value);
  constexpr std::size_t r = X::rank;
  constexpr index_t h = X::dims[r - 2], w = X::dims[r - 1];
  using Y = detail::with_dim_t<detail::with_dim_t<X, r - 2, Top + h + Bottom>, r - 1, Left + w + Right>;
  using K = kernels::LayoutKernels<D>;
  static constexpr kernels::PadGeometry g{X::size / (h * w), h, w, Top, Bottom, Left, Right};
  auto out = ops::make_output<T, Y, D>(x.graph(), ops::needs_grad(x));
  K::pad2d(g, x.value().data(), out.data(), value);
  ops::record_unary(x, out, [](const T* dy, T* dx, bool acc) { K::crop2d(g, dy, dx, acc); });
  return out.var(x.graph());
}

template <int Axis, class T, ShapeType A, ShapeType B, class D>
auto concat(const Var<T, A, D>& a, const Var<T, B, D>& b) {
  using Joined = ConcatShapes<Axis, A, B>;
  static_assert(Joined::ok);
  using Y = typename Joined::type;
  using BA = detail::AxisBlocks<A, Joined::axis>;
  using K = kernels::LayoutKernels<D>;
  constexpr index_t a_len = BA::dim * BA::inner, b_len = B::dims[Joined::axis] * BA::inner;
  auto out = ops::make_output<T, Y, D>(a.graph(), ops::needs_grad(a, b));
  const profile::Scope scope(profile::Op::layout_forward);
  K::copy_rows(BA::outer, a_len, a.value().data(), a_len, out.data(), a_len + b_len, false);
  K::copy_rows(BA::outer, b_len, b.value().data(), b_len, out.data() + a_len, a_len + b_len, false);
  if (out.grad) a.graph().template record<detail::ConcatNode<T, A, B, Y, Joined::axis, D>>(a, b, out.slot);
  return out.var(a.graph());
}

template <int Axis, index_t Start, index_t Count, class T, ShapeType X, class D>
auto slice(const Var<T, X, D>& x) {
  using Check = CheckSlice<X, Axis, Start, Count>;
  static_assert(Check::value);
  using Y = detail::with_dim_t<X, Check::axis, Count>;
  using BX = detail::AxisBlocks<X, Check::axis>;
  using K = kernels::LayoutKernels<D>;
  constexpr index_t len = Count * BX::inner, ld = BX::dim * BX::inner, offset = Start * BX::inner;
  auto out = ops::make_output<T, Y, D>(x.graph(), ops::needs_grad(x));
  K::copy_rows(BX::outer, len, x.value().data() + offset, ld, out.data(), len, false);
  ops::record_unary(x, out, [](const T* dy, T* dx, bool acc) {
    if (!acc) K::fill(dx, X::size, T(0));
    K::copy_rows(BX::outer, len, dy, len, dx + offset, ld, true);
  });
  return out.var(x.graph());
}

template <index_t Start, index_t Count, class T, ShapeType X, class D>
auto slice_channels(const Var<T, X, D>& x) {
  return slice<1, Start, Count>(x);
}

namespace detail {
template <index_t... Sizes>
struct SplitStarts {
  static constexpr std::array<index_t, sizeof...(Sizes)> sizes{Sizes...};
  static constexpr std::array<index_t, sizeof...(Sizes)> starts = [] {
    std::array<index_t, sizeof...(Sizes)> s{};
    for (std::size_t i = 1; i < s.size(); ++i) s[i] = s[i - 1] + sizes[i - 1];
    return s;
  }();
};
}  // namespace detail

template <int Axis, index_t... Sizes, class T, ShapeType X, class D>
auto split(const Var<T, X, D>& x) {
  static_assert(CheckSplit<X, Axis, Sizes...>::value);
  using S = detail::SplitStarts<Sizes...>;
  return [&]<std::size_t... I>(std::index_sequence<I...>) {
    return std::tuple(slice<Axis, S::starts[I], S::sizes[I]>(x)...);
  }(std::make_index_sequence<sizeof...(Sizes)>{});
}

template <ShapeType Y, class T, ShapeType X, class D>
Var<T, Y, D> reshape(const Var<T, X, D>& x) {
  static_assert(CheckReshape<X, Y>::value);
  using K = kernels::LayoutKernels<D>;
  auto out = ops::make_output<T, Y, D>(x.graph(), ops::needs_grad(x));
  K::copy_rows(1, X::size, x.value().data(), X::size, out.data(), X::size, false);
  ops::record_unary(x, out, [](const T* dy, T* dx, bool acc) { K::copy_rows(1, X::size, dy, X::size, dx, X::size, acc); });
  return out.var(x.graph());
}

template <int... P, class T, ShapeType X, class D>
auto permute(const Var<T, X, D>& x) {
  using Plan = detail::PermutePlan<X, P...>;
  using K = kernels::LayoutKernels<D>;
  auto out = ops::make_output<T, typename Plan::out, D>(x.graph(), ops::needs_grad(x));
  K::permute(Plan::forward, x.value().data(), out.data(), false);
  ops::record_unary(x, out, [](const T* dy, T* dx, bool acc) { K::permute(Plan::backward, dy, dx, acc); });
  return out.var(x.graph());
}

template <int A, int B, class T, ShapeType X, class D>
auto transpose(const Var<T, X, D>& x) {
  constexpr int a = static_cast<int>(CheckAxis<X, A>::index), b = static_cast<int>(CheckAxis<X, B>::index);
  return [&]<std::size_t... I>(std::index_sequence<I...>) {
    return permute<(int(I) == a ? b : int(I) == b ? a : int(I))...>(x);
  }(std::make_index_sequence<X::rank>{});
}

}  // namespace tsgan
