// GPU evaluation of expressions (included by expr/expr.hpp under nvcc only).
//
// assign(dst, e) for a cuda destination runs the whole expression tree in ONE kernel: a
// grid-stride loop over the output's linear indices; each thread turns its index into a
// multi-index and asks the evaluator tree for that element (ElementPos), exactly as the op structs
// are called on the host, with scalar value types. We launch our own kernel rather than
// thrust::for_each: the launch goes on the context's stream with a grid sized to the device, the
// index arithmetic uses 32-bit integers when the shape allows (a compile-time choice), and the
// translation unit does not pull in Thrust's headers.
//
// Reductions (sum, max, min and what mean and logsumexp build on them) read any cuda expression
// and write a cuda tensor. Two plans, chosen from the shape only, so a given shape always adds
// its elements in the same order (deterministic results, run after run):
//  - many outputs or few elements each: one thread per output, a serial loop;
//  - otherwise each output's elements are cut into chunks of fixed length; one block of 256
//    threads reduces a chunk (per-thread partials, then a fixed tree in shared memory), and a
//    second kernel combines each output's chunk partials in order.
// Float sums accumulate in double, as on the CPU.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "tsgan/core/tensor.hpp"
#include "tsgan/expr/expr.hpp"
#include "tsgan/kernels/cuda/context.cuh"
#include "tsgan/kernels/cuda/error.hpp"

namespace tsgan {
namespace expr::cuda_detail {

// 32-bit index arithmetic when every index of the shape fits (divisions by constants are then
// cheaper), 64-bit otherwise.
template <index_t Size>
using index_type = std::conditional_t<(Size <= std::numeric_limits<std::int32_t>::max()), std::uint32_t, std::uint64_t>;

// Row-major multi-index of linear index i of Shape Out.
template <ShapeType Out, class I>
TSGAN_HD inline void unravel(I i, index_t* idx) {
  constexpr auto dims = Out::dims;  // a local copy: device code may not refer to the static array
  for (std::size_t j = Out::rank; j-- > 0;) {
    idx[j] = static_cast<index_t>(i % static_cast<I>(dims[j]));
    i /= static_cast<I>(dims[j]);
  }
}

template <class T, ShapeType Out, class Ev, class Dst>
__global__ void __launch_bounds__(256) assign_kernel(Ev ev, Dst dst) {
  using I = index_type<Out::size>;
  constexpr std::size_t R = Out::rank;
  const I n = static_cast<I>(Out::size);
  const I step = static_cast<I>(gridDim.x) * blockDim.x;
  for (I i = static_cast<I>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    index_t idx[R + 1];
    unravel<Out>(i, idx);
    const ElementPos<R> pos{static_cast<index_t>(i), idx};
    dst.template store<T>(pos, ev.template eval<T>(pos));
  }
}

// The fused backward pass of an expression (see backward_cpu in eval_cpu.hpp): thread i recomputes
// the trace of output element i from the leaves, takes its adjoint and pushes it through the op
// structs' derivatives into the leaves' gradients. Each element's gradient is written by the one
// thread that owns it: a Var leaf of the output's shape writes element i of its gradient (twice,
// in order, when the Var appears twice), a broadcasting leaf writes element i of its full-size
// temporary. So no atomics, and the same bits on every run.
template <class T, ShapeType Out, class Ev, class Adj>
__global__ void __launch_bounds__(256) backward_kernel(Ev ev, Adj adj) {
  using I = index_type<Out::size>;
  constexpr std::size_t R = Out::rank;
  const I n = static_cast<I>(Out::size);
  const I step = static_cast<I>(gridDim.x) * blockDim.x;
  for (I i = static_cast<I>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    index_t idx[R + 1];
    unravel<Out>(i, idx);
    const ElementPos<R> pos{static_cast<index_t>(i), idx};
    const auto tr = ev.template trace<T>(pos);
    ev.backward(tr, adj.template adjoint<T>(pos, tr.y), pos);
  }
}

}  // namespace expr::cuda_detail

namespace expr {
// The GPU's run_backward (autograd/var.hpp): one kernel over the output shape, then the
// broadcasting leaves fold their temporaries into their gradients (finish(), reductions queued on
// the same stream).
template <class T, ShapeType Out, class Ev, class Adj>
void backward_device(Ev& ev, const Adj& adj) {
  static_assert(std::is_trivially_copyable_v<Ev> && std::is_trivially_copyable_v<Adj>,
                "tsgan: evaluators are kernel arguments");
  auto& ctx = cuda_context();
  constexpr int block = 256;
  cuda_detail::backward_kernel<T, Out><<<ctx.grid_for(Out::size, block), block, 0, ctx.stream()>>>(ev, adj);
  TSGAN_CUDA_CHECK_LAUNCH("tsgan::expr::cuda_detail::backward_kernel");
  ev.finish();
}
}  // namespace expr

// Evaluates `e` into `dst` (a GPU tensor or view) in one kernel, queued on the context's stream.
template <class Dst, Expression E>
  requires std::is_same_v<typename std::remove_cvref_t<Dst>::device, cuda>
void assign(Dst& dst, const E& e) {
  using DstT = std::remove_cvref_t<Dst>;
  using Out = typename DstT::shape;
  using T = typename DstT::value_type;
  static_assert(expr::Computable<T>, "tsgan: expressions compute in float or double");
  static_assert(CheckSameValueType<T, typename std::remove_cvref_t<E>::value_type>::value);
  static_assert(CheckSameDevice<cuda, typename std::remove_cvref_t<E>::device>::value);
  static_assert(expr::CheckAssignable<Out, typename std::remove_cvref_t<E>::shape>::value);

  const auto& node = expr::as_node(e);
  const auto ev = node.template evaluator<Out>();
  const auto out = expr::dest_evaluator(dst);
  static_assert(std::is_trivially_copyable_v<decltype(ev)>, "tsgan: evaluators are kernel arguments");
  auto& ctx = cuda_context();
  constexpr int block = 256;
  expr::cuda_detail::assign_kernel<T, Out><<<ctx.grid_for(Out::size, block), block, 0, ctx.stream()>>>(ev, out);
  TSGAN_CUDA_CHECK_LAUNCH("tsgan::expr::cuda_detail::assign_kernel");
}

namespace reduction {
namespace cuda_detail {

// Reducing In over the axes Ax, seen as a matrix [outputs, count]: output o (row-major over the
// kept axes, the layout of the result) gathers `count` elements (row-major over the reduced axes).
template <ShapeType In, class Ax>
struct DevicePlan {
  using Reduced = ReduceShape<In, Ax, true>;
  static constexpr auto mask = Reduced::mask;
  static constexpr index_t outputs = Reduced::kept::size;
  static constexpr index_t count = In::size / outputs;

  static constexpr int block = 256;
  // One thread per output when there are enough outputs to fill the device, or too few elements
  // per output to share among a block.
  static constexpr bool serial = count <= 32 || (outputs >= 4096 && count <= 4096);
  // Otherwise chunks of about 16 elements per thread, at most 1024 chunks per output.
  static constexpr index_t chunks = std::min<index_t>(1024, (count + 16 * block - 1) / (16 * block));
  static constexpr index_t chunk_length = (count + chunks - 1) / chunks;

  using I = expr::cuda_detail::index_type<In::size>;

  // Multi-index of element r of output o into idx; returns its linear index in In.
  TSGAN_HD static index_t locate(I o, I r, index_t* idx) {
    constexpr auto m = mask;  // local copies: device code may not refer to the static arrays
    constexpr auto dims = In::dims;
    constexpr auto strides = In::strides;
    index_t linear = 0;
    for (std::size_t j = In::rank; j-- > 0;) {
      const I d = static_cast<I>(dims[j]);
      if (m[j]) {
        idx[j] = static_cast<index_t>(r % d);
        r /= d;
      } else {
        idx[j] = static_cast<index_t>(o % d);
        o /= d;
      }
      linear += idx[j] * strides[j];
    }
    return linear;
  }

  template <class T, class Ev>
  TSGAN_HD static T element(const Ev& ev, I o, I r) {
    index_t idx[In::rank + 1];
    const index_t linear = locate(o, r, idx);
    return ev.template eval<T>(expr::ElementPos<In::rank>{linear, idx});
  }
};

template <class R, class T>
using accumulator_t = typename R::template accumulator<T>;

template <class R, class P, class T, class Ev>
__global__ void __launch_bounds__(256) reduce_serial_kernel(Ev ev, T* out) {
  using I = typename P::I;
  using Acc = accumulator_t<R, T>;
  const I step = static_cast<I>(gridDim.x) * blockDim.x;
  for (I o = static_cast<I>(blockIdx.x) * blockDim.x + threadIdx.x; o < static_cast<I>(P::outputs); o += step) {
    Acc acc = R::template identity<Acc>();
    for (I r = 0; r < static_cast<I>(P::count); ++r)
      acc = R::combine(acc, static_cast<Acc>(P::template element<T>(ev, o, r)));
    out[o] = static_cast<T>(acc);
  }
}

// Block b reduces chunk b % chunks of output b / chunks; with one chunk per output it writes the
// result, else its partial.
template <class R, class P, class T, class Ev>
__global__ void __launch_bounds__(256) reduce_chunk_kernel(Ev ev, T* out, accumulator_t<R, T>* partial) {
  using I = typename P::I;
  using Acc = accumulator_t<R, T>;
  __shared__ Acc shared[P::block];
  const I b = blockIdx.x;
  const I o = b / static_cast<I>(P::chunks), c = b % static_cast<I>(P::chunks);
  const I begin = c * static_cast<I>(P::chunk_length);
  const I end = std::min<I>(static_cast<I>(P::count), begin + static_cast<I>(P::chunk_length));
  Acc acc = R::template identity<Acc>();
  for (I r = begin + threadIdx.x; r < end; r += P::block)
    acc = R::combine(acc, static_cast<Acc>(P::template element<T>(ev, o, r)));
  shared[threadIdx.x] = acc;
  __syncthreads();
  for (int s = P::block / 2; s > 0; s >>= 1) {
    if (static_cast<int>(threadIdx.x) < s) shared[threadIdx.x] = R::combine(shared[threadIdx.x], shared[threadIdx.x + s]);
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    if constexpr (P::chunks == 1) out[o] = static_cast<T>(shared[0]);
    else partial[b] = shared[0];
  }
}

template <class R, class P, class T>
__global__ void __launch_bounds__(256) combine_chunks_kernel(const accumulator_t<R, T>* partial, T* out) {
  using Acc = accumulator_t<R, T>;
  const index_t o = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (o >= P::outputs) return;
  Acc acc = R::template identity<Acc>();
  for (index_t c = 0; c < P::chunks; ++c) acc = R::combine(acc, partial[o * P::chunks + c]);
  out[o] = static_cast<T>(acc);
}

}  // namespace cuda_detail

// Reduces the cuda expression node over the axes Ax into dst (GPU memory, laid out as the kept
// shape). Called by reduce() in expr/reduce.hpp, found by argument-dependent lookup.
template <class R, class Ax, class T, class Node>
  requires std::is_same_v<typename Node::device, cuda>
void reduce_device(R, Ax, T* dst, const Node& node) {
  using In = typename Node::shape;
  using P = cuda_detail::DevicePlan<In, Ax>;
  using Acc = cuda_detail::accumulator_t<R, T>;
  const auto ev = node.template evaluator<In>();
  auto& ctx = cuda_context();
  if constexpr (P::serial) {
    cuda_detail::reduce_serial_kernel<R, P, T><<<ctx.grid_for(P::outputs, P::block), P::block, 0, ctx.stream()>>>(ev, dst);
    TSGAN_CUDA_CHECK_LAUNCH("tsgan::reduction::cuda_detail::reduce_serial_kernel");
  } else if constexpr (P::chunks == 1) {
    cuda_detail::reduce_chunk_kernel<R, P, T><<<static_cast<unsigned>(P::outputs), P::block, 0, ctx.stream()>>>(ev, dst, nullptr);
    TSGAN_CUDA_CHECK_LAUNCH("tsgan::reduction::cuda_detail::reduce_chunk_kernel");
  } else {
    Tensor<Acc, Shape<P::outputs * P::chunks>, cuda> partial(uninitialized);
    cuda_detail::reduce_chunk_kernel<R, P, T>
        <<<static_cast<unsigned>(P::outputs * P::chunks), P::block, 0, ctx.stream()>>>(ev, dst, partial.data());
    TSGAN_CUDA_CHECK_LAUNCH("tsgan::reduction::cuda_detail::reduce_chunk_kernel");
    constexpr unsigned blocks = static_cast<unsigned>((P::outputs + P::block - 1) / P::block);
    cuda_detail::combine_chunks_kernel<R, P, T><<<blocks, P::block, 0, ctx.stream()>>>(partial.data(), dst);
    TSGAN_CUDA_CHECK_LAUNCH("tsgan::reduction::cuda_detail::combine_chunks_kernel");
  }
}

}  // namespace reduction
}  // namespace tsgan
