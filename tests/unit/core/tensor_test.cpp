#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cstring>
#include <type_traits>

#include "support.hpp"

using namespace tsgan;

// Tests of what every device offers are templated over the device (on the GPU they run when nvcc
// compiles this file); element access, printing and the 16-bit types are host matters.
TEST_SUITE("core.tensor") {
  using tsgan::half;  // under nvcc, CUDA's cuda_fp16.h declares a ::half too
  TEST_CASE_TEMPLATE("a new tensor is zero; fill and element access by index pack", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    Tensor<float, Shape<2, 3, 4>, D> td;
    {
      const auto& t = test::to_host(td);
      for (index_t i = 0; i < t.size; ++i) CHECK(t[i] == 0.f);
    }
    td.fill(2.5f);
    auto t = td.template to<cpu>();
    CHECK(t(1, 2, 3) == 2.5f);
    t(1, 2, 3) = -1.f;
    CHECK(t[23] == -1.f);
    CHECK(t(0, 0, 0) == 2.5f);
    const Tensor<double, Shape<3>, D> c(4.0);
    CHECK(test::to_host(c)(2) == 4.0);
  }

  TEST_CASE_TEMPLATE("moving takes the buffer; copying is explicit and deep", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    Tensor<float, Shape<4, 4>, D> a(1.f);
    const float* p = a.data();
    Tensor<float, Shape<4, 4>, D> b = std::move(a);
    CHECK(b.data() == p);
    CHECK_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): the moved-from state is specified
    Tensor<float, Shape<4, 4>, D> c = b.clone();
    CHECK(c.data() != b.data());
    c.fill(7.f);
    CHECK(test::to_host(b)(0, 0) == 1.f);
    CHECK(test::to_host(c)(0, 0) == 7.f);
    Tensor<float, Shape<4, 4>, D> d(b);  // explicit copy constructor
    CHECK(test::to_host(d)(3, 3) == 1.f);
    static_assert(!std::is_copy_assignable_v<Tensor<float, Shape<4>, D>>);
    static_assert(!std::is_convertible_v<const Tensor<float, Shape<4>, D>&, Tensor<float, Shape<4>, D>>);
  }

  TEST_CASE_TEMPLATE("to<>() copies between devices, both ways, whatever the size", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    // Sizes around the 4 MiB chunks of the pinned staging buffers: one byte, less than a chunk,
    // several chunks and a tail.
    auto round_trip = []<index_t N>(std::integral_constant<index_t, N>) {
      CAPTURE(N);
      Tensor<std::uint8_t, Shape<N>> h(uninitialized);
      for (index_t i = 0; i < N; ++i) h[i] = static_cast<std::uint8_t>((i * 2654435761u) >> 13);
      const auto dev = h.template to<D>();
      const auto back = dev.template to<cpu>();
      CHECK(back.data() != h.data());
      CHECK(std::memcmp(back.data(), h.data(), N) == 0);
      const auto again = dev.template to<D>();  // same device: a clone
      CHECK(again.data() != dev.data());
      CHECK(std::memcmp(again.template to<cpu>().data(), h.data(), N) == 0);
    };
    round_trip(std::integral_constant<index_t, 1>{});
    round_trip(std::integral_constant<index_t, 1000>{});
    round_trip(std::integral_constant<index_t, (9 << 20) + 13>{});
    Tensor<half, Shape<3>> h16;
    h16[1] = half(1.5f);
    CHECK(static_cast<float>(h16.to<D>().template to<cpu>()[1]) == 1.5f);
  }

  TEST_CASE("batch and channel views read and write the parent's memory") {
    Tensor<float, Shape<3, 4, 2, 2>> t;
    for (index_t i = 0; i < t.size; ++i) t[i] = static_cast<float>(i);

    auto items = t.batch<2>(1);  // items 1 and 2
    static_assert(std::is_same_v<decltype(items)::shape, Shape<2, 4, 2, 2>>);
    CHECK(items(0, 0, 0, 0) == 16.f);
    CHECK(items(1, 3, 1, 1) == 47.f);

    auto ch = t.channels<2>(1);  // channels 1 and 2 of every item: strided
    static_assert(std::is_same_v<decltype(ch)::shape, Shape<3, 2, 2, 2>>);
    static_assert(!decltype(ch)::contiguous);
    CHECK(ch(0, 0, 0, 0) == 4.f);
    CHECK(ch(2, 1, 1, 1) == 2 * 16 + 2 * 4 + 3);

    ch = ch * 0.f - 1.f;  // an expression written through a strided view
    for (index_t n = 0; n < 3; ++n)
      for (index_t c = 0; c < 4; ++c)
        for (index_t i = 0; i < 4; ++i) {
          const float v = t[n * 16 + c * 4 + i];
          if (c == 1 || c == 2) CHECK(v == -1.f);
          else CHECK(v == static_cast<float>(n * 16 + c * 4 + i));
        }

    const auto& ct = t;
    auto cview = ct.batch<1>(2);
    static_assert(std::is_same_v<decltype(cview)::value_type, float>);
    CHECK(cview(0, 0, 0, 0) == 32.f);
  }

  TEST_CASE_TEMPLATE("an out-of-range slice is an error that names the range and the dimension", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    Tensor<float, Shape<3, 4>, D> t;
    CHECK_THROWS_WITH_AS(t.template batch<2>(2), "tsgan: batch slice [2, 4) is out of range for a dimension of size 3",
                         Error);
    CHECK_THROWS_AS(t.template channels<3>(-1), Error);
  }

  TEST_CASE_TEMPLATE("reshape moves the buffer; view_as reads it with another shape", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    Tensor<float, Shape<2, 6>> h;
    for (index_t i = 0; i < h.size; ++i) h[i] = static_cast<float>(i);
    auto t = h.to<D>();
    auto v = t.template view_as<Shape<3, 4>>();
    CHECK(test::to_host(v)(2, 3) == 11.f);
    const float* p = t.data();
    Tensor<float, Shape<4, 3>, D> r = std::move(t).template reshape<Shape<4, 3>>();
    CHECK(r.data() == p);
    CHECK(test::to_host(r)(3, 0) == 9.f);
  }

  TEST_CASE("printing shows type, shape, device and a few values") {
    Tensor<float, Shape<2, 3>> t;
    for (index_t i = 0; i < t.size; ++i) t[i] = static_cast<float>(i) * 0.5f;
    CHECK(fmt::format("{}", t) == "Tensor<float, [2, 3], cpu> {0, 0.5, 1, 1.5, 2, 2.5}");
    Tensor<double, Shape<10>> big(1.0);
    big[9] = 3.0;
    CHECK(fmt::format("{}", big) == "Tensor<double, [10], cpu> {1, 1, 1, 1, 1, 1, ..., 3}");
    CHECK(fmt::format("{}", t.channels<1>(1)) == "TensorView<float, [2, 1], cpu> {0.5, 2}");
  }

  TEST_CASE("half: IEEE binary16 bit patterns, rounding to nearest even, subnormals, inf and nan") {
    CHECK(half(1.0f).bits == 0x3c00);
    CHECK(half(-2.0f).bits == 0xc000);
    CHECK(half(65504.0f).bits == 0x7bff);   // largest finite
    CHECK(half(65520.0f).bits == 0x7c00);   // rounds to infinity
    CHECK(half(0x1p-24f).bits == 0x0001);   // smallest subnormal
    CHECK(half(0x1p-25f).bits == 0x0000);   // halfway to zero: ties to even
    CHECK(half(0x1.8p-25f).bits == 0x0001);  // above halfway
    CHECK(half(1.0f / 3.0f).bits == 0x3555);
    CHECK(half(1.0f + 0x1p-11f).bits == 0x3c00);  // tie, even stays
    CHECK(half(1.0f + 0x1.8p-11f).bits == 0x3c01);
    CHECK(static_cast<float>(half::from_bits(0x3555)) == 0x1.554p-2f);
    CHECK(static_cast<float>(half::from_bits(0x0001)) == 0x1p-24f);
    CHECK(static_cast<float>(half::from_bits(0x03ff)) == 0x1.ff8p-15f);
    CHECK(std::isinf(static_cast<float>(half::from_bits(0xfc00))));
    CHECK(std::isnan(static_cast<float>(half(std::nanf("")))));
    for (std::uint32_t b = 0; b < 0x7c00; ++b)  // every finite half survives the round trip
      REQUIRE(half(static_cast<float>(half::from_bits(static_cast<std::uint16_t>(b)))).bits == b);
  }

  TEST_CASE("bfloat16: upper half of a float, rounded to nearest even") {
    CHECK(bfloat16(1.0f).bits == 0x3f80);
    CHECK(bfloat16(3.14159265f).bits == 0x4049);
    CHECK(bfloat16(1.0f + 0x1p-8f).bits == 0x3f80);    // tie, even stays
    CHECK(bfloat16(1.0f + 0x1.8p-8f).bits == 0x3f81);  // above the tie
    CHECK(static_cast<float>(bfloat16::from_bits(0xc2f7)) == -123.5f);
    CHECK(std::isnan(static_cast<float>(bfloat16(std::nanf("")))));
  }
}
