#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "support.hpp"

using namespace tsgan;

TEST_SUITE("core.allocator") {
  TEST_CASE("size classes: at least the request, at most 25% slack above 256 bytes") {
    CHECK(size_class(1) == 256);
    CHECK(size_class(256) == 256);
    for (std::size_t b = 257; b < (1u << 22); b = b * 5 / 4 + 3) {
      const std::size_t c = size_class(b);
      REQUIRE(c >= b);
      REQUIRE(c <= b + b / 4 + 64);
      REQUIRE(size_class(c) == c);  // a class is its own class
    }
  }

  TEST_CASE("a private pool serves from the cache only and keeps its blocks to itself") {
    // What a CUDA graph capture relies on (kernels/cuda/graph.cuh), checked on the host allocator.
    CachingAllocator<HostMemory> a;
    void* warm = a.allocate(1000);
    a.deallocate(warm, 1000);  // cached, as after a warm-up step
    const int pool = a.begin_private_pool();
    void* p = a.allocate(1000);
    CHECK(p == warm);  // from the shared cache
    CHECK_THROWS_WITH_AS(a.allocate(5000), doctest::Contains("private pool is active"), Error);
    a.deallocate(p, 1000);
    CHECK(a.allocate(1000) == p);  // freed inside the pool: back to the pool, reused by it
    a.deallocate(p, 1000);
    a.end_private_pool();
    const auto before = a.stats().system_allocations;
    void* q = a.allocate(1000);  // outside the pool: the pool's block is not handed out
    CHECK(q != p);
    CHECK(a.stats().system_allocations == before + 1);
    a.release_private_pool(pool);
    void* r = a.allocate(1000);  // released: the block is shared again
    CHECK(r == p);
    a.deallocate(q, 1000);
    a.deallocate(r, 1000);
    CHECK(a.stats().bytes_in_use == 0);
  }

  TEST_CASE("freed blocks are reused; statistics count bytes and system calls") {
    CachingAllocator<HostMemory> a;
    void* p = a.allocate(1000);
    CHECK(reinterpret_cast<std::uintptr_t>(p) % 64 == 0);
    auto s = a.stats();
    CHECK(s.system_allocations == 1);
    CHECK(s.bytes_in_use == size_class(1000));
    a.deallocate(p, 1000);
    CHECK(a.stats().bytes_in_use == 0);
    CHECK(a.stats().bytes_cached == size_class(1000));

    void* q = a.allocate(990);  // same size class: the cached block comes back
    CHECK(q == p);
    CHECK(a.stats().system_allocations == 1);
    void* r = a.allocate(5000);  // another class: a new system allocation
    CHECK(a.stats().system_allocations == 2);
    CHECK(a.stats().peak_bytes_in_use == size_class(990) + size_class(5000));
    a.deallocate(q, 990);
    a.deallocate(r, 5000);
    a.release_cached();
    CHECK(a.stats().bytes_cached == 0);
    CHECK(a.stats().system_frees == 2);
  }

  TEST_CASE_TEMPLATE("tensors take their memory from the device allocator and give it back", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    auto& a = allocator<D>();
    const auto before = a.stats();
    {
      Tensor<float, Shape<1000>, D> t;
      CHECK(a.stats().bytes_in_use == before.bytes_in_use + size_class(4000));
    }
    CHECK(a.stats().bytes_in_use == before.bytes_in_use);
    const auto sys = a.stats().system_allocations;
    Tensor<float, Shape<1000>, D> again;  // reuses the block just freed
    CHECK(a.stats().system_allocations == sys);
  }

  TEST_CASE_TEMPLATE("a fused expression allocates nothing but its result", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    auto a = test::random_tensor<float, Shape<64, 1000>, D>(1);
    auto b = test::random_tensor<float, Shape<1000>, D>(2);
    auto c = test::random_tensor<float, Shape<64, 1>, D>(3);
    auto& alloc = allocator<D>();
    const auto before = alloc.stats().requests;
    Tensor<float, Shape<64, 1000>, D> y = tanh(a * b + 2.f * c) - sigmoid(a) / (abs(b) + 1.f);
    CHECK(alloc.stats().requests == before + 1);  // the tensor y itself
    y = exp(-square(y)) * a + where(a > 0.f, b, c);  // into an existing tensor: nothing at all
    CHECK(alloc.stats().requests == before + 1);
  }

  TEST_CASE_TEMPLATE("out of memory says how much was asked for and how much is in use", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    auto& a = allocator<D>();
    const std::size_t huge = test::impossible_bytes<D>();
    Tensor<float, Shape<1000>, D> held;  // so that some bytes are in use
    const auto in_use = a.stats().bytes_in_use;
    const std::string expected = fmt::format("asked for {} bytes while {} bytes are in use", huge, in_use);
    CHECK_THROWS_WITH_AS(a.allocate(huge), doctest::Contains(expected.c_str()), OutOfMemoryError);
    CHECK(a.stats().bytes_in_use == in_use);
    Tensor<float, Shape<1000>, D> after;  // the allocator still works
    CHECK(after.valid());
  }
}
