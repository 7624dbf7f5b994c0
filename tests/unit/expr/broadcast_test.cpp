// Broadcasting, views as operands and destinations, and how evaluation splits rows: every case is
// compared with a naive loop over multi-indices.
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
  TEST_CASE("bias-like, row-like and scalar operands broadcast as in numpy") {
    using S = Shape<2, 3, 5, 7>;
    const auto x = test::random_tensor<float, S>(1);
    const auto bias = test::random_tensor<float, Shape<1, 3, 1, 1>>(2);
    const auto row = test::random_tensor<float, Shape<7>>(3);
    const auto col = test::random_tensor<float, Shape<5, 1>>(4);
    const auto item = test::random_tensor<float, Shape<2, 1, 1, 1>>(5);
    Tensor<float, S> y = x * bias + row - col / (item + 3.f) + 0.5f;
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

  TEST_CASE("two operands that each broadcast the other") {
    const auto a = test::random_tensor<double, Shape<4, 1>>(6);
    const auto b = test::random_tensor<double, Shape<1, 6>>(7);
    Tensor<double, Shape<4, 6>> outer = a * b;
    for (index_t i = 0; i < 4; ++i)
      for (index_t j = 0; j < 6; ++j) CHECK(outer(i, j) == a(i, 0) * b(0, j));
  }

  TEST_CASE("assignment broadcasts the source to the destination") {
    Tensor<float, Shape<3, 4>> t;
    Tensor<float, Shape<4>> row;
    for (index_t i = 0; i < 4; ++i) row[i] = float(i);
    t = lazy(row);
    for (index_t r = 0; r < 3; ++r)
      for (index_t i = 0; i < 4; ++i) CHECK(t(r, i) == float(i));
  }

  TEST_CASE("views are operands and destinations, strided or not") {
    auto x = test::random_tensor<float, Shape<2, 6, 3, 3>>(8);
    Tensor<float, Shape<2, 2, 3, 3>> y = x.channels<2>(3) * 2.f + x.channels<2>(0);
    for (index_t n = 0; n < 2; ++n)
      for (index_t c = 0; c < 2; ++c)
        for (index_t i = 0; i < 3; ++i)
          for (index_t j = 0; j < 3; ++j) CHECK(y(n, c, i, j) == x(n, c + 3, i, j) * 2.f + x(n, c, i, j));
    auto target = x.channels<2>(4);
    target = y - 1.f;
    for (index_t n = 0; n < 2; ++n)
      for (index_t c = 0; c < 2; ++c) CHECK(x(n, c + 4, 1, 2) == y(n, c, 1, 2) - 1.f);
    x.batch<1>(1) = x.batch<1>(0);  // copy item 0 over item 1
    for (index_t i = 0; i < 54; ++i) CHECK(x[54 + i] == x[i]);
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
