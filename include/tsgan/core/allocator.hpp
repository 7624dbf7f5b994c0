// Caching allocators. Tensors take their memory from here, never from the system directly: a
// freed block goes to a free list of its size class and the next request of that class reuses it,
// so a training step that repeats the shapes of the previous one makes no system allocation.
//
// CachingAllocator<Backend> holds the policy (size classes, free lists, statistics); a backend
// only says how to get and return raw memory. The host backend uses 64-byte aligned memory; the
// CUDA backend (kernels/cuda/) uses cudaMalloc with the same interface and statistics.
//
// Private pools serve CUDA graphs (kernels/cuda/graph.cuh). While a pool is active, requests are
// served from the pool's free lists, then from the shared ones, and never from the system (a
// graph being captured may not call cudaMalloc: warm up first). Every block handed out while the
// pool is active belongs to it from then on: when freed it returns to the pool, not to the shared
// lists, so memory a graph reads and writes on every replay is never given to anyone else.
// release_private_pool() hands the pool's blocks back when the graph is destroyed.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <mutex>
#include <new>
#include <algorithm>
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
    if (active_pool_ != 0) {
      p = take_from(pools_[active_pool_], cls);
      if (p == nullptr) p = take_from(free_, cls);
      if (p == nullptr)
        fail("tsgan: the {} allocator needs a new block of {} bytes while a private pool is active "
             "(CUDA graph capture); run the captured work once before capturing, so that every block "
             "it needs is cached",
             Backend::name, cls);
      owner_[p] = active_pool_;
      stats_.bytes_cached -= cls;
    } else if (void* q = take_from(free_, cls)) {
      p = q;
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
    if (!owner_.empty()) {
      if (auto it = owner_.find(p); it != owner_.end()) {
        pools_[it->second][cls].push_back(p);
        return;
      }
    }
    free_[cls].push_back(p);
  }

  // Starts a private pool (see the top of this file) and returns its id. One at a time.
  int begin_private_pool() {
    std::lock_guard lock(mutex_);
    if (active_pool_ != 0) fail("tsgan: a private pool of the {} allocator is already active", Backend::name);
    active_pool_ = ++last_pool_;
    pools_[active_pool_];
    return active_pool_;
  }
  // Stops handing out blocks from the active pool; the blocks it owns stay its own.
  void end_private_pool() {
    std::lock_guard lock(mutex_);
    active_pool_ = 0;
  }
  // Gives the pool's free blocks back to the shared lists and forgets which blocks it owned
  // (those still in use go to the shared lists when they are freed).
  void release_private_pool(int id) {
    std::lock_guard lock(mutex_);
    if (id == active_pool_) active_pool_ = 0;
    auto pool = pools_.find(id);
    if (pool == pools_.end()) return;
    for (auto& [cls, blocks] : pool->second)
      for (void* b : blocks) free_[cls].push_back(b);
    pools_.erase(pool);
    std::erase_if(owner_, [id](const auto& entry) { return entry.second == id; });
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

  using FreeLists = std::unordered_map<std::size_t, std::vector<void*>>;

  static void* take_from(FreeLists& lists, std::size_t cls) {
    auto it = lists.find(cls);
    if (it == lists.end() || it->second.empty()) return nullptr;
    void* p = it->second.back();
    it->second.pop_back();
    return p;
  }

  mutable std::mutex mutex_;
  FreeLists free_;
  AllocatorStats stats_;
  std::unordered_map<int, FreeLists> pools_;  // private pools' free blocks
  std::unordered_map<void*, int> owner_;      // blocks that belong to a private pool
  int active_pool_ = 0;                        // 0: none
  int last_pool_ = 0;
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
