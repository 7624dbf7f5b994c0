// The tape. A Graph records, in order, one node per differentiable operation; backward() walks
// them in reverse. Nodes and the slots that hold intermediate values live in an arena owned by
// the graph: reset() destroys them (their tensors go back to the caching allocator) and rewinds
// the arena, keeping its blocks, so a training step that repeats the previous one allocates
// nothing (no per-op heap node, unlike a shared_ptr graph).
//
// Every Var belongs to one generation of its graph: reset() and the destructor end it. Each graph
// generation has a process-wide unique number, which the Var keeps and compares on every use, so a
// Var used after reset() is an error, not a read of a recycled slot. That check is always on (a load
// and a compare per access). A Var used after its graph was destroyed cannot compare without reading
// freed memory; in builds without NDEBUG, or after set_check_graph_lifetimes(true), the Var first
// looks its graph up in a process-wide table of the live graphs and their generations (a mutex and
// a hash lookup per access, so off by default in release builds).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <new>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tsgan/core/error.hpp"
#include "tsgan/core/tensor.hpp"

namespace tsgan {

template <class T, ShapeType S, class D>
class Var;
template <class T, ShapeType S, class D>
class Param;

// A tape entry: pushes its output's gradient to its inputs.
class Node {
 public:
  virtual ~Node() = default;
  virtual void backward() = 0;
};

// Bump allocator over a list of blocks that survive reset().
class Arena {
 public:
  Arena() = default;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  ~Arena() {
    for (auto& b : blocks_) std::free(b.data);
  }

  void* allocate(std::size_t bytes, std::size_t align) {
    while (true) {
      if (current_ < blocks_.size()) {
        Block& b = blocks_[current_];
        const std::size_t start = (b.used + align - 1) / align * align;
        if (start + bytes <= b.size) {
          b.used = start + bytes;
          return b.data + start;
        }
        ++current_;
        continue;
      }
      const std::size_t size = std::max<std::size_t>(block_size, bytes + align);
      auto* data = static_cast<std::byte*>(std::malloc(size));
      if (data == nullptr) throw std::bad_alloc();
      blocks_.push_back({data, size, 0});
    }
  }

  void rewind() {
    for (auto& b : blocks_) b.used = 0;
    current_ = 0;
  }

  std::size_t capacity() const {
    std::size_t c = 0;
    for (auto& b : blocks_) c += b.size;
    return c;
  }

 private:
  static constexpr std::size_t block_size = 64 * 1024;
  struct Block {
    std::byte* data;
    std::size_t size;
    std::size_t used;
  };
  std::vector<Block> blocks_;
  std::size_t current_ = 0;
};

class Graph;

namespace detail {
// Never set: Graph::record's instantiation guard reads it (see there).
inline volatile bool never_taken = false;

inline std::uint64_t next_graph_generation() {
  static std::atomic<std::uint64_t> counter{0};
  return counter.fetch_add(1, std::memory_order_relaxed) + 1;
}

// The current generation of every graph alive now, by address (kept always, consulted when
// lifetime checks are on). A reset updates its entry in place, so a step allocates nothing here.
class LiveGraphs {
 public:
  static LiveGraphs& instance() {
    static LiveGraphs live;
    return live;
  }
  void set(const Graph* graph, std::uint64_t generation) {
    const std::lock_guard lock(mutex_);
    live_[graph] = generation;
  }
  void remove(const Graph* graph) {
    const std::lock_guard lock(mutex_);
    live_.erase(graph);
  }
  // Whether `graph` is alive and at `generation` (a graph that died and another one born at the
  // same address have different generations).
  bool current(const Graph* graph, std::uint64_t generation) {
    const std::lock_guard lock(mutex_);
    const auto it = live_.find(graph);
    return it != live_.end() && it->second == generation;
  }

 private:
  std::mutex mutex_;
  std::unordered_map<const Graph*, std::uint64_t> live_;
};

inline std::atomic<bool>& graph_lifetime_checks() {
#if defined(NDEBUG)
  static std::atomic<bool> on{false};
#else
  static std::atomic<bool> on{true};
#endif
  return on;
}

inline bool& grad_mode() {
  thread_local bool enabled = true;
  return enabled;
}
}  // namespace detail

// Whether operations record nodes on this thread (see NoGrad).
inline bool grad_enabled() { return detail::grad_mode(); }

// While alive, operations compute values only: nothing is recorded and no gradient flows.
class NoGrad {
 public:
  NoGrad() : previous_(std::exchange(detail::grad_mode(), false)) {}
  ~NoGrad() { detail::grad_mode() = previous_; }
  NoGrad(const NoGrad&) = delete;
  NoGrad& operator=(const NoGrad&) = delete;

 private:
  bool previous_;
};

// Whether a Var checks that its graph still exists before using it (see the top of this file).
inline void set_check_graph_lifetimes(bool on) { detail::graph_lifetime_checks().store(on, std::memory_order_relaxed); }
inline bool graph_lifetimes_checked() { return detail::graph_lifetime_checks().load(std::memory_order_relaxed); }

class Graph {
 public:
  Graph() { detail::LiveGraphs::instance().set(this, generation_); }
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  ~Graph() {
    destroy_objects();
    detail::LiveGraphs::instance().remove(this);
  }

  // Constructs an object in the arena; it is destroyed by reset().
  template <class X, class... Args>
  X* make(Args&&... args) {
    void* p = arena_.allocate(sizeof(X), alignof(X));
    X* x = new (p) X(std::forward<Args>(args)...);
    if constexpr (!std::is_trivially_destructible_v<X>)
      objects_.push_back({x, [](void* o) { static_cast<X*>(o)->~X(); }});
    return x;
  }

  // Records a node (constructed in the arena) at the end of the tape.
  template <class N, class... Args>
  N* record(Args&&... args) {
    N* n = make<N>(std::forward<Args>(args)...);
    nodes_.push_back(n);
    // A direct (non-virtual) call names N::backward's definition, so the compiler must instantiate
    // it: clang 14 otherwise emits the vtable of a node recorded inside nested generic lambdas (as
    // gradcheck does) without instantiating backward(), and the program does not link (naming its
    // address is not enough for clang 14). The call is behind a flag the optimiser cannot see
    // through and is never taken; testing n for null instead made GCC warn -Wnonnull everywhere.
    if (detail::never_taken) n->N::backward();
    return n;
  }

  // Leaves of the graph (defined in autograd/var.hpp). An input is a constant that needs no
  // gradient: the lvalue overload reads the caller's tensor, which must outlive backward(); the
  // rvalue one keeps it. A variable is a leaf whose gradient backward() computes. A parameter
  // reads a Param's value and accumulates into its gradient.
  template <class T, ShapeType S, class D>
  Var<T, S, D> input(const Tensor<T, S, D>& t);
  template <class T, ShapeType S, class D>
  Var<T, S, D> input(Tensor<T, S, D>&& t);
  template <class T, ShapeType S, class D>
  Var<T, S, D> variable(Tensor<T, S, D> t);
  template <class T, ShapeType S, class D>
  Var<T, S, D> param(Param<T, S, D>& p);

  // Runs every node's backward, last recorded first. The caller has seeded the gradient of the
  // output it differentiates (Var::backward does).
  void run_backward() {
    if (backward_done_) fail("tsgan: backward() twice on the same graph; call Graph::reset() between steps");
    backward_done_ = true;
    for (std::size_t i = nodes_.size(); i-- > 0;) nodes_[i]->backward();
  }

  // Moves the nodes recorded at tape positions [first, last) (as size() gave them) to the end of
  // the tape, in their order. backward() then runs them before the nodes recorded after them, so
  // none of those may read their outputs. For a caller that computes a value before it is used
  // and wants its gradients summed as if it had been computed where it is used: a Var's gradient
  // adds its consumers' parts in tape order, and the order of a sum decides its rounding.
  void move_to_end(std::size_t first, std::size_t last) {
    if (first > last || last > nodes_.size())
      fail("tsgan: Graph::move_to_end({}, {}) on a tape of {} nodes", first, last, nodes_.size());
    std::rotate(nodes_.begin() + static_cast<std::ptrdiff_t>(first), nodes_.begin() + static_cast<std::ptrdiff_t>(last),
                nodes_.end());
  }

  // Destroys every node and slot of the step, rewinds the arena and starts a new generation: the
  // Vars made so far can no longer be used.
  void reset() {
    destroy_objects();
    generation_ = detail::next_graph_generation();
    detail::LiveGraphs::instance().set(this, generation_);
  }

  // Fails unless `generation` is the current one of `graph` (a Var's check on every use). With
  // lifetime checks on, the table is consulted before the graph is read.
  static void check_generation(const Graph* graph, std::uint64_t generation) {
    if (graph_lifetimes_checked() && !detail::LiveGraphs::instance().current(graph, generation))
      fail("tsgan: a Var was used after its Graph was reset or destroyed; Vars last one step: make them again "
           "from the new step's inputs and parameters");
    if (generation != graph->generation_)
      fail("tsgan: a Var was used after its Graph was reset (Graph::reset() ends every Var of the step); make it "
           "again from the new step's inputs and parameters");
  }
  std::uint64_t generation() const { return generation_; }

  std::size_t size() const { return nodes_.size(); }
  std::size_t arena_capacity() const { return arena_.capacity(); }

 private:
  struct Owned {
    void* object;
    void (*destroy)(void*);
  };
  void destroy_objects() {
    for (std::size_t i = objects_.size(); i-- > 0;) objects_[i].destroy(objects_[i].object);
    objects_.clear();
    nodes_.clear();
    arena_.rewind();
    backward_done_ = false;
  }

  Arena arena_;
  std::vector<Node*> nodes_;
  std::vector<Owned> objects_;
  bool backward_done_ = false;
  std::uint64_t generation_ = detail::next_graph_generation();
};

}  // namespace tsgan
