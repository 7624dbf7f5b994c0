// conv2d and conv_transpose2d: forward against direct loops in double, gradients against finite
// differences, over strides, paddings (symmetric and TF 'same'), dilation (each also per axis),
// groups (of both) and odd sizes; values and gradients against PyTorch (tests/fixtures/nn/conv.txt);
// and the CPU kernels' three products against direct loops for every way they organise the work
// (a GEMM per image or per batch chunk, wide rows as shifted planes or row by row, narrow rows,
// small output channels), and with a GEMM per image the same bits at one, two and three threads.
// Templated over the device: on the GPU (cuDNN) values and gradients must also match the CPU's,
// with TF32 off (and within 3e-3 with it on), and the finite-difference checks run there in double.
#include <doctest/doctest.h>

#include <array>
#include <cstring>
#include <random>
#include <vector>

#include "golden.hpp"
#include "support.hpp"
#include "tsgan/autograd/gradcheck.hpp"
#include "tsgan/ops/conv.hpp"

using namespace tsgan;

namespace {

// Direct convolution in double: y[n, o, oy, ox] = b[o] + Σ x[n, g·Cin_g + i, iy, ix] · w[o, i, ky, kx].
template <ConvOptions O, class T, class X, class W>
std::vector<double> direct_conv(const Tensor<T, X>& x, const Tensor<T, W>& w, const T* bias) {
  using Plan = detail::Conv2dPlan<X, W, O>;
  constexpr auto g = Plan::geometry;
  std::vector<double> y(static_cast<std::size_t>(Plan::out::size));
  for (index_t n = 0; n < g.n; ++n)
    for (index_t o = 0; o < g.c_out; ++o) {
      const index_t grp = o / g.cout_g();
      for (index_t oy = 0; oy < g.h_out; ++oy)
        for (index_t ox = 0; ox < g.w_out; ++ox) {
          double s = bias ? bias[o] : 0.0;
          for (index_t i = 0; i < g.cin_g(); ++i)
            for (index_t ky = 0; ky < g.kh; ++ky)
              for (index_t kx = 0; kx < g.kw; ++kx) {
                const index_t iy = oy * g.stride_y - g.pad_top + ky * g.dilation_y;
                const index_t ix = ox * g.stride_x - g.pad_left + kx * g.dilation_x;
                if (iy < 0 || iy >= g.h_in || ix < 0 || ix >= g.w_in) continue;
                s += double(x(n, grp * g.cin_g() + i, iy, ix)) * double(w(o, i, ky, kx));
              }
          y[static_cast<std::size_t>(((n * g.c_out + o) * g.h_out + oy) * g.w_out + ox)] = s;
        }
    }
  return y;
}

// Direct transposed convolution in double, as a scatter: each input pixel spreads w over the output
// channels of its group.
template <ConvTransposeOptions O, class T, class X, class W>
std::vector<double> direct_conv_transpose(const Tensor<T, X>& x, const Tensor<T, W>& w) {
  using Plan = detail::ConvTranspose2dPlan<X, W, O>;
  constexpr index_t cin_g = Plan::c_in / O.groups, cout_g = Plan::c_out / O.groups;
  std::vector<double> y(static_cast<std::size_t>(Plan::out::size), 0.0);
  for (index_t n = 0; n < Plan::n; ++n)
    for (index_t i = 0; i < Plan::c_in; ++i)
      for (index_t iy = 0; iy < Plan::h; ++iy)
        for (index_t ix = 0; ix < Plan::w; ++ix)
          for (index_t j = 0; j < cout_g; ++j)
            for (index_t ky = 0; ky < Plan::kh; ++ky)
              for (index_t kx = 0; kx < Plan::kw; ++kx) {
                const index_t o = i / cin_g * cout_g + j;
                const index_t oy = iy * O.stride.h - O.padding.h + ky * O.dilation.h;
                const index_t ox = ix * O.stride.w - O.padding.w + kx * O.dilation.w;
                if (oy < 0 || oy >= Plan::h_out || ox < 0 || ox >= Plan::w_out) continue;
                y[static_cast<std::size_t>(((n * Plan::c_out + o) * Plan::h_out + oy) * Plan::w_out + ox)] +=
                    double(x(n, i, iy, ix)) * double(w(i, j, ky, kx));
              }
  return y;
}

template <ConvOptions O, class T, class D, index_t N, index_t Cin, index_t H, index_t Wd, index_t Cout, index_t K>
void check_conv(std::uint64_t seed) {
  using X = Shape<N, Cin, H, Wd>;
  using W = Shape<Cout, Cin / O.groups, K, K>;
  const auto x = test::random_tensor<T, X>(seed);
  const auto w = test::random_tensor<T, W>(seed + 1);
  const auto b = test::random_tensor<T, Shape<Cout>>(seed + 2);
  Graph g;
  auto y = conv2d<O>(g.input(x.template to<D>()), g.input(w.template to<D>()), g.input(b.template to<D>()));
  const auto want = direct_conv<O>(x, w, b.data());
  const double tol = std::is_same_v<T, float> ? 2e-5 : 1e-12;
  test::check_all(test::to_host(y.value()), [&](index_t i) { return want[static_cast<std::size_t>(i)]; }, tol, tol, "conv2d");
  auto f = [](const auto& xv, const auto& wv, const auto& bv) { return conv2d<O>(xv, wv, bv); };
  test::check_gradient_parity<D>(f, x, w, b);
  if constexpr (std::is_same_v<T, double>) {
    const auto r = gradcheck(f, x.template to<D>(), w.template to<D>(), b.template to<D>());
    CHECK_MESSAGE(r.ok, r.message);
  }
}

template <ConvTransposeOptions O, class T, class D, index_t N, index_t Cin, index_t H, index_t Wd, index_t Cout, index_t K>
void check_conv_transpose(std::uint64_t seed) {
  using X = Shape<N, Cin, H, Wd>;
  using W = Shape<Cin, Cout / O.groups, K, K>;
  const auto x = test::random_tensor<T, X>(seed);
  const auto w = test::random_tensor<T, W>(seed + 1);
  const auto b = test::random_tensor<T, Shape<Cout>>(seed + 2);
  Graph g;
  auto y = conv_transpose2d<O>(g.input(x.template to<D>()), g.input(w.template to<D>()), g.input(b.template to<D>()));
  auto want = direct_conv_transpose<O>(x, w);
  const index_t plane = decltype(y)::shape::dims[2] * decltype(y)::shape::dims[3];
  const double tol = std::is_same_v<T, float> ? 2e-5 : 1e-12;
  test::check_all(test::to_host(y.value()),
                  [&](index_t i) { return want[static_cast<std::size_t>(i)] + double(b[i / plane % Cout]); }, tol, tol,
                  "conv_transpose2d");
  auto f = [](const auto& xv, const auto& wv, const auto& bv) { return conv_transpose2d<O>(xv, wv, bv); };
  test::check_gradient_parity<D>(f, x, w, b);
  if constexpr (std::is_same_v<T, double>) {
    const auto r = gradcheck(f, x.template to<D>(), w.template to<D>(), b.template to<D>());
    CHECK_MESSAGE(r.ok, r.message);
  }
}

// The three kernels of a geometry against direct loops in double: y = conv(x, w) + b,
// dx = conv's input gradient of dy (plus an initial value, to check accumulation), and
// dw = its weight gradient (likewise).
void check_kernels(const kernels::ConvGeometry& g, std::uint64_t seed) {
  CAPTURE(g.n);
  CAPTURE(g.c_in);
  CAPTURE(g.h_out);
  CAPTURE(g.images_per_gemm());
  std::mt19937 rng(static_cast<unsigned>(seed));
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  auto random = [&](index_t n) {
    std::vector<float> v(static_cast<std::size_t>(n));
    for (auto& e : v) e = u(rng);
    return v;
  };
  const index_t taps = g.kh * g.kw, cin_g = g.cin_g(), cout_g = g.cout_g();
  const auto x = random(g.n * g.c_in * g.in_plane()), w = random(g.c_out * cin_g * taps), b = random(g.c_out);
  const auto dy = random(g.n * g.c_out * g.out_plane()), dx0 = random(g.n * g.c_in * g.in_plane()),
             dw0 = random(g.c_out * cin_g * taps);
  std::vector<double> y(static_cast<std::size_t>(g.n * g.c_out * g.out_plane())), dx(dx0.begin(), dx0.end()),
      dw(dw0.begin(), dw0.end());
  for (index_t n = 0; n < g.n; ++n)
    for (index_t o = 0; o < g.c_out; ++o) {
      const index_t grp = o / cout_g;
      for (index_t oy = 0; oy < g.h_out; ++oy)
        for (index_t ox = 0; ox < g.w_out; ++ox) {
          const std::size_t yi = static_cast<std::size_t>(((n * g.c_out + o) * g.h_out + oy) * g.w_out + ox);
          y[yi] = b[static_cast<std::size_t>(o)];
          for (index_t i = 0; i < cin_g; ++i)
            for (index_t ky = 0; ky < g.kh; ++ky)
              for (index_t kx = 0; kx < g.kw; ++kx) {
                const index_t iy = oy * g.stride_y - g.pad_top + ky * g.dilation_y;
                const index_t ix = ox * g.stride_x - g.pad_left + kx * g.dilation_x;
                if (iy < 0 || iy >= g.h_in || ix < 0 || ix >= g.w_in) continue;
                const auto xi = static_cast<std::size_t>(((n * g.c_in + grp * cin_g + i) * g.h_in + iy) * g.w_in + ix);
                const auto wi = static_cast<std::size_t>((o * cin_g + i) * taps + ky * g.kw + kx);
                y[yi] += double(x[xi]) * double(w[wi]);
                dx[xi] += double(dy[yi]) * double(w[wi]);
                dw[wi] += double(dy[yi]) * double(x[xi]);
              }
        }
    }
  using K = kernels::ConvKernels<cpu>;
  std::vector<float> y_got(y.size()), dx_got(dx0), dw_got(dw0);
  K::forward(g, x.data(), w.data(), b.data(), y_got.data());
  K::backward_data(g, dy.data(), w.data(), dx_got.data(), true);
  K::backward_weight(g, x.data(), dy.data(), dw_got.data(), true);
  auto check = [](const std::vector<float>& got, const std::vector<double>& want, const char* what) {
    for (std::size_t i = 0; i < want.size(); ++i)
      if (!test::close(got[i], want[i], 1e-4, 1e-4)) {
        FAIL(what << "[" << i << "]: got " << got[i] << ", direct loop " << want[i]);
        return;
      }
  };
  check(y_got, y, "forward");
  check(dx_got, dx, "backward_data (accumulating)");
  check(dw_got, dw, "backward_weight (accumulating)");
}

// The three kernels' float results (y, dx accumulated onto dx0, dw accumulated onto dw0) at a given
// thread count, for comparing thread counts bit for bit.
std::array<std::vector<float>, 3> kernel_results(const kernels::ConvGeometry& g, int threads) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  auto random = [&](index_t n) {
    std::vector<float> v(static_cast<std::size_t>(n));
    for (auto& e : v) e = u(rng);
    return v;
  };
  const auto x = random(g.n * g.c_in * g.in_plane()), w = random(g.c_out * g.col_rows()), b = random(g.c_out),
             dy = random(g.n * g.c_out * g.out_plane());
  std::array<std::vector<float>, 3> r{std::vector<float>(dy.size()), random(static_cast<index_t>(x.size())),
                                      random(static_cast<index_t>(w.size()))};
  const int saved = num_threads();
  set_num_threads(threads);
  using K = kernels::ConvKernels<cpu>;
  K::forward(g, x.data(), w.data(), b.data(), r[0].data());
  K::backward_data(g, dy.data(), w.data(), r[1].data(), true);
  K::backward_weight(g, x.data(), dy.data(), r[2].data(), true);
  set_num_threads(saved);
  return r;
}

template <class T, class D>
void all_convs() {
  check_conv<ConvOptions{.stride = 2, .padding = 1}, T, D, 2, 3, 8, 8, 4, 4>(1);   // the U-Net's down-sampling
  check_conv<ConvOptions{.stride = 1, .padding = 1}, T, D, 2, 3, 7, 5, 2, 3>(2);   // odd sizes
  check_conv<ConvOptions{.stride = 2, .padding = 0}, T, D, 1, 2, 9, 9, 3, 3>(3);   // 'valid', odd
  check_conv<ConvOptions{.stride = 2, .same = true}, T, D, 2, 2, 8, 7, 2, 3>(4);   // TF 'same', asymmetric pad
  check_conv<ConvOptions{.stride = 1, .padding = 2, .dilation = 2}, T, D, 1, 2, 6, 6, 2, 3>(5);
  check_conv<ConvOptions{.stride = 1, .padding = 1, .groups = 2}, T, D, 2, 4, 5, 5, 6, 3>(6);
  check_conv<ConvOptions{.stride = 1, .padding = 1, .groups = 3}, T, D, 1, 3, 6, 6, 3, 3>(7);  // depthwise
  check_conv<ConvOptions{}, T, D, 2, 5, 4, 4, 3, 1>(8);                             // pointwise 1x1
  check_conv<ConvOptions{.stride = 1, .padding = 1}, T, D, 3, 4, 20, 20, 5, 3>(9);  // per-image products
  check_conv<ConvOptions{.stride = 1, .same = true}, T, D, 1, 2, 6, 5, 2, 4>(10);   // 'same', even kernel: pad 1 + 2
  // Per-axis stride, padding and dilation ({rows, columns}).
  check_conv<ConvOptions{.stride = {2, 1}, .padding = {1, 0}, .dilation = {1, 2}}, T, D, 2, 3, 7, 9, 4, 3>(17);
  check_conv<ConvOptions{.stride = {1, 3}, .padding = {0, 2}, .dilation = {2, 1}, .groups = 2}, T, D, 1, 4, 8, 10, 2, 3>(18);
  check_conv<ConvOptions{.stride = {2, 1}, .same = true}, T, D, 1, 2, 7, 6, 2, 3>(19);
}

template <class T, class D>
void all_conv_transposes() {
  check_conv_transpose<ConvTransposeOptions{.stride = 2, .padding = 1}, T, D, 2, 3, 4, 4, 2, 4>(11);  // doubles H, W
  check_conv_transpose<ConvTransposeOptions{.stride = 2, .padding = 1, .output_padding = 1}, T, D, 1, 2, 3, 3, 3, 3>(12);
  check_conv_transpose<ConvTransposeOptions{.stride = 1, .padding = 0}, T, D, 2, 2, 3, 5, 2, 3>(13);
  check_conv_transpose<ConvTransposeOptions{.stride = 3, .padding = 2, .dilation = 2}, T, D, 1, 2, 3, 3, 2, 3>(14);
  check_conv_transpose<ConvTransposeOptions{.stride = 2, .padding = 1}, T, D, 2, 3, 16, 16, 2, 4>(15);
  // output_padding 2 >= stride 2 (allowed with dilation 3): cuDNN's size formula disagrees, the
  // GPU takes the explicitly padded path.
  check_conv_transpose<ConvTransposeOptions{.stride = 2, .padding = 1, .output_padding = 2, .dilation = 3}, T, D, 1, 2, 3, 4, 2, 3>(16);
  // Per-axis hyper-parameters, and groups.
  check_conv_transpose<ConvTransposeOptions{.stride = {2, 1}, .padding = {1, 0}, .output_padding = {1, 0}, .dilation = {1, 2}},
                       T, D, 1, 2, 3, 4, 2, 3>(20);
  check_conv_transpose<ConvTransposeOptions{.stride = 2, .padding = 1, .groups = 2}, T, D, 2, 4, 3, 3, 6, 3>(21);
  check_conv_transpose<ConvTransposeOptions{.stride = {1, 2}, .padding = {0, 1}, .groups = 3}, T, D, 1, 3, 4, 3, 3, 2>(22);
}

// PyTorch's values and gradients (tests/fixtures/nn/conv.txt) for input X and weight W.
template <ConvOptions O, ShapeType X, ShapeType W, class D>
void check_conv_golden(const test::GoldenCase& c) {
  REQUIRE(c.name == "conv2d");
  REQUIRE(c.option("stride") == fmt::format("{},{}", O.stride.h, O.stride.w));
  REQUIRE(c.option("padding") == fmt::format("{},{}", O.padding.h, O.padding.w));
  REQUIRE(c.option("dilation") == fmt::format("{},{}", O.dilation.h, O.dilation.w));
  REQUIRE(c.option("groups") == std::to_string(O.groups));
  auto f = [](const auto& x, const auto& w, const auto& b) { return conv2d<O>(x, w, b); };
  test::check_golden_op<D>(c, 1e-12, f, {"x", "weight", "bias"}, test::golden_tensor<double, X>(c.at("x")),
                           test::golden_tensor<double, W>(c.at("weight")),
                           test::golden_tensor<double, Shape<W::dims[0]>>(c.at("bias")));
}

template <ConvTransposeOptions O, ShapeType X, ShapeType W, class D>
void check_conv_transpose_golden(const test::GoldenCase& c) {
  REQUIRE(c.name == "conv_transpose2d");
  REQUIRE(c.option("stride") == fmt::format("{},{}", O.stride.h, O.stride.w));
  REQUIRE(c.option("padding") == fmt::format("{},{}", O.padding.h, O.padding.w));
  REQUIRE(c.option("output_padding") == fmt::format("{},{}", O.output_padding.h, O.output_padding.w));
  REQUIRE(c.option("dilation") == fmt::format("{},{}", O.dilation.h, O.dilation.w));
  REQUIRE(c.option("groups") == std::to_string(O.groups));
  auto f = [](const auto& x, const auto& w, const auto& b) { return conv_transpose2d<O>(x, w, b); };
  test::check_golden_op<D>(c, 1e-12, f, {"x", "weight", "bias"}, test::golden_tensor<double, X>(c.at("x")),
                           test::golden_tensor<double, W>(c.at("weight")),
                           test::golden_tensor<double, Shape<W::dims[1] * O.groups>>(c.at("bias")));
}

}  // namespace

TEST_SUITE("ops.conv") {
  TEST_CASE_TEMPLATE("per-axis stride, padding and dilation, and grouped transposed convolutions match PyTorch", D,
                     TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    const auto cases = test::load_golden("conv.txt");
    REQUIRE(cases.size() == 4);
    check_conv_golden<ConvOptions{.stride = {2, 1}, .padding = {1, 0}, .dilation = {1, 2}, .groups = 2}, Shape<2, 4, 7, 9>,
                      Shape<6, 2, 3, 2>, D>(cases[0]);
    check_conv_golden<ConvOptions{.stride = {1, 3}, .padding = {2, 1}, .dilation = {2, 1}}, Shape<1, 3, 6, 10>,
                      Shape<2, 3, 2, 3>, D>(cases[1]);
    check_conv_transpose_golden<ConvTransposeOptions{.stride = {2, 1}, .padding = {1, 0}, .output_padding = {1, 0},
                                                     .dilation = {1, 2}, .groups = 2},
                                Shape<2, 4, 5, 4>, Shape<4, 3, 3, 2>, D>(cases[2]);
    check_conv_transpose_golden<ConvTransposeOptions{.stride = {1, 2}, .padding = {0, 1}, .output_padding = {0, 1}, .groups = 3},
                                Shape<1, 6, 4, 5>, Shape<6, 1, 2, 3>, D>(cases[3]);
  }

  TEST_CASE_TEMPLATE("conv2d matches a direct loop and finite differences", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    all_convs<float, D>();
    all_convs<double, D>();
  }

  TEST_CASE_TEMPLATE("conv_transpose2d matches a direct loop and finite differences", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    all_conv_transposes<float, D>();
    all_conv_transposes<double, D>();
  }

  TEST_CASE_TEMPLATE("with TF32, float convolutions stay within 3e-3 of FP32", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    // The pix2pix shapes that matter: a 4x4 stride-2 convolution and its transpose, wide enough for
    // the tensor-core algorithms. On the CPU the switch changes nothing and this is a plain parity.
    using X = Shape<2, 32, 16, 16>;
    const auto x = test::random_tensor<float, X>(21);
    const auto w = test::random_tensor<float, Shape<64, 32, 4, 4>>(22);
    const auto wt = test::random_tensor<float, Shape<64, 16, 4, 4>>(23);
    auto f = [](const auto& xv, const auto& wv, const auto& wtv) {
      return conv_transpose2d<ConvTransposeOptions{.stride = 2, .padding = 1}>(
          eval(conv2d<ConvOptions{.stride = 2, .padding = 1}>(xv, wv) * 0.1f), wtv);
    };
    const auto want = test::value_and_gradients<cpu>(f, x, w, wt);
    const Tf32Scope tf32(true);
    const auto got = test::value_and_gradients<D>(f, x, w, wt);
    test::check_relative_error(std::get<0>(got), std::get<0>(want), 3e-3, "TF32 value");
    test::check_relative_error(std::get<1>(got), std::get<1>(want), 3e-3, "TF32 input gradient");
    test::check_relative_error(std::get<2>(got), std::get<2>(want), 3e-3, "TF32 weight gradient");
    test::check_relative_error(std::get<3>(got), std::get<3>(want), 3e-3, "TF32 transposed weight gradient");
  }

  TEST_CASE("the CPU kernels match direct loops whatever the product strategy") {
    using G = kernels::ConvGeometry;
    // n, c_in, h_in, w_in, c_out, h_out, w_out, kh, kw, stride (y, x), pad_top, pad_left, dilation (y, x), groups
    check_kernels(G{2, 3, 64, 64, 4, 32, 32, 4, 4, 2, 2, 1, 1, 1, 1, 1}, 1);   // a GEMM per image, wide rows
    check_kernels(G{3, 3, 40, 40, 4, 20, 20, 4, 4, 2, 2, 1, 1, 1, 1, 1}, 2);   // batched, wide rows, stride 2
    check_kernels(G{3, 4, 22, 22, 2, 21, 21, 4, 4, 1, 1, 1, 1, 1, 1, 1}, 3);   // batched, wide rows, stride 1
    check_kernels(G{4, 8, 8, 8, 6, 7, 7, 4, 4, 1, 1, 1, 1, 1, 1, 1}, 4);       // narrow rows (a PatchGAN's d4)
    check_kernels(G{4, 16, 7, 7, 1, 6, 6, 4, 4, 1, 1, 1, 1, 1, 1, 1}, 5);      // one output channel (d5): output side
    check_kernels(G{3, 24, 10, 10, 1, 5, 5, 4, 4, 2, 2, 1, 1, 1, 1, 1}, 10);   // output side, stride 2
    check_kernels(G{2, 32, 9, 9, 2, 9, 9, 3, 3, 1, 1, 1, 1, 1, 1, 2}, 11);     // output side, groups
    check_kernels(G{5, 6, 9, 9, 4, 5, 5, 3, 3, 2, 2, 1, 1, 1, 1, 2}, 6);       // groups, narrow
    check_kernels(G{2, 4, 11, 11, 3, 5, 5, 3, 3, 2, 2, 2, 2, 2, 2, 1}, 7);     // dilation
    check_kernels(G{3, 5, 6, 6, 4, 6, 6, 1, 1, 1, 1, 0, 0, 1, 1, 1}, 8);       // pointwise
    check_kernels(G{2, 3, 9, 50, 4, 5, 16, 3, 2, 2, 3, 1, 0, 1, 2, 1}, 12);  // per-axis stride and dilation, wide rows
    check_kernels(G{3, 4, 7, 6, 2, 7, 3, 2, 3, 1, 2, 1, 1, 2, 1, 2}, 13);    // per-axis, narrow rows, groups
    // Taps as shifted planes (kernels::cpu_detail::ShiftedTaps): stride-2 phases of unequal sizes
    // (odd input), asymmetric padding, a stride-1 output wider than its input (phases copied), one
    // as wide (the plane itself), and a stride-2 kernel without padding.
    const G shifted[] = {G{2, 3, 33, 31, 4, 17, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1}, G{2, 3, 32, 34, 2, 16, 17, 4, 4, 2, 2, 2, 1, 1, 1, 1},
                         G{2, 3, 12, 12, 4, 14, 14, 3, 3, 1, 1, 2, 2, 1, 1, 1}, G{3, 2, 10, 12, 3, 10, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1},
                         G{2, 2, 32, 32, 3, 16, 16, 2, 2, 2, 2, 0, 0, 1, 1, 1}};
    for (std::size_t i = 0; i < std::size(shifted); ++i) {
      CHECK(kernels::cpu_detail::ShiftedTaps::applies(shifted[i]));
      check_kernels(shifted[i], 40 + i);
    }
    CHECK(kernels::cpu_detail::ShiftedTaps(shifted[3]).in_place());
    CHECK_FALSE(kernels::cpu_detail::ShiftedTaps(shifted[2]).in_place());
    CHECK_FALSE(kernels::cpu_detail::ShiftedTaps::applies(G{4, 8, 8, 8, 6, 7, 7, 4, 4, 1, 1, 1, 1, 1, 1, 1}));      // narrow
    CHECK_FALSE(kernels::cpu_detail::ShiftedTaps::applies(G{3, 4, 22, 22, 2, 21, 21, 4, 4, 1, 1, 1, 1, 1, 1, 1}));  // narrower out
    CHECK_FALSE(kernels::cpu_detail::ShiftedTaps::applies(G{2, 3, 9, 50, 4, 5, 16, 3, 2, 2, 3, 1, 0, 1, 2, 1}));    // dilation
    // More column-buffer elements than batch_limit: the batch is cut into chunks.
    const G chunked{18, 64, 32, 32, 16, 30, 30, 3, 3, 1, 1, 0, 0, 1, 1, 1};
    REQUIRE(chunked.col_rows() * chunked.out_plane() * chunked.n > G::batch_limit);
    REQUIRE(chunked.images_per_gemm() > 1);
    REQUIRE(chunked.images_per_gemm() < chunked.n);
    check_kernels(chunked, 9);
    for (const G& g : {G{4, 16, 7, 7, 1, 6, 6, 4, 4, 1, 1, 1, 1, 1, 1, 1}, G{2, 32, 9, 9, 2, 9, 9, 3, 3, 1, 1, 1, 1, 1, 1, 2}})
      CHECK(g.output_side());
    CHECK_FALSE(G{4, 8, 8, 8, 6, 7, 7, 4, 4, 1, 1, 1, 1, 1, 1, 1}.output_side());
  }

  TEST_CASE("images with a product each run side by side on two threads with the same bits as on one") {
    using G = kernels::ConvGeometry;
    // Odd image counts, so that at two and three threads the last round is short; 1,024-pixel
    // output planes keep a product per image. Both GEMM backends (Eigen's threaded product blocks
    // differently at two threads, so a threaded product anywhere would change the bits).
    const G per_image[] = {G{5, 3, 64, 64, 8, 32, 32, 4, 4, 2, 2, 1, 1, 1, 1, 1},    // the U-Net's first layer
                           G{5, 8, 32, 32, 6, 32, 32, 1, 1, 1, 1, 0, 0, 1, 1, 1},    // pointwise
                           G{3, 4, 34, 34, 4, 32, 32, 3, 3, 1, 1, 0, 0, 1, 1, 2}};   // groups
    const int saved = num_threads();
    const kernels::GemmBackend chosen = kernels::gemm_backend();
    for (const kernels::GemmBackend backend : {kernels::GemmBackend::blas, kernels::GemmBackend::eigen}) {
      for (const G& g : per_image) {
        kernels::set_gemm_backend(backend);
        CAPTURE(int(kernels::gemm_backend()));
        REQUIRE(g.images_per_gemm() == 1);
        CAPTURE(g.n);
        CAPTURE(g.c_in);
        for (int threads : {2, 3}) {
          set_num_threads(threads);
          check_kernels(g, 30 + threads);
        }
        set_num_threads(saved);
        const auto one = kernel_results(g, 1);
        for (int threads : {2, 3}) {
          CAPTURE(threads);
          const auto many = kernel_results(g, threads);
          for (std::size_t k = 0; k < 3; ++k) {
            CAPTURE(k);
            REQUIRE(many[k].size() == one[k].size());
            CHECK(std::memcmp(many[k].data(), one[k].data(), one[k].size() * sizeof(float)) == 0);
          }
        }
      }
    }
    kernels::set_gemm_backend(chosen);
  }

  TEST_CASE("output shapes are computed at compile time") {
    using X = Shape<6, 4, 128, 128>;
    static_assert(std::is_same_v<detail::Conv2dPlan<X, Shape<64, 4, 4, 4>, ConvOptions{.stride = 2, .padding = 1}>::out,
                                 Shape<6, 64, 64, 64>>);
    static_assert(std::is_same_v<detail::ConvTranspose2dPlan<Shape<6, 64, 64, 64>, Shape<64, 3, 4, 4>,
                                                             ConvTransposeOptions{.stride = 2, .padding = 1}>::out,
                                 Shape<6, 3, 128, 128>>);
    static_assert(std::is_same_v<detail::Conv2dPlan<Shape<1, 3, 150, 150>, Shape<32, 3, 7, 7>, ConvOptions{.stride = 2}>::out,
                                 Shape<1, 32, 72, 72>>);
    static_assert(std::is_same_v<detail::Conv2dPlan<Shape<1, 3, 112, 112>, Shape<32, 3, 3, 3>,
                                                    ConvOptions{.stride = 2, .same = true}>::out,
                                 Shape<1, 32, 56, 56>>);
  }
}
