// Layout ops: every output element against direct index arithmetic on multi-indices, gradients
// against finite differences (alone, and with the input used again so the backward adds), and
// permutations large enough to cross the 32 x 32 tiles with ragged edges. Templated over the
// device: on the GPU every value must be exact, gradients must match the CPU's, and the
// finite-difference checks run there.
#include <doctest/doctest.h>

#include <array>

#include "support.hpp"
#include "tsgan/autograd/gradcheck.hpp"
#include "tsgan/ops/layout.hpp"

using namespace tsgan;

namespace {

template <ShapeType S>
std::array<index_t, S::rank> unravel(index_t i) {
  std::array<index_t, S::rank> idx{};
  for (std::size_t a = S::rank; a-- > 0;) {
    idx[a] = i % S::dims[a];
    i /= S::dims[a];
  }
  return idx;
}

template <ShapeType S>
index_t ravel(const std::array<index_t, S::rank>& idx) {
  index_t i = 0;
  for (std::size_t a = 0; a < S::rank; ++a) i = i * S::dims[a] + idx[a];
  return i;
}

// Checks y[i] == want(multi-index of i in Y) exactly.
template <class Y, class F>
void check_each(const Y& y, F&& want, const char* what) {
  using S = typename Y::shape;
  test::check_all(test::to_host(y.value()), [&](index_t i) { return want(unravel<S>(i)); }, 0, 0, what);
}

template <class Y, class X>
auto and_again(const Y& y, const X& x) {  // x used once more after the op: its backward adds
  auto s = sum(x);
  return eval(y * s);
}

// Gradients of f alone and of f with its input used again, on device D, and on a GPU the same
// gradients as the CPU's.
template <class D, class F, ShapeType... S>
void check_grad(F f, const Tensor<double, S>&... x) {
  auto r = gradcheck(f, x.template to<D>()...);
  CHECK_MESSAGE(r.ok, r.message);
  auto again = [&](const auto& v, const auto&... rest) { return and_again(f(v, rest...), v); };
  // The second use multiplies by Σx, so the loss is Σx · Σ r ⊙ f(x): hundreds for the larger
  // inputs, and its rounding divided by the finite-difference step is a few 1e-7 (measured up to
  // 3e-7 on the 3330-element permutation) whatever the device or compiler: 1e-6 absolute is what
  // such a check can promise; gradients are O(10) there.
  GradcheckOptions options;
  options.atol = 1e-6;
  r = gradcheck(options, again, x.template to<D>()...);
  CHECK_MESSAGE(r.ok, r.message);
  test::check_gradient_parity<D>(again, x...);
}

template <class T, class D, ShapeType X, int... P>
void check_permute(std::uint64_t seed) {
  const auto x = test::random_tensor<T, X>(seed);
  Graph g;
  auto y = permute<P...>(g.input(x.template to<D>()));
  using Y = typename decltype(y)::shape;
  constexpr std::array<int, X::rank> perm{P...};
  check_each(y, [&](const auto& o) {
    std::array<index_t, X::rank> in{};
    for (std::size_t i = 0; i < X::rank; ++i) in[static_cast<std::size_t>((perm[i] + int(X::rank)) % int(X::rank))] = o[i];
    return double(x[ravel<X>(in)]);
  }, "permute");
  static_assert(Y::size == X::size);
  if constexpr (std::is_same_v<T, double>) check_grad<D>([](const auto& v) { return permute<P...>(v); }, x);
}

template <int Axis, class T, class D, ShapeType A, ShapeType B>
void check_concat(std::uint64_t seed) {
  const auto a = test::random_tensor<T, A>(seed);
  const auto b = test::random_tensor<T, B>(seed + 1);
  Graph g;
  auto y = concat<Axis>(g.input(a.template to<D>()), g.input(b.template to<D>()));
  constexpr std::size_t ax = CheckAxis<A, Axis>::index;
  check_each(y, [&](auto idx) {
    if (idx[ax] < A::dims[ax]) return double(a[ravel<A>(idx)]);
    idx[ax] -= A::dims[ax];
    return double(b[ravel<B>(idx)]);
  }, "concat");
  if constexpr (std::is_same_v<T, double>) {
    check_grad<D>([](const auto& u, const auto& v) { return concat<Axis>(u, v); }, a, b);
    if constexpr (std::is_same_v<A, B>) check_grad<D>([](const auto& u) { return concat<Axis>(u, u); }, a);
  }
}

template <int Axis, index_t Start, index_t Count, class T, class D, ShapeType X>
void check_slice(std::uint64_t seed) {
  const auto x = test::random_tensor<T, X>(seed);
  Graph g;
  auto y = slice<Axis, Start, Count>(g.input(x.template to<D>()));
  constexpr std::size_t ax = CheckAxis<X, Axis>::index;
  static_assert(decltype(y)::shape::dims[ax] == Count);
  check_each(y, [&](auto idx) {
    idx[ax] += Start;
    return double(x[ravel<X>(idx)]);
  }, "slice");
  if constexpr (std::is_same_v<T, double>) check_grad<D>([](const auto& v) { return slice<Axis, Start, Count>(v); }, x);
}

template <class T, class D>
void layout_case_0() {
    const auto x = test::random_tensor<T, Shape<2, 3, 4, 5>>(1);
    Graph g;
    auto y = flip_horizontal(g.input(x.template to<D>()));
    check_each(y, [&](const auto& i) { return double(x(i[0], i[1], i[2], 4 - i[3])); }, "flip");
    const auto v = test::random_tensor<T, Shape<3, 6>>(2);
    check_each(flip_horizontal(g.input(v.template to<D>())), [&](const auto& i) { return double(v(i[0], 5 - i[1])); }, "flip rank 2");
    if constexpr (std::is_same_v<T, double>) {
      check_grad<D>([](const auto& u) { return flip_horizontal(u); }, x);
      check_grad<D>([](const auto& u) { return flip_horizontal(u); }, v);
    }
}

template <class T, class D>
void layout_case_1() {
    const auto x = test::random_tensor<T, Shape<2, 3, 4, 5>>(3);
    Graph g;
    auto y = pad2d<1, 2, 0, 3>(g.input(x.template to<D>()), T(0.5));
    static_assert(std::is_same_v<typename decltype(y)::shape, Shape<2, 3, 7, 8>>);
    check_each(y, [&](const auto& i) {
      const index_t r = i[2] - 1, c = i[3];
      return r >= 0 && r < 4 && c < 5 ? double(x(i[0], i[1], r, c)) : 0.5;
    }, "pad2d");
    // The recognizer's: one zero row at the bottom and one zero column on the right.
    const auto z = test::random_tensor<T, Shape<1, 2, 3, 3>>(4);
    check_each(pad2d<0, 1, 0, 1>(g.input(z.template to<D>())), [&](const auto& i) {
      return i[2] < 3 && i[3] < 3 ? double(z(i[0], i[1], i[2], i[3])) : 0.0;
    }, "pad2d bottom-right");
    if constexpr (std::is_same_v<T, double>) {
      check_grad<D>([](const auto& u) { return pad2d<1, 2, 0, 3>(u, 0.5); }, x);
      check_grad<D>([](const auto& u) { return pad2d<2, 0, 1, 1>(u); }, test::random_tensor<double, Shape<3, 5>>(5));
    }
}

template <class T, class D>
void layout_case_2() {
    check_concat<1, T, D, Shape<2, 3, 4, 5>, Shape<2, 2, 4, 5>>(10);  // channels
    check_concat<0, T, D, Shape<1, 3, 2, 2>, Shape<2, 3, 2, 2>>(12);  // batch
    check_concat<2, T, D, Shape<2, 2, 3, 3>, Shape<2, 2, 1, 3>>(14);
    check_concat<-1, T, D, Shape<2, 2, 3, 3>, Shape<2, 2, 3, 4>>(16);
    check_concat<1, T, D, Shape<2, 3, 2, 3>, Shape<2, 3, 2, 3>>(18);  // the same Var twice
    check_concat<0, T, D, Shape<5>, Shape<2>>(20);
}

template <class T, class D>
void layout_case_3() {
    check_slice<1, 2, 3, T, D, Shape<2, 6, 3, 4>>(30);
    check_slice<0, 1, 1, T, D, Shape<3, 2, 2, 2>>(31);
    check_slice<-1, 1, 2, T, D, Shape<2, 3, 5>>(32);
    check_slice<2, 0, 4, T, D, Shape<2, 3, 4, 3>>(33);  // the whole axis
    const auto x = test::random_tensor<T, Shape<2, 7, 3, 3>>(34);
    Graph g;
    auto [a, b, c] = split<1, 2, 4, 1>(g.input(x.template to<D>()));
    static_assert(std::is_same_v<typename decltype(b)::shape, Shape<2, 4, 3, 3>>);
    auto joined = concat<1>(concat<1>(a, b), c);
    check_each(joined, [&](const auto& i) { return double(x(i[0], i[1], i[2], i[3])); }, "split then concat");
    auto s = slice_channels<4, 3>(g.input(x.template to<D>()));
    check_each(s, [&](const auto& i) { return double(x(i[0], i[1] + 4, i[2], i[3])); }, "slice_channels");
    if constexpr (std::is_same_v<T, double>) {
      check_grad<D>([](const auto& v) {
        auto [p, q] = split<-1, 1, 2>(v);
        return concat<-1>(eval(q * 2.0), p);
      }, x);
    }
}

template <class T, class D>
void layout_case_4() {
    const auto x = test::random_tensor<T, Shape<2, 3, 4, 5>>(40);
    Graph g;
    auto y = reshape<Shape<6, 20>>(g.input(x.template to<D>()));
    static_assert(std::is_same_v<typename decltype(y)::shape, Shape<6, 20>>);
    test::check_all(test::to_host(y.value()), [&](index_t i) { return x[i]; }, 0, 0, "reshape");
    if constexpr (std::is_same_v<T, double>) {
      check_grad<D>([](const auto& v) { return reshape<Shape<120>>(v); }, x);
      check_grad<D>([](const auto& v) { return reshape<Shape<2, 60>>(v); }, x);
    }
}

template <class T, class D>
void layout_case_5() {
    check_permute<T, D, Shape<2, 3, 4, 5>, 0, 2, 3, 1>(50);     // NCHW -> NHWC
    check_permute<T, D, Shape<2, 4, 5, 3>, 0, 3, 1, 2>(51);     // NHWC -> NCHW
    check_permute<T, D, Shape<3, 4, 5>, 1, 0, 2>(52);           // the last axis stays: whole rows
    check_permute<T, D, Shape<1, 3, 1, 4>, 3, 2, 1, 0>(53);     // size-1 axes
    check_permute<T, D, Shape<2, 3, 2, 3, 2>, 4, 2, 0, 3, 1>(54);
    check_permute<T, D, Shape<3, 2, 4>, -1, 0, 1>(55);          // negative axes
    check_permute<T, D, Shape<7>, 0>(56);
    check_permute<T, D, Shape<2, 37, 45>, 0, 2, 1>(57);         // ragged 32 x 32 tiles
    check_permute<T, D, Shape<1, 3, 33, 35>, 0, 2, 3, 1>(58);
    const auto x = test::random_tensor<T, Shape<2, 3, 4, 5>>(59);
    Graph g;
    auto t = transpose<1, -1>(g.input(x.template to<D>()));
    static_assert(std::is_same_v<typename decltype(t)::shape, Shape<2, 5, 4, 3>>);
    check_each(t, [&](const auto& i) { return double(x(i[0], i[3], i[2], i[1])); }, "transpose");
    if constexpr (std::is_same_v<T, double>) check_grad<D>([](const auto& v) { return transpose<0, 2>(v); }, x);
}

}  // namespace

TEST_SUITE("ops.layout") {
  TEST_CASE_TEMPLATE("flip_horizontal reverses the last axis", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    layout_case_0<float, D>();
    layout_case_0<double, D>();
  }

  TEST_CASE_TEMPLATE("pad2d surrounds the last two axes with a constant; its gradient is the crop", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    layout_case_1<float, D>();
    layout_case_1<double, D>();
  }

  TEST_CASE_TEMPLATE("concat along every axis", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    layout_case_2<float, D>();
    layout_case_2<double, D>();
  }

  TEST_CASE_TEMPLATE("slice, slice_channels and split", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    layout_case_3<float, D>();
    layout_case_3<double, D>();
  }

  TEST_CASE_TEMPLATE("reshape keeps the elements in order", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    layout_case_4<float, D>();
    layout_case_4<double, D>();
  }

  TEST_CASE_TEMPLATE("permute and transpose", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    layout_case_5<float, D>();
    layout_case_5<double, D>();
  }
}
