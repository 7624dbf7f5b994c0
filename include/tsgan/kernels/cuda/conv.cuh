// Convolutions on the GPU: ConvKernels<cuda>, the same calls and semantics as ConvKernels<cpu>
// (kernels/cpu/conv.hpp), on cuDNN.
//
// API: cuDNN's convolution API (cudnnConvolutionForward, cudnnConvolutionBackwardData,
// cudnnConvolutionBackwardFilter, with cudnnGetConvolution*Algorithm_v7 to choose the algorithm).
// cuDNN 9 marks it deprecated in favour of the graph API but still ships and supports it in every
// 9.x release; it is what PyTorch's non-benchmark path has long called. We chose it over the graph
// API because the graph API needs either the cudnn_frontend C++ library (not on the GPU machine
// this is checked on, and another dependency) or several hundred lines of backend descriptors,
// engine heuristics and execution plans per direction, written and first run blind (no GPU where
// this was written); the legacy calls are a few lines each, fully checked by TSGAN_CUDA_CHECK. All
// cuDNN use is in this file, so moving to the graph API when the legacy API goes away is local.
//
// Per geometry, element type and setting (TF32, determinism) a plan is made once and cached: the
// descriptors and, for each direction, the algorithm and its workspace size. The algorithm is the
// first of cuDNN's heuristic ranking (no trial runs: choosing never executes or synchronises, so
// it is safe anywhere, and a CUDA graph capture after a warm-up finds every plan made) that
//  - reports success for this geometry,
//  - needs at most 1 GiB of workspace,
//  - is deterministic while set_deterministic(true) (the default: backward-data and
//    backward-filter algorithm 0 add with atomics and are skipped; should a geometry have no
//    deterministic algorithm, the first other one runs and a warning says so once),
//  - computes in FP32 (CUDNN_FMA_MATH) for float unless set_tf32(true) allows TF32 tensor cores,
//  - and, unless TF32 is allowed, is not an FFT or Winograd algorithm: those transform the data
//    and their rounding error scales with the whole tensor (about 1e-5 relative in FP32), so
//    FP32 and FP64 convolutions stay within rounding of a direct sum, as on the CPU.
// The workspace is the context's (CudaContext::workspace), shared by every call on the stream.
//
// Padding. cuDNN pads symmetrically: pad_top rows above and as many below as the output size
// needs, computed as 1 + (in + 2·pad − dilation·(k − 1) − 1) / stride. TensorFlow's 'same' padding
// puts the odd row at the bottom (pad_top + 1 below), and a transposed convolution whose
// output_padding reaches the stride asks for fewer rows; in those cases the formula gives another
// output size. Then the input is copied once into a zero-padded temporary of exactly
// (out − 1)·stride + dilation·(k − 1) + 1 rows and columns, and cuDNN runs without padding on it;
// the data gradient is computed into such a temporary and its interior added to dx.
//
// Bias: added by our own kernel; its gradient is a deterministic per-channel sum (launch.cuh)
// rather than cudnnConvolutionBackwardBias, whose summation order is not documented.
#pragma once

#include <cudnn.h>

#include <cstdio>
#include <map>
#include <mutex>
#include <tuple>
#include <type_traits>

#include "tsgan/core/settings.hpp"
#include "tsgan/kernels/cpu/conv.hpp"
#include "tsgan/kernels/cuda/launch.cuh"

namespace tsgan::kernels {
namespace cuda_detail {

template <class T>
inline constexpr cudnnDataType_t cudnn_type = std::is_same_v<T, float> ? CUDNN_DATA_FLOAT : CUDNN_DATA_DOUBLE;

inline constexpr std::size_t conv_workspace_limit = std::size_t{1} << 30;

// cuDNN's output size along one axis for symmetric padding `pad`.
inline index_t cudnn_out_size(index_t in, index_t k, index_t stride, index_t pad, index_t dilation) {
  return 1 + (in + 2 * pad - dilation * (k - 1) - 1) / stride;
}

// One direction's choice: the algorithm, the math type it runs with and its workspace.
template <class Algo>
struct ConvChoice {
  Algo algo{};
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
  std::size_t workspace = 0;
};

struct ConvPlan {
  bool padded = false;  // the input is padded explicitly into [n, c_in, hp, wp] (see the top)
  index_t hp = 0, wp = 0;
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  ConvChoice<cudnnConvolutionFwdAlgo_t> fwd;
  ConvChoice<cudnnConvolutionBwdDataAlgo_t> bwd_data;
  ConvChoice<cudnnConvolutionBwdFilterAlgo_t> bwd_filter;
};

// FFT and Winograd algorithms transform the data and round differently: their error grows with
// the magnitude of the whole tensor rather than of each sum, up to about 1e-5 relative in FP32.
// They are used only where TF32 is allowed (whose error is larger anyway).
inline bool transforms(cudnnConvolutionFwdAlgo_t a) {
  return a == CUDNN_CONVOLUTION_FWD_ALGO_FFT || a == CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING ||
         a == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD || a == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED;
}
inline bool transforms(cudnnConvolutionBwdDataAlgo_t a) {
  return a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT || a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING ||
         a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD || a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED;
}
inline bool transforms(cudnnConvolutionBwdFilterAlgo_t a) {
  return a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT || a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING ||
         a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED;
}

// The first acceptable entry of a heuristic ranking (see the top); throws when none is.
template <class Perf, class Algo = decltype(Perf::algo)>
ConvChoice<Algo> choose(const Perf* perf, int count, bool fp32, const char* direction, const ConvGeometry& g) {
  const bool tf32 = tf32_enabled(), deterministic = deterministic_enabled();
  auto acceptable = [&](const Perf& p, bool need_deterministic) {
    if (p.status != CUDNN_STATUS_SUCCESS || p.memory > conv_workspace_limit) return false;
    if (need_deterministic && p.determinism != CUDNN_DETERMINISTIC) return false;
    if (fp32 && !tf32 && p.mathType != CUDNN_FMA_MATH) return false;
    if (!(fp32 && tf32) && transforms(p.algo)) return false;
    return true;
  };
  auto describe = [&] {
    return fmt::format("{} convolution {} for input [{}, {}, {}, {}], weight [{}, {}, {}, {}], stride ({}, {}), padding "
                       "({}, {}), dilation ({}, {}), groups {}",
                       fp32 ? (tf32 ? "TF32" : "FP32") : "FP64", direction, g.n, g.c_in, g.h_in, g.w_in, g.c_out,
                       g.cin_g(), g.kh, g.kw, g.stride_y, g.stride_x, g.pad_top, g.pad_left, g.dilation_y,
                       g.dilation_x, g.groups);
  };
  for (int i = 0; i < count; ++i)
    if (acceptable(perf[i], deterministic)) return {perf[i].algo, perf[i].mathType, perf[i].memory};
  if (deterministic) {
    // No deterministic algorithm for this geometry: run a non-deterministic one rather than fail,
    // and say so once per geometry (plans are cached).
    for (int i = 0; i < count; ++i)
      if (acceptable(perf[i], false)) {
        std::fprintf(stderr, "tsgan: warning: cuDNN has no deterministic algorithm for the %s; using algorithm %d, "
                             "whose results may differ in the last bits from run to run\n",
                     describe().c_str(), static_cast<int>(perf[i].algo));
        return {perf[i].algo, perf[i].mathType, perf[i].memory};
      }
  }
  fail<CudaError>("tsgan: cuDNN offers no algorithm with at most {} bytes of workspace for the {}", conv_workspace_limit,
                  describe());
}

template <class T>
ConvPlan make_conv_plan(const ConvGeometry& g) {
  auto& ctx = cuda_context();
  cudnnHandle_t h = ctx.cudnn();
  constexpr cudnnDataType_t type = cudnn_type<T>;
  constexpr bool fp32 = std::is_same_v<T, float>;
  ConvPlan p;
  const bool direct = cudnn_out_size(g.h_in, g.kh, g.stride_y, g.pad_top, g.dilation_y) == g.h_out &&
                      cudnn_out_size(g.w_in, g.kw, g.stride_x, g.pad_left, g.dilation_x) == g.w_out;
  p.padded = !direct;
  p.hp = direct ? g.h_in : (g.h_out - 1) * g.stride_y + g.dilation_y * (g.kh - 1) + 1;
  p.wp = direct ? g.w_in : (g.w_out - 1) * g.stride_x + g.dilation_x * (g.kw - 1) + 1;
  const index_t pad_h = direct ? g.pad_top : 0, pad_w = direct ? g.pad_left : 0;
  auto i = [](index_t v) { return static_cast<int>(v); };

  TSGAN_CUDA_CHECK(cudnnCreateTensorDescriptor(&p.x));
  TSGAN_CUDA_CHECK(cudnnCreateTensorDescriptor(&p.y));
  TSGAN_CUDA_CHECK(cudnnCreateFilterDescriptor(&p.w));
  TSGAN_CUDA_CHECK(cudnnCreateConvolutionDescriptor(&p.conv));
  TSGAN_CUDA_CHECK(cudnnSetTensor4dDescriptor(p.x, CUDNN_TENSOR_NCHW, type, i(g.n), i(g.c_in), i(p.hp), i(p.wp)));
  TSGAN_CUDA_CHECK(cudnnSetTensor4dDescriptor(p.y, CUDNN_TENSOR_NCHW, type, i(g.n), i(g.c_out), i(g.h_out), i(g.w_out)));
  TSGAN_CUDA_CHECK(cudnnSetFilter4dDescriptor(p.w, type, CUDNN_TENSOR_NCHW, i(g.c_out), i(g.cin_g()), i(g.kh), i(g.kw)));
  TSGAN_CUDA_CHECK(cudnnSetConvolution2dDescriptor(p.conv, i(pad_h), i(pad_w), i(g.stride_y), i(g.stride_x),
                                                   i(g.dilation_y), i(g.dilation_x), CUDNN_CROSS_CORRELATION, type));
  TSGAN_CUDA_CHECK(cudnnSetConvolutionGroupCount(p.conv, i(g.groups)));
  // The math type the heuristics rank for: FP32 only, or tensor cores allowed.
  const cudnnMathType_t math = fp32 && !tf32_enabled() ? CUDNN_FMA_MATH : CUDNN_DEFAULT_MATH;
  TSGAN_CUDA_CHECK(cudnnSetConvolutionMathType(p.conv, math));

  {
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int n = 0;
    TSGAN_CUDA_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, p.x, p.w, p.conv, p.y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, perf));
    p.fwd = choose(perf, n, fp32, "forward", g);
    TSGAN_CUDA_CHECK(cudnnSetConvolutionMathType(p.conv, p.fwd.math));
    TSGAN_CUDA_CHECK(cudnnGetConvolutionForwardWorkspaceSize(h, p.x, p.w, p.conv, p.y, p.fwd.algo, &p.fwd.workspace));
  }
  TSGAN_CUDA_CHECK(cudnnSetConvolutionMathType(p.conv, math));
  {
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    int n = 0;
    TSGAN_CUDA_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, p.w, p.y, p.conv, p.x, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT,
                                                                 &n, perf));
    p.bwd_data = choose(perf, n, fp32, "backward-data", g);
    TSGAN_CUDA_CHECK(cudnnSetConvolutionMathType(p.conv, p.bwd_data.math));
    TSGAN_CUDA_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(h, p.w, p.y, p.conv, p.x, p.bwd_data.algo,
                                                                  &p.bwd_data.workspace));
  }
  TSGAN_CUDA_CHECK(cudnnSetConvolutionMathType(p.conv, math));
  {
    cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    int n = 0;
    TSGAN_CUDA_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, p.x, p.y, p.conv, p.w,
                                                                   CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n, perf));
    p.bwd_filter = choose(perf, n, fp32, "backward-filter", g);
    TSGAN_CUDA_CHECK(cudnnSetConvolutionMathType(p.conv, p.bwd_filter.math));
    TSGAN_CUDA_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(h, p.x, p.y, p.conv, p.w, p.bwd_filter.algo,
                                                                    &p.bwd_filter.workspace));
  }
  return p;
}

// The cached plan of a geometry for element type T under the current settings.
template <class T>
const ConvPlan& conv_plan(const ConvGeometry& g) {
  using Key = std::tuple<index_t, index_t, index_t, index_t, index_t, index_t, index_t, index_t, index_t, index_t,
                         index_t, index_t, index_t, index_t, index_t, index_t, bool, bool>;
  static std::mutex mutex;
  static auto* plans = new std::map<Key, ConvPlan>;  // never destroyed, like the context
  const Key key{g.n, g.c_in, g.h_in, g.w_in, g.c_out, g.h_out, g.w_out, g.kh, g.kw, g.stride_y, g.stride_x, g.pad_top,
                g.pad_left, g.dilation_y, g.dilation_x, g.groups, tf32_enabled(), deterministic_enabled()};
  std::lock_guard lock(mutex);
  auto it = plans->find(key);
  if (it == plans->end()) it = plans->emplace(key, make_conv_plan<T>(g)).first;
  return it->second;
}

// The input copied into the zero-padded layout of a padded plan.
template <class T>
void pad_input(const ConvGeometry& g, const ConvPlan& p, const T* x, T* xp) {
  const index_t hp = p.hp, wp = p.wp, h = g.h_in, w = g.w_in, top = g.pad_top, left = g.pad_left;
  for_each(g.n * g.c_in * hp * wp, [=] __device__(index_t i) {
    const index_t q = i % wp, r = i / wp % hp, plane = i / (wp * hp);
    const index_t iy = r - top, ix = q - left;
    xp[i] = (iy >= 0 && iy < h && ix >= 0 && ix < w) ? x[(plane * h + iy) * w + ix] : T(0);
  }, "tsgan::kernels::cuda_detail::pad_input");
}

// dx (+)= the part of the padded gradient dxp that lies on the input (the adjoint of pad_input).
template <class T>
void unpad_gradient(const ConvGeometry& g, const ConvPlan& p, const T* dxp, T* dx, bool accumulate) {
  const index_t hp = p.hp, wp = p.wp, h = g.h_in, w = g.w_in, top = g.pad_top, left = g.pad_left;
  for_each(g.n * g.c_in * h * w, [=] __device__(index_t i) {
    const index_t ix = i % w, iy = i / w % h, plane = i / (w * h);
    const index_t r = iy + top, q = ix + left;
    const T v = (r < hp && q < wp) ? dxp[(plane * hp + r) * wp + q] : T(0);
    dx[i] = accumulate ? dx[i] + v : v;
  }, "tsgan::kernels::cuda_detail::unpad_gradient");
}

}  // namespace cuda_detail

template <>
struct ConvKernels<cuda> {
  // y (+)= conv(x, w) + bias (bias may be null).
  template <class T>
  static void forward(const ConvGeometry& g, const T* x, const T* w, const T* bias, T* y, bool accumulate = false) {
    using namespace cuda_detail;
    auto& ctx = cuda_context();
    const ConvPlan& p = conv_plan<T>(g);
    Buffer<T, cuda> padded(p.padded ? static_cast<std::size_t>(g.n * g.c_in * p.hp * p.wp) : 0);
    if (p.padded) {
      pad_input(g, p, x, padded.data());
      x = padded.data();
    }
    const T one = 1, beta = accumulate ? 1 : 0;
    void* ws = ctx.workspace(p.fwd.workspace);
    TSGAN_CUDA_CHECK(cudnnSetConvolutionMathType(p.conv, p.fwd.math));
    TSGAN_CUDA_CHECK(cudnnConvolutionForward(ctx.cudnn(), &one, p.x, x, p.w, w, p.conv, p.fwd.algo, ws, p.fwd.workspace,
                                             &beta, p.y, y));
    if (bias) add_bias(g, y, bias);
  }

  // dx (+)= conv's input gradient for output gradient dy, plus bias[c] on channel c of dx when
  // bias is not null (a transposed convolution's bias; the CPU kernel adds it in the same pass).
  template <class T>
  static void backward_data(const ConvGeometry& g, const T* dy, const T* w, T* dx, bool accumulate,
                            const T* bias = nullptr) {
    using namespace cuda_detail;
    auto& ctx = cuda_context();
    const ConvPlan& p = conv_plan<T>(g);
    Buffer<T, cuda> padded(p.padded ? static_cast<std::size_t>(g.n * g.c_in * p.hp * p.wp) : 0);
    const T one = 1, beta = accumulate && !p.padded ? 1 : 0;
    void* ws = ctx.workspace(p.bwd_data.workspace);
    TSGAN_CUDA_CHECK(cudnnSetConvolutionMathType(p.conv, p.bwd_data.math));
    TSGAN_CUDA_CHECK(cudnnConvolutionBackwardData(ctx.cudnn(), &one, p.w, w, p.y, dy, p.conv, p.bwd_data.algo, ws,
                                                  p.bwd_data.workspace, &beta, p.x, p.padded ? padded.data() : dx));
    if (p.padded) unpad_gradient(g, p, padded.data(), dx, accumulate);
    if (bias) add_channel_bias(dx, bias, g.n, g.c_in, g.in_plane());
  }

  // dw (+)= Σ_n dy_n · col(x_n)ᵀ.
  template <class T>
  static void backward_weight(const ConvGeometry& g, const T* x, const T* dy, T* dw, bool accumulate) {
    using namespace cuda_detail;
    auto& ctx = cuda_context();
    const ConvPlan& p = conv_plan<T>(g);
    Buffer<T, cuda> padded(p.padded ? static_cast<std::size_t>(g.n * g.c_in * p.hp * p.wp) : 0);
    if (p.padded) {
      pad_input(g, p, x, padded.data());
      x = padded.data();
    }
    const T one = 1, beta = accumulate ? 1 : 0;
    void* ws = ctx.workspace(p.bwd_filter.workspace);
    TSGAN_CUDA_CHECK(cudnnSetConvolutionMathType(p.conv, p.bwd_filter.math));
    TSGAN_CUDA_CHECK(cudnnConvolutionBackwardFilter(ctx.cudnn(), &one, p.x, x, p.y, dy, p.conv, p.bwd_filter.algo, ws,
                                                    p.bwd_filter.workspace, &beta, p.w, dw));
  }

  // y[n, c, p] += bias[c].
  template <class T>
  static void add_bias(const ConvGeometry& g, T* y, const T* bias) {
    add_channel_bias(y, bias, g.n, g.c_out, g.out_plane());
  }

  // t[n, c, p] += bias[c] for t of shape [n, c, plane].
  template <class T>
  static void add_channel_bias(T* t, const T* bias, index_t n, index_t c, index_t plane) {
    cuda_detail::for_each(n * c * plane, [=] __device__(index_t i) { t[i] += bias[i / plane % c]; },
                          "tsgan::kernels::ConvKernels<cuda>::add_channel_bias");
  }

  // db[c] (+)= Σ_{n, p} dy[n, c, p], in double, in a fixed order.
  template <class T>
  static void backward_bias(const ConvGeometry& g, const T* dy, T* db, bool accumulate) {
    bias_grad(dy, g.n, g.c_out, g.out_plane(), db, accumulate);
  }

  // The per-channel sum behind backward_bias (and the linear layer's bias gradient).
  template <class T>
  static void bias_grad(const T* dy, index_t n, index_t c, index_t plane, T* db, bool accumulate) {
    Buffer<double, cuda> sums(static_cast<std::size_t>(c));
    double* s = sums.data();
    cuda_detail::channel_sums<1>(n, c, plane, [=] __device__(index_t img, index_t ch, index_t p) {
      return cuda_detail::Sums<1>{{double(dy[(img * c + ch) * plane + p])}};
    }, s);
    cuda_detail::for_each(c, [=] __device__(index_t ch) { db[ch] = accumulate ? db[ch] + T(s[ch]) : T(s[ch]); },
                          "tsgan::kernels::ConvKernels<cuda>::bias_grad");
  }
};

}  // namespace tsgan::kernels
