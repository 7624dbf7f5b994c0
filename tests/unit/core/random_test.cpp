#include <doctest/doctest.h>

#include <cmath>
#include <cstring>

#include "support.hpp"

using namespace tsgan;

TEST_SUITE("core.random") {
  TEST_CASE("Philox4x32-10 matches the published known-answer vectors (Random123 kat_vectors)") {
    struct Kat {
      random::Block ctr;
      random::Key key;
      random::Block want;
    };
    const Kat kats[] = {
        {{{0, 0, 0, 0}}, {{0, 0}}, {{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}}},
        {{{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}}, {{0xffffffff, 0xffffffff}},
         {{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}}},
        {{{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}}, {{0xa4093822, 0x299f31d0}},
         {{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}}},
    };
    for (const auto& k : kats) {
      const auto got = random::philox4x32_10(k.ctr, k.key);
      for (int i = 0; i < 4; ++i) CHECK(got.v[i] == k.want.v[i]);
    }
    // Word i of a stream is lane i % 4 of block i / 4.
    CHECK(random::word(0, 2) == 0xbc57ac4c);
  }

  TEST_CASE("draws keep their values, on and off block boundaries") {
    // Recorded from the implementation that computed one Philox block per word (before words<N>
    // shared a block between a normal's words): seed 42, normal(0.5, 2) and uniform(-1, 3). At offsets
    // 3, 6 and 7 a normal's words straddle two blocks, as with a Generator built at such an offset.
    struct Golden {
      std::uint64_t offset, i;
      float normal_f;
      double normal_d;
      float uniform_f;
      double uniform_d;
    };
    const Golden golden[] = {
        {0, 0, -0x1.70bcbap+0, 0x1.22f1803128bf9p+1, 0x1.73abcp+0, 0x1.73abc13bfaa48p+0},
        {0, 5, 0x1.982202p-1, 0x1.b0c7541553fdfp+1, 0x1.3ba6c8p-2, 0x1.6935b66304d2cp+0},
        {1, 0, 0x1.5a6d26p+1, 0x1.22f1803128bf9p+1, 0x1.bfaa4cp-1, 0x1.73abc13bfaa48p+0},
        {1, 5, 0x1.4468cap-2, 0x1.b0c7541553fdfp+1, 0x1.0e3d68p+0, 0x1.6935b66304d2cp+0},
        {3, 0, 0x1.b679a8p+1, 0x1.43ce4a3da4277p+2, 0x1.742b38p-2, -0x1.6a057aa8bd4c2p-1},
        {3, 5, -0x1.07dfaep+0, 0x1.3f2c1c977c502p+0, 0x1.26d804p+1, 0x1.eb1c11d5d786cp+0},
        {6, 0, -0x1.b69cccp+0, 0x1.8f12cfb316c2fp+0, 0x1.0e3d68p+0, 0x1.0e3d69ba27038p+0},
        {6, 5, 0x1.0b5138p+1, -0x1.06ebf3d1209d4p+0, 0x1.0c134cp+1, 0x1.39023bad975d4p-2},
        {7, 0, 0x1.a719f6p+0, 0x1.8f12cfb316c2fp+0, 0x1.a27034p-1, 0x1.0e3d69ba27038p+0},
        {7, 5, -0x1.772174p-6, -0x1.06ebf3d1209d4p+0, 0x1.eb1c1p+0, 0x1.39023bad975d4p-2},
    };
    for (const auto& g : golden) {
      CAPTURE(g.offset);
      CAPTURE(g.i);
      CHECK(random::normal<float>(42, g.offset, g.i, 0.5f, 2.f) == g.normal_f);
      CHECK(random::normal<double>(42, g.offset, g.i, 0.5, 2.0) == g.normal_d);
      CHECK(random::uniform<float>(42, g.offset, g.i, -1.f, 3.f) == g.uniform_f);
      CHECK(random::uniform<double>(42, g.offset, g.i, -1.0, 3.0) == g.uniform_d);
    }
  }

  TEST_CASE_TEMPLATE("uniform, normal and bernoulli have the right moments", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    constexpr index_t n = 200000;
    random::Generator gen(7);
    const auto u = Tensor<double, Shape<n>, D>(random::uniform<Shape<n>, double, D>(gen, -2.0, 6.0)).template to<cpu>();
    const auto z = Tensor<float, Shape<n>, D>(random::normal<Shape<n>, float, D>(gen, 1.f, 3.f)).template to<cpu>();
    const auto b = Tensor<float, Shape<n>, D>(random::bernoulli<Shape<n>, float, D>(gen, 0.3f)).template to<cpu>();
    double su = 0, sz = 0, szz = 0, sb = 0, umin = 1e9, umax = -1e9;
    for (index_t i = 0; i < n; ++i) {
      su += u[i];
      umin = std::min(umin, u[i]);
      umax = std::max(umax, u[i]);
      sz += z[i];
      szz += double(z[i]) * z[i];
      sb += b[i];
      REQUIRE((b[i] == 0.f || b[i] == 1.f));
    }
    // Tolerances are about five standard errors of each estimate.
    CHECK(umin > -2.0);
    CHECK(umax < 6.0);
    CHECK(std::abs(su / n - 2.0) < 5 * (8.0 / std::sqrt(12.0)) / std::sqrt(double(n)));
    const double mz = sz / n;
    CHECK(std::abs(mz - 1.0) < 5 * 3.0 / std::sqrt(double(n)));
    CHECK(std::abs(szz / n - mz * mz - 9.0) < 5 * 9.0 * std::sqrt(2.0 / n));
    CHECK(std::abs(sb / n - 0.3) < 5 * std::sqrt(0.21 / n));
  }

  TEST_CASE_TEMPLATE("the same (seed, offset) gives the same numbers; draws do not overlap", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    random::Generator g1(123), g2(123);
    const auto a = Tensor<float, Shape<5, 7>, D>(random::normal<Shape<5, 7>, float, D>(g1)).template to<cpu>();
    // element i is the same whatever the shape
    const auto b = Tensor<float, Shape<35>, D>(random::normal<Shape<35>, float, D>(g2)).template to<cpu>();
    for (index_t i = 0; i < 35; ++i) CHECK(a[i] == b[i]);
    const auto c = Tensor<float, Shape<35>, D>(random::normal<Shape<35>, float, D>(g1)).template to<cpu>();  // the next draw differs
    int same = 0;
    for (index_t i = 0; i < 35; ++i) same += c[i] == a[i];
    CHECK(same == 0);
    random::Generator resumed(123, g1.offset());  // saving (seed, offset) resumes the stream
    const auto d = Tensor<float, Shape<9>, D>(random::uniform<Shape<9>, float, D>(resumed)).template to<cpu>();
    const auto e = Tensor<float, Shape<9>, D>(random::uniform<Shape<9>, float, D>(g1)).template to<cpu>();
    for (index_t i = 0; i < 9; ++i) CHECK(d[i] == e[i]);
  }

  // The property that lets device-parity tests compare like with like: a random leaf evaluated by
  // a GPU kernel gives exactly the CPU's bits for the same (seed, offset), for every distribution,
  // element type, shape (odd sizes, broadcast into a larger output) and stream position.
  TEST_CASE_TEMPLATE("random leaves give bit-identical values on every device", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    auto same_bits = [](const auto& on_device, const auto& on_cpu, const char* what) {
      CAPTURE(what);
      const auto got = on_device.template to<cpu>();
      using X = std::remove_cvref_t<decltype(got)>;
      int differing = 0;
      index_t first = -1;
      for (index_t i = 0; i < X::size; ++i)
        if (std::memcmp(&got[i], &on_cpu[i], sizeof(got[i])) != 0 && differing++ == 0) first = i;
      CAPTURE(first);
      CHECK(differing == 0);
    };
    using Odd = Shape<3, 17, 29>;
    for (std::uint64_t offset : {std::uint64_t{0}, std::uint64_t{4}, std::uint64_t{1000003} * 4}) {
      CAPTURE(offset);
      random::Generator gd(2024, offset), gc(2024, offset);
      same_bits(Tensor<float, Odd, D>(random::uniform<Odd, float, D>(gd, -3.f, 5.f)),
                Tensor<float, Odd>(random::uniform<Odd, float>(gc, -3.f, 5.f)), "uniform float");
      same_bits(Tensor<double, Odd, D>(random::uniform<Odd, double, D>(gd, -3.0, 5.0)),
                Tensor<double, Odd>(random::uniform<Odd, double>(gc, -3.0, 5.0)), "uniform double");
      same_bits(Tensor<float, Odd, D>(random::normal<Odd, float, D>(gd, 0.5f, 2.f)),
                Tensor<float, Odd>(random::normal<Odd, float>(gc, 0.5f, 2.f)), "normal float");
      same_bits(Tensor<double, Odd, D>(random::normal<Odd, double, D>(gd, 0.5, 2.0)),
                Tensor<double, Odd>(random::normal<Odd, double>(gc, 0.5, 2.0)), "normal double");
      same_bits(Tensor<float, Odd, D>(random::bernoulli<Odd, float, D>(gd, 0.25f)),
                Tensor<float, Odd>(random::bernoulli<Odd, float>(gc, 0.25f)), "bernoulli float");
      // A leaf of shape [17, 1] broadcast into [3, 17, 29]: every copy of an element is the same.
      same_bits(Tensor<float, Odd, D>(lazy(random::normal<Shape<17, 1>, float, D>(gd))),
                Tensor<float, Odd>(lazy(random::normal<Shape<17, 1>, float>(gc))), "broadcast normal");
      CHECK(gd.offset() == gc.offset());
    }
  }

  TEST_CASE("numbers do not depend on the thread count or on the evaluation path") {
    constexpr index_t n = 1 << 18;
    const int threads = num_threads();
    random::Generator g(99);
    const auto node = random::normal<Shape<n>>(g, 0.f, 2.f);
    set_num_threads(1);
    Tensor<float, Shape<n>> one = node;
    set_num_threads(2);
    Tensor<float, Shape<n>> two = node;
    set_num_threads(threads);
    CHECK(std::memcmp(one.data(), two.data(), sizeof(float) * n) == 0);
    // The element-at-a-time path (the one GPU kernels take) gives the same values.
    const auto ev = node.evaluator<Shape<n>>();
    for (index_t i : {index_t{0}, index_t{1}, index_t{4097}, n - 1}) {
      const index_t idx[1] = {i};
      CHECK(ev.eval<float>(expr::ElementPos<1>{i, idx}) == one[i]);
    }
  }

  TEST_CASE_TEMPLATE("a tensor of normals holds the element-at-a-time values, at any offset", T, float, double) {
    // Assignment draws whole SIMD packets at once (NormalDist::fill); each element must still be
    // normal(seed, offset, i), as GPU kernels compute it. Offsets 3 and 6 start off a block boundary.
    using S = Shape<4099>;  // whole packets and a tail
    for (std::uint64_t start : {0, 3, 6}) {
      CAPTURE(start);
      random::Generator g(5, start);
      const auto node = random::normal<S, T>(g, T(0.25), T(3));
      const Tensor<T, S> x = node;
      index_t differing = 0;
      for (index_t i = 0; i < S::size; ++i)
        differing += x[i] != random::normal<T>(node.seed, node.offset, static_cast<std::uint64_t>(i), T(0.25), T(3));
      CHECK(differing == 0);
    }
  }

  TEST_CASE("scalar draws on the host: uniform_int covers its inclusive range") {
    random::Generator g(5);
    int seen[4] = {};
    for (int i = 0; i < 4000; ++i) {
      const auto k = g.uniform_int(3, 6);
      REQUIRE(k >= 3);
      REQUIRE(k <= 6);
      ++seen[k - 3];
    }
    for (int s : seen) CHECK(s > 800);
  }
}
