// Caching allocators. Tensors take their memory from here, never from the system directly: a
// freed block goes to a free list of its size class and the next request of that class reuses it,
// so a training step that repeats the shapes of the previous one makes no system allocation.
//
// CachingAllocator<Backend> holds the policy (size classes, free lists, statistics); a backend
// only says how to get and return raw memory. The host backend uses 64-byte aligned memory; the
// CUDA backend (kernels/cuda/) uses cudaMalloc with the same interface and statistics.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#include "tsgan/core/device.hpp"
#include "tsgan/core/error.hpp"

namespace tsgan {

struct AllocatorStats {
  std::size_t bytes_in_use = 0;       // handed out to tensors (rounded to size classes)
  std::size_t peak_bytes_in_use = 0;  // maximum of bytes_in_use since the last reset_peak()
  std::size_t bytes_cached = 0;       // held in free lists, ready for reuse
  std::size_t system_allocations = 0; // calls to the backend's allocate, ever
  std::size_t system_frees = 0;       // calls to the backend's free, ever
  std::size_t requests = 0;           // calls to allocate(), ever
};

// Rounds a request up to its size class: 256 bytes minimum, then four classes per power of two,
// so at most 25% of a block is slack.
constexpr std::size_t size_class(std::size_t bytes) {
  constexpr std::size_t min_class = 256;
  if (bytes <= min_class) return min_class;
  std::size_t pow2 = min_class;
  while (pow2 * 2 < bytes) pow2 *= 2;
  const std::size_t step = pow2 / 4;
  return (bytes + step - 1) / step * step;
}

template <class Backend>
class CachingAllocator {
 public:
  CachingAllocator() = default;
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;
  ~CachingAllocator() { release_cached(); }

  // Returns a block of at least `bytes` bytes (aligned as the backend guarantees).
  void* allocate(std::size_t bytes) {
    const std::size_t cls = size_class(bytes);
    std::lock_guard lock(mutex_);
    ++stats_.requests;
    void* p = nullptr;
    if (auto it = free_.find(cls); it != free_.end() && !it->second.empty()) {
      p = it->second.back();
      it->second.pop_back();
      stats_.bytes_cached -= cls;
    } else {
      p = Backend::allocate(cls);
      if (p == nullptr) {  // give the cache back to the system and try once more
        release_cached_locked();
        p = Backend::allocate(cls);
      }
      if (p == nullptr)
        fail<OutOfMemoryError>("tsgan: out of {} memory: asked for {} bytes while {} bytes are in "
                               "use (peak {})",
                               Backend::name, cls, stats_.bytes_in_use, stats_.peak_bytes_in_use);
      ++stats_.system_allocations;
    }
    stats_.bytes_in_use += cls;
    if (stats_.bytes_in_use > stats_.peak_bytes_in_use) stats_.peak_bytes_in_use = stats_.bytes_in_use;
    return p;
  }

  // `bytes` must be the size passed to allocate() for this block.
  void deallocate(void* p, std::size_t bytes) noexcept {
    if (p == nullptr) return;
    const std::size_t cls = size_class(bytes);
    std::lock_guard lock(mutex_);
    stats_.bytes_in_use -= cls;
    stats_.bytes_cached += cls;
    free_[cls].push_back(p);
  }

  // Returns every cached block to the system.
  void release_cached() {
    std::lock_guard lock(mutex_);
    release_cached_locked();
  }

  AllocatorStats stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
  }

  void reset_peak() {
    std::lock_guard lock(mutex_);
    stats_.peak_bytes_in_use = stats_.bytes_in_use;
  }

 private:
  void release_cached_locked() noexcept {
    for (auto& [cls, blocks] : free_) {
      for (void* p : blocks) {
        Backend::deallocate(p);
        ++stats_.system_frees;
      }
      blocks.clear();
    }
    stats_.bytes_cached = 0;
  }

  mutable std::mutex mutex_;
  std::unordered_map<std::size_t, std::vector<void*>> free_;
  AllocatorStats stats_;
};

struct HostMemory {
  static constexpr const char* name = "host";
  static constexpr std::size_t alignment = 64;  // a cache line and an AVX-512 register
  static void* allocate(std::size_t bytes) noexcept {
    return std::aligned_alloc(alignment, (bytes + alignment - 1) / alignment * alignment);
  }
  static void deallocate(void* p) noexcept { std::free(p); }
};

// The allocator of each device; defined for cuda in kernels/cuda/allocator.cuh.
template <class D>
struct DeviceAllocator;

template <>
struct DeviceAllocator<cpu> {
  using type = CachingAllocator<HostMemory>;
  static type& instance() {
    static type a;
    return a;
  }
};

template <class D>
auto& allocator() {
  return DeviceAllocator<D>::instance();
}

}  // namespace tsgan
