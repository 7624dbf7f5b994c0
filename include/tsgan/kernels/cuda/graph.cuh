// CUDA graphs: record the GPU work of a function once and replay it with one launch.
//
//   CudaGraph step_graph;
//   step_graph.capture([&] { train_step(); });   // runs train_step once eagerly, then records it
//   for (...) { copy the next batch into the input tensors; step_graph.replay(); }
//
// A training step's shapes are fixed (they are types), so every kernel, cuDNN and cuBLAS call
// and every pointer of a step repeats from one step to the next; a graph replays all of them for
// the cost of one launch instead of one per kernel (hundreds per step), which is what small
// batches are bound by.
//
// capture(f) first runs f `warmup` times (default 1) eagerly: that creates the cuDNN/cuBLAS
// handles, chooses and caches the convolution algorithms and resize tables, grows the workspace,
// and leaves every block the step needs in the caching allocator. Then it records f on the
// context's stream (cudaStreamBeginCapture, thread-local mode) while the allocator serves a
// private pool (core/allocator.hpp): blocks come from the cache only (a capture that would need
// cudaMalloc fails with a message saying so), and every block the graph touches stays reserved
// for it until the CudaGraph is destroyed, so nothing else is handed memory the graph writes on
// replay. Recording does not execute anything: call replay() to run the recorded step.
//
// What f may do, and what a replay repeats:
//  - Replays repeat the GPU work with the pointers and scalars of the capture. Tensors the step
//    reads from outside (inputs, parameters, optimizer states) must stay alive, at the same
//    address, for as long as the graph is replayed; feed new data by copying it into the same
//    input tensors before each replay. Values the step produces in its own graph's arena (the
//    loss) are freed at its end: copy what you want to read into a tensor that outlives the step.
//  - Host code inside f runs once, at capture. Host-side state it changes is not changed by
//    replays: a Generator's offset (so random draws repeat; draw outside the graph), Adam's host
//    step count (the GPU one advances, see kernels/cuda/optim.cuh; Adam::for_each_state reads it
//    back), BatchNorm2d's num_batches_tracked, a Param's gradient flags.
//  - f must not copy to or from the host or synchronise (no .to<cpu>(), no printing of values):
//    such calls fail inside a capture. Decisions on data (early stopping on a loss) go between
//    replays.
//  - One capture at a time per process; the stream stays the context's.
#pragma once

#include <cuda_runtime_api.h>

#include <utility>

#include "tsgan/kernels/cuda/allocator.cuh"
#include "tsgan/kernels/cuda/context.cuh"
#include "tsgan/kernels/cuda/error.hpp"

namespace tsgan {

class CudaGraph {
 public:
  CudaGraph() = default;
  CudaGraph(const CudaGraph&) = delete;
  CudaGraph& operator=(const CudaGraph&) = delete;
  CudaGraph(CudaGraph&& o) noexcept
      : graph_(std::exchange(o.graph_, nullptr)), exec_(std::exchange(o.exec_, nullptr)), pool_(std::exchange(o.pool_, 0)) {}
  CudaGraph& operator=(CudaGraph&& o) noexcept {
    if (this != &o) {
      reset();
      graph_ = std::exchange(o.graph_, nullptr);
      exec_ = std::exchange(o.exec_, nullptr);
      pool_ = std::exchange(o.pool_, 0);
    }
    return *this;
  }
  ~CudaGraph() { reset(); }

  // Runs f `warmup` times, then records one call of f (see the top of this file). Replaces what
  // was recorded before.
  template <class F>
  void capture(F&& f, int warmup = 1) {
    reset();
    auto& ctx = cuda_context();
    for (int i = 0; i < warmup; ++i) f();
    ctx.synchronize();
    auto& alloc = allocator<cuda>();
    pool_ = alloc.begin_private_pool();
    TSGAN_CUDA_CHECK(cudaStreamBeginCapture(ctx.stream(), cudaStreamCaptureModeThreadLocal));
    try {
      f();
    } catch (...) {
      cudaGraph_t broken = nullptr;
      (void)cudaStreamEndCapture(ctx.stream(), &broken);
      (void)cudaGetLastError();
      if (broken) (void)cudaGraphDestroy(broken);
      alloc.end_private_pool();
      throw;
    }
    const cudaError_t ended = cudaStreamEndCapture(ctx.stream(), &graph_);
    alloc.end_private_pool();
    TSGAN_CUDA_CHECK(ended);
    TSGAN_CUDA_CHECK(cudaGraphInstantiate(&exec_, graph_, 0));
    TSGAN_CUDA_CHECK(cudaGraphUpload(exec_, ctx.stream()));
  }

  // Queues the recorded work on the context's stream (returns at once, like any kernel launch).
  void replay() const {
    if (!exec_) fail<CudaError>("tsgan: CudaGraph::replay() before a successful capture()");
    TSGAN_CUDA_CHECK(cudaGraphLaunch(exec_, cuda_context().stream()));
  }

  bool captured() const { return exec_ != nullptr; }

  // The number of operations (kernels, copies, memsets) the graph holds.
  std::size_t nodes() const {
    if (!graph_) return 0;
    std::size_t n = 0;
    TSGAN_CUDA_CHECK(cudaGraphGetNodes(graph_, nullptr, &n));
    return n;
  }

  // Destroys the recording and gives its memory back to the allocator's shared cache.
  void reset() noexcept {
    if (exec_ || graph_) (void)cudaStreamSynchronize(cuda_context().stream());  // no replay still running
    if (exec_) (void)cudaGraphExecDestroy(exec_);
    if (graph_) (void)cudaGraphDestroy(graph_);
    exec_ = nullptr;
    graph_ = nullptr;
    if (pool_) allocator<cuda>().release_private_pool(pool_);
    pool_ = 0;
  }

 private:
  cudaGraph_t graph_ = nullptr;
  cudaGraphExec_t exec_ = nullptr;
  int pool_ = 0;
};

}  // namespace tsgan
