// The CUDA backend's own pieces: checked calls and their messages (these run without a GPU), and on
// a GPU the context, its handles and workspace, the caching allocator's stream-order reuse, fill
// and copies. Compiled only into tsgan_tests_cuda.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cstring>
#include <string>

#include "support.hpp"

using namespace tsgan;

#define SKIP_WITHOUT_GPU() TSGAN_SKIP_UNAVAILABLE(::tsgan::cuda)

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
