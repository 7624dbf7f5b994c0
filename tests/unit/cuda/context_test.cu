// The CUDA backend's own pieces: checked calls and their messages (these run without a GPU), and on
// a GPU the context, its handles and workspace, the caching allocator's stream-order reuse, fill
// and copies. Compiled only into tsgan_tests_cuda.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "support.hpp"

using namespace tsgan;

#define SKIP_WITHOUT_GPU() TSGAN_SKIP_UNAVAILABLE(::tsgan::cuda)

namespace {

// DevicePlan's map from (output, element) to the input, checked on the host: every input element
// is visited exactly once, by the output it belongs to; the chunks cover each output's elements;
// and a sum taken in the chunk kernel's order (per-thread strides, fixed tree, chunks in order)
// from a CPU evaluator matches the CPU's reduction.
template <class S, class Ax>
void check_reduction_plan() {
  using P = reduction::cuda_detail::DevicePlan<S, Ax>;
  using Kept = typename ReduceShape<S, Ax, true>::kept;
  using I = typename P::I;
  CAPTURE(P::outputs);
  CAPTURE(P::count);
  static_assert(P::outputs * P::count == S::size);
  static_assert(P::chunks >= 1 && P::chunks * P::chunk_length >= P::count &&
                (P::chunks - 1) * P::chunk_length < P::count);
  std::vector<int> hits(static_cast<std::size_t>(S::size), 0);
  for (I o = 0; o < static_cast<I>(P::outputs); ++o)
    for (I r = 0; r < static_cast<I>(P::count); ++r) {
      index_t idx[S::rank + 1];
      const index_t linear = P::locate(o, r, idx);
      index_t expected_linear = 0, kept = 0;
      for (std::size_t j = 0; j < S::rank; ++j) {
        expected_linear += idx[j] * S::strides[j];
        if (!P::mask[j]) kept += idx[j] * Kept::strides[j];
      }
      REQUIRE(linear == expected_linear);
      REQUIRE(kept == static_cast<index_t>(o));
      ++hits[static_cast<std::size_t>(linear)];
    }
  for (int h : hits) REQUIRE(h == 1);

  const auto x = test::random_tensor<float, S>(77);
  const auto node = expr::as_node(x * 2.f);
  const auto ev = node.template evaluator<S>();
  const auto want = sum<Ax, true>(x * 2.f);
  for (I o = 0; o < static_cast<I>(P::outputs); ++o) {
    double total = 0;
    for (index_t c = 0; c < P::chunks; ++c) {
      const I begin = static_cast<I>(c * P::chunk_length);
      const I end = std::min<I>(static_cast<I>(P::count), begin + static_cast<I>(P::chunk_length));
      double lanes[P::block] = {};
      for (int t = 0; t < P::block; ++t)
        for (I r = begin + t; r < end; r += P::block) lanes[t] += P::template element<float>(ev, o, r);
      for (int w = P::block / 2; w > 0; w >>= 1)
        for (int t = 0; t < w; ++t) lanes[t] += lanes[t + w];
      total += lanes[0];
    }
    REQUIRE(test::close(total, want[static_cast<index_t>(o)], 1e-5, 1e-5));
  }
}

}  // namespace

TEST_SUITE("cuda.context") {
  TEST_CASE("cuda_available() answers without throwing, GPU or not") {
    CHECK_NOTHROW((void)cuda_available());
    MESSAGE((cuda_available() ? "a CUDA device is present" : "no CUDA device"));
  }

  TEST_CASE("a failed call names the call, the file and line, and the status") {
    const int line = __LINE__ + 1;
    CHECK_THROWS_WITH_AS(TSGAN_CUDA_CHECK(cudaErrorInvalidValue),
                         doctest::Contains(fmt::format("tsgan: CUDA call `cudaErrorInvalidValue` failed at {}:{}: "
                                                       "cudaErrorInvalidValue (invalid argument)",
                                                       __FILE__, line).c_str()),
                         CudaError);
    CHECK_THROWS_WITH_AS(TSGAN_CUDA_CHECK(CUBLAS_STATUS_INVALID_VALUE),
                         doctest::Contains("cuBLAS call `CUBLAS_STATUS_INVALID_VALUE` failed"), CudaError);
    CHECK_THROWS_WITH_AS(TSGAN_CUDA_CHECK(CUBLAS_STATUS_INVALID_VALUE), doctest::Contains("CUBLAS_STATUS_INVALID_VALUE ("),
                         CudaError);
#if TSGAN_HAS_CUDNN
    CHECK_THROWS_WITH_AS(TSGAN_CUDA_CHECK(CUDNN_STATUS_BAD_PARAM),
                         doctest::Contains("cuDNN call `CUDNN_STATUS_BAD_PARAM` failed"), CudaError);
#endif
    CHECK_NOTHROW(TSGAN_CUDA_CHECK(cudaSuccess));
  }

  TEST_CASE("an allocation failure is an out-of-memory error with the bytes asked for") {
    CHECK_THROWS_WITH_AS(TSGAN_CUDA_CHECK_ALLOC(cudaErrorMemoryAllocation, 12345),
                         doctest::Contains("asked for 12345 bytes"), OutOfMemoryError);
    CHECK_THROWS_WITH_AS(TSGAN_CUDA_CHECK(CUBLAS_STATUS_ALLOC_FAILED), doctest::Contains("request size not known"),
                         OutOfMemoryError);
    // A memory error is still a tsgan::Error for code that catches everything tsgan throws.
    CHECK_THROWS_AS(TSGAN_CUDA_CHECK(cudaErrorMemoryAllocation), Error);
  }

  TEST_CASE("the elementwise kernel's loop body, run on the host, writes every element in place") {
    // assign_kernel's body over a broadcast expression of a strided view, into a strided view.
    const auto x = test::random_tensor<float, Shape<2, 6, 3, 5>>(1);
    const auto bias = test::random_tensor<float, Shape<1, 3, 1, 1>>(2);
    const auto row = test::random_tensor<float, Shape<5>>(3);
    const auto node = expr::as_node(x.channels<3>(2) * bias + tanh(row));
    using Out = Shape<2, 3, 3, 5>;
    static_assert(std::is_same_v<decltype(node)::shape, Out>);
    Tensor<float, Shape<2, 6, 3, 5>> want(-7.f), got(-7.f);
    want.channels<3>(1) = node;
    auto target = got.channels<3>(1);
    const auto ev = node.evaluator<Out>();
    const auto dst = expr::dest_evaluator(target);
    for (std::uint32_t i = 0; i < Out::size; ++i) {
      index_t idx[Out::rank + 1];
      expr::cuda_detail::unravel<Out>(i, idx);
      const expr::ElementPos<Out::rank> pos{static_cast<index_t>(i), idx};
      dst.store<float>(pos, ev.eval<float>(pos));
    }
    test::check_all(got, [&](index_t i) { return want[i]; }, 1e-6, 1e-6, "host-run kernel body");
  }

  TEST_CASE("the reduction plans' index maths and summation order, run on the host") {
    using S = Shape<3, 4, 5, 6>;
    check_reduction_plan<S, Axes<>>();
    check_reduction_plan<S, Axes<3>>();
    check_reduction_plan<S, Axes<0>>();
    check_reduction_plan<S, Axes<0, 2, 3>>();
    check_reduction_plan<S, Axes<1, 3>>();
    check_reduction_plan<S, Axes<-2, 0>>();
    check_reduction_plan<Shape<2, 9000>, Axes<1>>();    // several chunks per output
    check_reduction_plan<Shape<5000, 40>, Axes<1>>();   // serial: many short outputs
    check_reduction_plan<Shape<40, 5000>, Axes<0>>();   // serial over the outer axis
    static_assert(reduction::cuda_detail::DevicePlan<Shape<1 << 22>, Axes<>>::chunks == 1024);
    static_assert(reduction::cuda_detail::DevicePlan<Shape<5000, 40>, Axes<1>>::serial);
    static_assert(!reduction::cuda_detail::DevicePlan<Shape<2, 9000>, Axes<1>>::serial);
  }

  TEST_CASE("the context: one non-blocking stream, handles bound to it, a growing workspace") {
    SKIP_WITHOUT_GPU();
    auto& ctx = cuda_context();
    CHECK(&ctx == &cuda_context());
    CHECK(ctx.stream() != nullptr);
    unsigned flags = 0;
    TSGAN_CUDA_CHECK(cudaStreamGetFlags(ctx.stream(), &flags));
    CHECK(flags == cudaStreamNonBlocking);
    CHECK(ctx.sm_count() > 0);
    MESSAGE(fmt::format("device {}: {}, sm_{}, {} multiprocessors", ctx.device(), ctx.device_name(),
                        ctx.compute_capability(), ctx.sm_count()));
    cudaStream_t bound = nullptr;
    TSGAN_CUDA_CHECK(cublasGetStream(ctx.cublas(), &bound));
    CHECK(bound == ctx.stream());
#if TSGAN_HAS_CUDNN
    TSGAN_CUDA_CHECK(cudnnGetStream(ctx.cudnn(), &bound));
    CHECK(bound == ctx.stream());
#endif
    void* w1 = ctx.workspace(1000);
    CHECK(w1 != nullptr);
    CHECK(ctx.workspace_bytes() >= 1000);
    CHECK(ctx.workspace(10) == w1);  // a smaller request reuses it
    void* w2 = ctx.workspace(1 << 20);
    CHECK(w2 != nullptr);
    CHECK(ctx.workspace_bytes() >= (1u << 20));
    TSGAN_CUDA_CHECK(cudaMemsetAsync(w2, 0, 1 << 20, ctx.stream()));
    ctx.synchronize();
  }

  TEST_CASE("a block freed while a kernel may still read it is reused safely (stream order)") {
    SKIP_WITHOUT_GPU();
    using S = Shape<1 << 22>;
    auto& alloc = allocator<cuda>();
    const auto x = test::random_tensor<float, S, cuda>(5);
    const float* freed = nullptr;
    Tensor<float, S, cuda> y(uninitialized);
    {
      Tensor<float, S, cuda> tmp = x * 2.f;  // queued
      freed = tmp.data();
      y = tmp + 1.f;                          // queued; reads tmp
    }                                         // tmp's block goes back to the cache at once
    const auto sys = alloc.stats().system_allocations;
    Tensor<float, S, cuda> reuse(-5.f);       // gets tmp's block, written after y's kernel
    CHECK(reuse.data() == freed);
    CHECK(alloc.stats().system_allocations == sys);
    const auto hx = x.to<cpu>();
    const auto hy = y.to<cpu>();
    for (index_t i = 0; i < S::size; i += 4099) REQUIRE(hy[i] == hx[i] * 2.f + 1.f);
  }

  TEST_CASE("fill writes every element type; printing names the device") {
    SKIP_WITHOUT_GPU();
    Tensor<std::int32_t, Shape<5, 7>, cuda> i32(-3);
    Tensor<tsgan::half, Shape<33>, cuda> f16(tsgan::half(0.25f));
    Tensor<double, Shape<1000>, cuda> f64(0.0);
    f64.fill(-0.0);  // not all zero bytes: the kernel, not memset
    const auto hi = i32.to<cpu>();
    const auto hh = f16.to<cpu>();
    const auto hd = f64.to<cpu>();
    for (index_t i = 0; i < hi.size; ++i) REQUIRE(hi[i] == -3);
    for (index_t i = 0; i < hh.size; ++i) REQUIRE(hh[i].bits == tsgan::half(0.25f).bits);
    for (index_t i = 0; i < hd.size; ++i) REQUIRE(std::signbit(hd[i]));
    CHECK(fmt::format("{}", f16) == "Tensor<half, [33], cuda>");
  }

  TEST_CASE("the GPU allocator reports out of memory with the request and the bytes in use") {
    SKIP_WITHOUT_GPU();
    std::size_t free_bytes = 0, total_bytes = 0;
    TSGAN_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
    const std::size_t too_much = size_class(total_bytes * 2);
    CHECK_THROWS_WITH_AS(allocator<cuda>().allocate(too_much),
                         doctest::Contains(fmt::format("out of cuda memory: asked for {} bytes", too_much).c_str()),
                         OutOfMemoryError);
    CHECK(cudaGetLastError() == cudaSuccess);  // the failure did not leave an error behind
    Tensor<float, Shape<16>, cuda> still_works(1.f);
    CHECK(still_works.to<cpu>()[15] == 1.f);
  }
}
