// Compile-time shapes. A Shape<Dims...> is an empty type whose dimensions, size and row-major
// strides are constants; every helper here computes a new Shape type or fails to compile.
//
// A mismatch is reported by a static_assert inside a checker struct whose template arguments are
// the offending shapes, so the compiler's "In instantiation of ..." line prints both of them next
// to a sentence saying what was expected (xtensor's trick, see docs/architecture.md).
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <type_traits>
#include <utility>

#include "tsgan/core/config.hpp"

namespace tsgan {

template <index_t... Dims>
struct Shape {
  static_assert(((Dims > 0) && ...), "tsgan: every dimension of a Shape must be positive");

  static constexpr std::size_t rank = sizeof...(Dims);
  static constexpr std::array<index_t, rank> dims{Dims...};
  static constexpr index_t size = (index_t{1} * ... * Dims);

  static constexpr std::array<index_t, rank> strides = [] {
    std::array<index_t, rank> s{};
    index_t running = 1;
    for (std::size_t i = rank; i-- > 0;) {
      s[i] = running;
      running *= dims[i];
    }
    return s;
  }();

  static constexpr index_t dim(std::size_t axis) { return dims[axis]; }

  // Row-major offset of an index pack; the caller guarantees the indices are in range.
  template <std::integral... I>
    requires(sizeof...(I) == rank)
  static constexpr index_t offset(I... idx) {
    index_t off = 0;
    std::size_t axis = 0;
    ((off += static_cast<index_t>(idx) * strides[axis++]), ...);
    return off;
  }
};

template <class T>
struct is_shape : std::false_type {};
template <index_t... D>
struct is_shape<Shape<D...>> : std::true_type {};

template <class T>
concept ShapeType = is_shape<T>::value;

// A list of axes for reductions and permutations. Negative axes count from the end, as in numpy.
template <int... A>
struct Axes {
  static constexpr std::size_t count = sizeof...(A);
  static constexpr std::array<int, count> values{A...};
};

namespace detail {

// Builds Shape<G::dims[0], ..., G::dims[G::rank - 1]> from a generator struct G that holds a
// constexpr array; this keeps the shape maths in ordinary constexpr functions.
template <class G, std::size_t... I>
auto shape_from(std::index_sequence<I...>) -> Shape<G::dims[I]...>;

template <class G>
using shape_from_t = decltype(shape_from<G>(std::make_index_sequence<G::rank>{}));

template <std::size_t N>
struct DimArray {
  std::array<index_t, N> v{};
  std::size_t n = 0;
};

constexpr int normalize_axis(int axis, std::size_t rank) {
  return axis < 0 ? axis + static_cast<int>(rank) : axis;
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Equality of shapes.
template <ShapeType Expected, ShapeType Given>
struct CheckSameShape {
  static constexpr bool value = std::is_same_v<Expected, Given>;
  static_assert(value, "tsgan: shape mismatch; the two shapes in this instantiation must be equal "
                       "(first: expected, second: given)");
};

// ---------------------------------------------------------------------------------------------
// numpy broadcasting: dimensions are aligned at the right; each pair must be equal or contain a 1.
namespace detail {
template <ShapeType A, ShapeType B>
struct BroadcastGen {
  static constexpr std::size_t rank = A::rank > B::rank ? A::rank : B::rank;
  static constexpr index_t at(const auto& dims, std::size_t r, std::size_t i) {
    // Dimension i (of the aligned, rank-wide view) of a shape with rank r.
    return i + r < rank ? 1 : dims[i + r - rank];
  }
  static constexpr bool ok = [] {
    for (std::size_t i = 0; i < rank; ++i) {
      index_t a = at(A::dims, A::rank, i), b = at(B::dims, B::rank, i);
      if (a != b && a != 1 && b != 1) return false;
    }
    return true;
  }();
  static constexpr std::array<index_t, rank> dims = [] {
    std::array<index_t, rank> d{};
    for (std::size_t i = 0; i < rank; ++i) {
      index_t a = at(A::dims, A::rank, i), b = at(B::dims, B::rank, i);
      d[i] = a == 1 ? b : a;
    }
    return d;
  }();
};
}  // namespace detail

template <ShapeType A, ShapeType B>
struct BroadcastShapes {
  static constexpr bool ok = detail::BroadcastGen<A, B>::ok;
  static_assert(ok, "tsgan: these two shapes cannot be broadcast together (numpy rule: aligned "
                    "from the right, each pair of dimensions must be equal or contain a 1)");
  using type = std::conditional_t<ok, detail::shape_from_t<detail::BroadcastGen<A, B>>, A>;
};

template <ShapeType A, ShapeType B>
using broadcast_t = typename BroadcastShapes<A, B>::type;

template <ShapeType A, ShapeType B>
inline constexpr bool broadcastable_v = detail::BroadcastGen<A, B>::ok;

// True when a tensor of shape From can be read as if it had shape To (From broadcasts to To).
template <ShapeType From, ShapeType To>
inline constexpr bool broadcasts_to_v =
    broadcastable_v<From, To> &&
    std::is_same_v<detail::shape_from_t<detail::BroadcastGen<From, To>>, To>;

// The axes of To along which a tensor of shape From is broadcast (it lacks them or has size 1
// where To does not): the axes its gradient is summed over.
namespace detail {
template <ShapeType From, ShapeType To>
struct BroadcastAxesGen {
  static constexpr std::size_t count = [] {
    std::size_t c = 0;
    for (std::size_t j = 0; j < To::rank; ++j)
      if (j + From::rank < To::rank || (From::dims[j + From::rank - To::rank] == 1 && To::dims[j] > 1)) ++c;
    return c;
  }();
  static constexpr std::array<int, count> axes = [] {
    std::array<int, count> a{};
    std::size_t c = 0;
    for (std::size_t j = 0; j < To::rank; ++j)
      if (j + From::rank < To::rank || (From::dims[j + From::rank - To::rank] == 1 && To::dims[j] > 1))
        a[c++] = static_cast<int>(j);
    return a;
  }();
};
template <class G, std::size_t... I>
auto axes_from(std::index_sequence<I...>) -> Axes<G::axes[I]...>;
}  // namespace detail

template <ShapeType From, ShapeType To>
using broadcast_axes_t = decltype(detail::axes_from<detail::BroadcastAxesGen<From, To>>(
    std::make_index_sequence<detail::BroadcastAxesGen<From, To>::count>{}));

// ---------------------------------------------------------------------------------------------
// Axis checks and reductions.
template <ShapeType S, int Axis>
struct CheckAxis {
  static constexpr bool value = Axis >= -static_cast<int>(S::rank) && Axis < static_cast<int>(S::rank);
  static_assert(value, "tsgan: axis out of range for this shape (valid axes are -rank .. rank-1)");
  static constexpr std::size_t index =
      value ? static_cast<std::size_t>(detail::normalize_axis(Axis, S::rank)) : 0;
};

namespace detail {
template <ShapeType S, class Ax>
struct AxesMask;
template <ShapeType S, int... A>
struct AxesMask<S, Axes<A...>> {
  static constexpr std::array<bool, S::rank> mask = [] {
    std::array<bool, S::rank> m{};
    ((m[CheckAxis<S, A>::index] = true), ...);
    return m;
  }();
  static constexpr bool unique = [] {
    std::array<int, S::rank> seen{};
    ((++seen[CheckAxis<S, A>::index]), ...);
    for (int s : seen)
      if (s > 1) return false;
    return true;
  }();
};
template <ShapeType S>
struct AxesMask<S, Axes<>> {  // no axes named: reduce over all of them
  static constexpr std::array<bool, S::rank> mask = [] {
    std::array<bool, S::rank> m{};
    for (auto& b : m) b = true;
    return m;
  }();
  static constexpr bool unique = true;
};

template <ShapeType S, class Ax, bool KeepDims>
struct ReduceGen {
  static constexpr auto mask = AxesMask<S, Ax>::mask;
  static constexpr std::size_t rank = [] {
    if (KeepDims) return S::rank;
    std::size_t r = 0;
    for (bool m : mask) r += m ? 0 : 1;
    return r;
  }();
  static constexpr std::array<index_t, rank> dims = [] {
    std::array<index_t, rank> d{};
    std::size_t j = 0;
    for (std::size_t i = 0; i < S::rank; ++i) {
      if (KeepDims) d[j++] = mask[i] ? 1 : S::dims[i];
      else if (!mask[i]) d[j++] = S::dims[i];
    }
    return d;
  }();
};
}  // namespace detail

// Shape left after reducing S over the axes Ax (all axes when Ax is empty).
template <ShapeType S, class Ax, bool KeepDims = false>
struct ReduceShape {
  static_assert(detail::AxesMask<S, Ax>::unique, "tsgan: an axis is named twice in this reduction");
  using type = detail::shape_from_t<detail::ReduceGen<S, Ax, KeepDims>>;
  // The same reduction with kept dimensions: broadcasts back onto S.
  using kept = detail::shape_from_t<detail::ReduceGen<S, Ax, true>>;
  static constexpr auto mask = detail::AxesMask<S, Ax>::mask;
};

template <ShapeType S, class Ax, bool KeepDims = false>
using reduce_t = typename ReduceShape<S, Ax, KeepDims>::type;

// ---------------------------------------------------------------------------------------------
// Concatenation along an axis: every other dimension must agree.
namespace detail {
template <std::size_t Axis, ShapeType A, ShapeType B>
struct ConcatGen {
  static constexpr std::size_t rank = A::rank;
  static constexpr bool ok = [] {
    if (A::rank != B::rank) return false;
    for (std::size_t i = 0; i < A::rank; ++i)
      if (i != Axis && A::dims[i] != B::dims[i]) return false;
    return true;
  }();
  static constexpr std::array<index_t, rank> dims = [] {
    std::array<index_t, rank> d = A::dims;
    if constexpr (A::rank == B::rank) d[Axis] = A::dims[Axis] + B::dims[Axis];
    return d;
  }();
};
}  // namespace detail

template <int Axis, ShapeType A, ShapeType B>
struct ConcatShapes {
  static constexpr std::size_t axis = CheckAxis<A, Axis>::index;
  static constexpr bool ok = detail::ConcatGen<axis, A, B>::ok;
  static_assert(ok, "tsgan: cannot concatenate these shapes; they must have the same rank and "
                    "agree on every dimension except the concatenation axis");
  using type = std::conditional_t<ok, detail::shape_from_t<detail::ConcatGen<axis, A, B>>, A>;
};

template <int Axis, ShapeType A, ShapeType B>
using concat_t = typename ConcatShapes<Axis, A, B>::type;

// ---------------------------------------------------------------------------------------------
// Reshape: the element count must be preserved.
template <ShapeType From, ShapeType To>
struct CheckReshape {
  static constexpr bool value = From::size == To::size;
  static_assert(value, "tsgan: reshape must preserve the number of elements (first: from, "
                       "second: to)");
};

// ---------------------------------------------------------------------------------------------
// Permutation of axes: P must name every axis exactly once.
namespace detail {
template <ShapeType S, int... P>
struct PermuteGen {
  static constexpr std::size_t rank = S::rank;
  static constexpr bool ok = [] {
    if (sizeof...(P) != S::rank) return false;
    std::array<int, S::rank> seen{};
    for (int p : {P...}) {
      int a = normalize_axis(p, S::rank);
      if (a < 0 || a >= static_cast<int>(S::rank)) return false;
      ++seen[static_cast<std::size_t>(a)];
    }
    for (int s : seen)
      if (s != 1) return false;
    return true;
  }();
  static constexpr std::array<index_t, rank> dims = [] {
    std::array<index_t, rank> d{};
    if constexpr (sizeof...(P) == S::rank) {
      std::size_t j = 0;
      for (int p : {P...}) {
        int a = normalize_axis(p, S::rank);
        d[j++] = (a >= 0 && a < static_cast<int>(S::rank)) ? S::dims[static_cast<std::size_t>(a)] : 1;
      }
    }
    return d;
  }();
};
}  // namespace detail

template <ShapeType S, int... P>
struct PermuteShape {
  static constexpr bool ok = detail::PermuteGen<S, P...>::ok;
  static_assert(ok, "tsgan: a permutation must name every axis of the shape exactly once");
  using type = std::conditional_t<ok, detail::shape_from_t<detail::PermuteGen<S, P...>>, S>;
  static constexpr std::array<int, S::rank> perm = [] {
    std::array<int, S::rank> p{};
    if constexpr (sizeof...(P) == S::rank) {
      std::size_t j = 0;
      for (int a : {P...}) p[j++] = detail::normalize_axis(a, S::rank);
    }
    return p;
  }();
};

template <ShapeType S, int... P>
using permute_t = typename PermuteShape<S, P...>::type;

// ---------------------------------------------------------------------------------------------
// Convolution arithmetic (PyTorch conventions; TF 'same' padding is expressed as begin/end pads).
constexpr index_t conv_out_size(index_t in, index_t kernel, index_t stride, index_t pad_begin,
                                index_t pad_end, index_t dilation = 1) {
  return (in + pad_begin + pad_end - dilation * (kernel - 1) - 1) / stride + 1;
}

constexpr index_t conv_transpose_out_size(index_t in, index_t kernel, index_t stride, index_t pad,
                                          index_t output_padding = 0, index_t dilation = 1) {
  return (in - 1) * stride - 2 * pad + dilation * (kernel - 1) + output_padding + 1;
}

// TensorFlow's 'same': out = ceil(in / stride); the odd pixel of padding goes at the end.
struct SamePadding {
  index_t begin;
  index_t end;
};
constexpr SamePadding tf_same_padding(index_t in, index_t kernel, index_t stride,
                                      index_t dilation = 1) {
  const index_t out = (in + stride - 1) / stride;
  const index_t total = (out - 1) * stride + dilation * (kernel - 1) + 1 - in;
  const index_t t = total > 0 ? total : 0;
  return {t / 2, t - t / 2};
}

// Checks that a convolution leaves at least one output pixel; In is the input shape.
template <ShapeType In, index_t Out>
struct CheckConvOutput {
  static constexpr bool value = Out > 0;
  static_assert(value, "tsgan: the convolution window is larger than the padded input; the "
                       "output would be empty");
};

}  // namespace tsgan
