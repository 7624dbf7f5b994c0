// Broadcasting, views as operands and destinations, and how evaluation splits rows: every case is
// compared with a naive loop over multi-indices. Templated over the device where it applies: on the
// GPU each result must also match the CPU's (test::evaluate, test::check_parity).
#include <doctest/doctest.h>

#include <cstring>

#include "support.hpp"

using namespace tsgan;

namespace {
// Reads element (i0..i3) of a tensor of shape S broadcast to rank 4 (numpy rules).
template <class S, class X>
double at4(const X& x, index_t i0, index_t i1, index_t i2, index_t i3) {
  const index_t idx[4] = {i0, i1, i2, i3};
  index_t off = 0;
  for (std::size_t j = 0; j < S::rank; ++j) {
    const std::size_t a = j + 4 - S::rank;
    off += (S::dims[j] == 1 ? 0 : idx[a]) * S::strides[j];
  }
  return static_cast<double>(x.data()[off]);
}
}  // namespace

TEST_SUITE("expr.broadcast") {
  TEST_CASE_TEMPLATE("bias-like, row-like and scalar operands broadcast as in numpy", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    using S = Shape<2, 3, 5, 7>;
    const auto xd = test::random_tensor<float, S, D>(1);
    const auto biasd = test::random_tensor<float, Shape<1, 3, 1, 1>, D>(2);
    const auto rowd = test::random_tensor<float, Shape<7>, D>(3);
    const auto cold = test::random_tensor<float, Shape<5, 1>, D>(4);
    const auto itemd = test::random_tensor<float, Shape<2, 1, 1, 1>, D>(5);
    const auto y = test::evaluate([](const auto& x, const auto& bias, const auto& row, const auto& col,
                                     const auto& item) { return x * bias + row - col / (item + 3.f) + 0.5f; },
                                  xd, biasd, rowd, cold, itemd);
    static_assert(std::is_same_v<typename std::remove_cvref_t<decltype(y)>::shape, S>);
    const auto& x = test::to_host(xd);
    const auto& bias = test::to_host(biasd);
    const auto& row = test::to_host(rowd);
    const auto& col = test::to_host(cold);
    const auto& item = test::to_host(itemd);
    for (index_t n = 0; n < 2; ++n)
      for (index_t c = 0; c < 3; ++c)
        for (index_t h = 0; h < 5; ++h)
          for (index_t w = 0; w < 7; ++w) {
            const double want = at4<S>(x, n, c, h, w) * at4<Shape<1, 3, 1, 1>>(bias, n, c, h, w) +
                                at4<Shape<7>>(row, n, c, h, w) -
                                at4<Shape<5, 1>>(col, n, c, h, w) /
                                    (at4<Shape<2, 1, 1, 1>>(item, n, c, h, w) + 3.0) +
                                0.5;
            REQUIRE(y(n, c, h, w) == doctest::Approx(want).epsilon(1e-5));
          }
  }

  TEST_CASE_TEMPLATE("two operands that each broadcast the other", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    const auto ad = test::random_tensor<double, Shape<4, 1>, D>(6);
    const auto bd = test::random_tensor<double, Shape<1, 6>, D>(7);
    const auto outer = test::evaluate([](const auto& a, const auto& b) { return a * b; }, ad, bd);
    const auto& a = test::to_host(ad);
    const auto& b = test::to_host(bd);
    for (index_t i = 0; i < 4; ++i)
      for (index_t j = 0; j < 6; ++j) CHECK(outer(i, j) == a(i, 0) * b(0, j));
  }

  TEST_CASE_TEMPLATE("assignment broadcasts the source to the destination", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    Tensor<float, Shape<3, 4>, D> td;
    Tensor<float, Shape<4>> hrow;
    for (index_t i = 0; i < 4; ++i) hrow[i] = float(i);
    const auto row = hrow.to<D>();
    td = lazy(row);
    const auto& t = test::to_host(td);
    for (index_t r = 0; r < 3; ++r)
      for (index_t i = 0; i < 4; ++i) CHECK(t(r, i) == float(i));
  }

  TEST_CASE_TEMPLATE("views are operands and destinations, strided or not", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    // The same steps on device D and on a CPU twin (same values): the GPU's state must match the
    // CPU's after each step, and the CPU's is checked element by element.
    auto xd = test::random_tensor<float, Shape<2, 6, 3, 3>, D>(8);
    auto x = test::random_tensor<float, Shape<2, 6, 3, 3>>(8);
    Tensor<float, Shape<2, 2, 3, 3>, D> yd = xd.template channels<2>(3) * 2.f + xd.template channels<2>(0);
    Tensor<float, Shape<2, 2, 3, 3>> y = x.channels<2>(3) * 2.f + x.channels<2>(0);
    if constexpr (test::is_gpu<D>) test::check_parity(yd.template to<cpu>(), y, "y");
    for (index_t n = 0; n < 2; ++n)
      for (index_t c = 0; c < 2; ++c)
        for (index_t i = 0; i < 3; ++i)
          for (index_t j = 0; j < 3; ++j) CHECK(y(n, c, i, j) == x(n, c + 3, i, j) * 2.f + x(n, c, i, j));
    auto targetd = xd.template channels<2>(4);
    targetd = yd - 1.f;
    auto target = x.channels<2>(4);
    target = y - 1.f;
    if constexpr (test::is_gpu<D>) test::check_parity(xd.template to<cpu>(), x, "x after the strided write");
    for (index_t n = 0; n < 2; ++n)
      for (index_t c = 0; c < 2; ++c) CHECK(x(n, c + 4, 1, 2) == y(n, c, 1, 2) - 1.f);
    xd.template batch<1>(1) = xd.template batch<1>(0);
    x.batch<1>(1) = x.batch<1>(0);  // copy item 0 over item 1
    if constexpr (test::is_gpu<D>) test::check_parity(xd.template to<cpu>(), x, "x after the batch copy");
    for (index_t i = 0; i < 54; ++i) CHECK(x[54 + i] == x[i]);
    // A strided view copied to another device arrives contiguous.
    const auto slice = xd.template channels<2>(1).template to<cpu>();
    for (index_t n = 0; n < 2; ++n)
      for (index_t c = 0; c < 2; ++c) CHECK(slice(n, c, 2, 1) == doctest::Approx(x(n, c + 1, 2, 1)).epsilon(1e-6));
  }

  TEST_CASE("the row split follows the leaves: K is the first axis from which all are contiguous or constant") {
    using Out = Shape<2, 3, 4, 5>;
    using Bias = expr::LeafLayout<Shape<1, 3, 1, 1>, default_strides_t<Shape<1, 3, 1, 1>>, Out>;
    static_assert(Bias::min_split == 2);  // constant over (h, w)
    using Same = expr::LeafLayout<Out, default_strides_t<Out>, Out>;
    static_assert(Same::min_split == 0 && Same::identity);
    using Row = expr::LeafLayout<Shape<5>, default_strides_t<Shape<5>>, Out>;
    static_assert(Row::min_split == 3);
    using Col = expr::LeafLayout<Shape<4, 1>, default_strides_t<Shape<4, 1>>, Out>;
    static_assert(Col::min_split == 3);  // varies along h, constant along w: rows are single w-runs
    using Channels = TensorView<float, Shape<2, 2, 4, 5>, cpu, Strides<60, 20, 5, 1>>;
    using Slice = expr::LeafLayout<Shape<2, 2, 4, 5>, Channels::strides, Shape<2, 2, 4, 5>>;
    static_assert(Slice::min_split == 1);
  }

  TEST_CASE("results are identical with one and two threads") {
    using S = Shape<8, 16, 33, 33>;
    const auto x = test::random_tensor<float, S>(9);
    const auto b = test::random_tensor<float, Shape<16, 1, 1>>(10);
    const auto node = tanh(x * b) + exp(-abs(x));
    const int threads = num_threads();
    set_num_threads(1);
    Tensor<float, S> one = node;
    set_num_threads(2);
    Tensor<float, S> two = node;
    set_num_threads(threads);
    CHECK(std::memcmp(one.data(), two.data(), sizeof(float) * S::size) == 0);
  }
}
