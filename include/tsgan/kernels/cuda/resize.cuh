// Resizing on the GPU: ResizeKernels<cuda>, the same calls and semantics as ResizeKernels<cpu>
// (kernels/cpu/resize.hpp), with our own kernels (cuDNN has no resize; NPP's differs in its
// coordinate conventions and has no backward).
//
// Nearest: the source index floor(d·in/out) in 64-bit integers on the device, exactly the CPU's.
// The backward pass is a gather: input row i receives output rows [ceil(i·out/in),
// ceil((i + 1)·out/in)), the ones whose floor lands on i.
//
// Bilinear: the taps (source indices and weights along each axis) are the CPU's, computed on the
// host by the same function (so the device's fused multiply-adds cannot move a coordinate) and
// uploaded once per geometry; the backward pass gathers through the inverse tables (for each input
// row and column, the output rows and columns that read it, with their weights, in output order).
// Tables are cached for the life of the process: a CUDA graph captured after a warm-up finds
// them, and a step uploads nothing. Every kernel is one thread per written element, no atomics.
#pragma once

#include <cstring>
#include <map>
#include <mutex>
#include <tuple>
#include <vector>

#include "tsgan/kernels/cpu/resize.hpp"
#include "tsgan/kernels/cuda/launch.cuh"

namespace tsgan::kernels {
namespace cuda_detail {

template <class T>
struct InverseTap {
  index_t out;  // the output row or column that reads this input
  T weight;
};

// The bilinear tables of one geometry, in device memory.
template <class T>
struct BilinearTables {
  const cpu_detail::LinearTap<T>* rows;  // h_out, then the w_out column taps at rows + h_out
  const cpu_detail::LinearTap<T>* cols;
  const index_t* row_start;  // h_in + 1 offsets into row_taps
  const InverseTap<T>* row_taps;
  const index_t* col_start;  // w_in + 1 offsets into col_taps
  const InverseTap<T>* col_taps;
};

// For each input position along an axis, the (output, weight) pairs that read it.
template <class T>
void invert(const cpu_detail::LinearTap<T>* taps, index_t out, index_t in, std::vector<index_t>& start,
            std::vector<InverseTap<T>>& entries) {
  std::vector<std::vector<InverseTap<T>>> lists(static_cast<std::size_t>(in));
  for (index_t d = 0; d < out; ++d) {
    lists[static_cast<std::size_t>(taps[d].i0)].push_back({d, taps[d].l0});
    lists[static_cast<std::size_t>(taps[d].i1)].push_back({d, taps[d].l1});
  }
  start.assign(1, 0);
  for (const auto& l : lists) {
    entries.insert(entries.end(), l.begin(), l.end());
    start.push_back(static_cast<index_t>(entries.size()));
  }
}

template <class T>
const BilinearTables<T>& bilinear_tables(const ResizeGeometry& g) {
  using Key = std::tuple<index_t, index_t, index_t, index_t, double, double, double>;
  struct Entry {
    Buffer<unsigned char, cuda> memory;
    BilinearTables<T> tables;
  };
  static std::mutex mutex;
  static auto* cache = new std::map<Key, Entry>;  // never destroyed, like the context
  const Key key{g.h_in, g.w_in, g.h_out, g.w_out, g.scale_y, g.scale_x, g.offset};
  std::lock_guard lock(mutex);
  if (auto it = cache->find(key); it != cache->end()) return it->second.tables;

  const auto taps = cpu_detail::bilinear_taps<T>(g);
  std::vector<index_t> row_start, col_start;
  std::vector<InverseTap<T>> row_taps, col_taps;
  invert(taps.data(), g.h_out, g.h_in, row_start, row_taps);
  invert(taps.data() + g.h_out, g.w_out, g.w_in, col_start, col_taps);

  // One block: the taps, the two offset arrays, the two inverse tables, each 256-byte aligned.
  auto round = [](std::size_t b) { return (b + 255) / 256 * 256; };
  const std::size_t b_taps = round(sizeof(cpu_detail::LinearTap<T>) * static_cast<std::size_t>(g.h_out + g.w_out));
  const std::size_t b_rs = round(sizeof(index_t) * row_start.size()), b_cs = round(sizeof(index_t) * col_start.size());
  const std::size_t b_rt = round(sizeof(InverseTap<T>) * row_taps.size()), b_ct = round(sizeof(InverseTap<T>) * col_taps.size());
  std::vector<unsigned char> host(b_taps + b_rs + b_cs + b_rt + b_ct);
  std::size_t off = 0;
  auto put = [&](const void* src, std::size_t bytes, std::size_t slot) {
    if (bytes) std::memcpy(host.data() + off, src, bytes);
    const std::size_t at = off;
    off += slot;
    return at;
  };
  const std::size_t o_taps = put(taps.data(), sizeof(cpu_detail::LinearTap<T>) * static_cast<std::size_t>(g.h_out + g.w_out), b_taps);
  const std::size_t o_rs = put(row_start.data(), sizeof(index_t) * row_start.size(), b_rs);
  const std::size_t o_cs = put(col_start.data(), sizeof(index_t) * col_start.size(), b_cs);
  const std::size_t o_rt = put(row_taps.data(), sizeof(InverseTap<T>) * row_taps.size(), b_rt);
  const std::size_t o_ct = put(col_taps.data(), sizeof(InverseTap<T>) * col_taps.size(), b_ct);

  Entry e{Buffer<unsigned char, cuda>(host.size()), {}};
  copy_bytes(cuda{}, e.memory.data(), cpu{}, host.data(), host.size());
  unsigned char* base = e.memory.data();
  e.tables.rows = reinterpret_cast<const cpu_detail::LinearTap<T>*>(base + o_taps);
  e.tables.cols = e.tables.rows + g.h_out;
  e.tables.row_start = reinterpret_cast<const index_t*>(base + o_rs);
  e.tables.col_start = reinterpret_cast<const index_t*>(base + o_cs);
  e.tables.row_taps = reinterpret_cast<const InverseTap<T>*>(base + o_rt);
  e.tables.col_taps = reinterpret_cast<const InverseTap<T>*>(base + o_ct);
  return cache->emplace(key, std::move(e)).first->second.tables;
}

}  // namespace cuda_detail

template <>
struct ResizeKernels<cuda> {
  template <class T>
  static void nearest_forward(const ResizeGeometry& g, const T* x, T* y) {
    const index_t hi = g.h_in, wi = g.w_in, ho = g.h_out, wo = g.w_out;
    cuda_detail::for_each(g.planes * ho * wo, [=] __device__(index_t o) {
      const index_t ox = o % wo, oy = o / wo % ho, plane = o / (wo * ho);
      y[o] = x[(plane * hi + oy * hi / ho) * wi + ox * wi / wo];
    }, "tsgan::kernels::ResizeKernels<cuda>::nearest_forward");
  }

  template <class T>
  static void nearest_backward(const ResizeGeometry& g, const T* dy, T* dx, bool accumulate) {
    const index_t hi = g.h_in, wi = g.w_in, ho = g.h_out, wo = g.w_out;
    cuda_detail::for_each(g.planes * hi * wi, [=] __device__(index_t i) {
      const index_t ix = i % wi, iy = i / wi % hi, plane = i / (wi * hi);
      // Outputs d with floor(d·in/out) == i: d in [ceil(i·out/in), ceil((i + 1)·out/in)).
      const index_t y0 = (iy * ho + hi - 1) / hi, y1 = ((iy + 1) * ho + hi - 1) / hi;
      const index_t x0 = (ix * wo + wi - 1) / wi, x1 = ((ix + 1) * wo + wi - 1) / wi;
      T s = 0;
      for (index_t oy = y0; oy < y1; ++oy)
        for (index_t ox = x0; ox < x1; ++ox) s += dy[(plane * ho + oy) * wo + ox];
      dx[i] = accumulate ? dx[i] + s : s;
    }, "tsgan::kernels::ResizeKernels<cuda>::nearest_backward");
  }

  template <class T>
  static void bilinear_forward(const ResizeGeometry& g, const T* x, T* y) {
    const auto t = cuda_detail::bilinear_tables<T>(g);
    const index_t hi = g.h_in, wi = g.w_in, ho = g.h_out, wo = g.w_out;
    cuda_detail::for_each(g.planes * ho * wo, [=] __device__(index_t o) {
      const index_t ox = o % wo, oy = o / wo % ho, plane = o / (wo * ho);
      const auto ty = t.rows[oy];
      const auto tx = t.cols[ox];
      const T* r0 = x + (plane * hi + ty.i0) * wi;
      const T* r1 = x + (plane * hi + ty.i1) * wi;
      y[o] = ty.l0 * (tx.l0 * r0[tx.i0] + tx.l1 * r0[tx.i1]) + ty.l1 * (tx.l0 * r1[tx.i0] + tx.l1 * r1[tx.i1]);
    }, "tsgan::kernels::ResizeKernels<cuda>::bilinear_forward");
  }

  template <class T>
  static void bilinear_backward(const ResizeGeometry& g, const T* dy, T* dx, bool accumulate) {
    const auto t = cuda_detail::bilinear_tables<T>(g);
    const index_t hi = g.h_in, wi = g.w_in, ho = g.h_out, wo = g.w_out;
    cuda_detail::for_each(g.planes * hi * wi, [=] __device__(index_t i) {
      const index_t ix = i % wi, iy = i / wi % hi, plane = i / (wi * hi);
      T s = 0;
      for (index_t a = t.row_start[iy]; a < t.row_start[iy + 1]; ++a) {
        const auto ry = t.row_taps[a];
        const T* src = dy + (plane * ho + ry.out) * wo;
        for (index_t b = t.col_start[ix]; b < t.col_start[ix + 1]; ++b) {
          const auto rx = t.col_taps[b];
          s += rx.weight * (ry.weight * src[rx.out]);
        }
      }
      dx[i] = accumulate ? dx[i] + s : s;
    }, "tsgan::kernels::ResizeKernels<cuda>::bilinear_backward");
  }
};

}  // namespace tsgan::kernels
