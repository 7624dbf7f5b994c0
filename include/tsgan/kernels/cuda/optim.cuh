// Optimizer updates on the GPU: OptimKernels<cuda>, the CPU's arithmetic (kernels/cpu/optim.hpp,
// PyTorch 1.13's single-tensor order of operations) as one elementwise kernel per parameter.
//
// Adam's bias corrections depend on the step count. A CUDA graph replays its kernels with the
// arguments they were captured with, so a count passed by value would freeze at the captured
// step. adam() therefore takes the count from device memory when `device_step` is given: the
// kernel computes the corrections from *device_step + 1 (in double, as the CPU does), and a
// one-thread kernel queued after it advances the count. optim::Adam<T, cuda> keeps one counter per
// parameter and passes it; s.step must then equal the counter's new value (it is only used when
// device_step is null).
#pragma once

#include <cstdint>

#include "tsgan/kernels/cpu/optim.hpp"
#include "tsgan/kernels/cuda/launch.cuh"

namespace tsgan::kernels {

namespace cuda_detail {

template <class T>
struct AdamArgs {
  double lr, beta1, beta2;
  T b1, b2, a1, a2, wd, eps;
  T shrink;  // AdamW's 1 − lr·weight_decay; 1 for Adam
  std::int64_t host_step;
  const std::int64_t* device_step;  // null: use host_step
};

// One block's threads share the bias corrections, computed once per block by thread 0.
template <class T>
__global__ void __launch_bounds__(256) adam_kernel(AdamArgs<T> a, index_t n, T* p, const T* g, T* m, T* v) {
  __shared__ T corrections[2];  // step_size, sqrt(1 − beta2^step)
  if (threadIdx.x == 0) {
    const double step = double(a.device_step ? *a.device_step + 1 : a.host_step);
    corrections[0] = T(a.lr / (1 - ::pow(a.beta1, step)));
    corrections[1] = T(::sqrt(1 - ::pow(a.beta2, step)));
  }
  __syncthreads();
  const T step_size = corrections[0], bc2_sqrt = corrections[1];
  const index_t stride = static_cast<index_t>(gridDim.x) * blockDim.x;
  for (index_t i = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const T param = a.shrink != T(1) ? p[i] * a.shrink : p[i];
    const T grad = a.wd != T(0) ? g[i] + a.wd * param : g[i];
    const T mi = m[i] * a.b1 + a.a1 * grad;
    const T vi = v[i] * a.b2 + a.a2 * grad * grad;
    m[i] = mi;
    v[i] = vi;
    const T denom = ::sqrt(vi) / bc2_sqrt + a.eps;
    p[i] = param - step_size * (mi / denom);
  }
}

template <class Int>
__global__ void advance_step_kernel(Int* step) {
  *step += 1;
}

}  // namespace cuda_detail

template <>
struct OptimKernels<cuda> {
  template <class T>
  static void adam(const AdamStep& s, index_t n, T* p, const T* g, T* m, T* v, std::int64_t* device_step = nullptr) {
    if (n <= 0) return;
    const bool decoupled = s.decoupled && s.weight_decay != 0;
    const cuda_detail::AdamArgs<T> args{s.lr, s.beta1, s.beta2, T(s.beta1), T(s.beta2), T(1 - s.beta1), T(1 - s.beta2),
                                        T(decoupled ? 0 : s.weight_decay), T(s.eps),
                                        T(decoupled ? 1 - s.lr * s.weight_decay : 1), s.step, device_step};
    auto& ctx = cuda_context();
    constexpr int block = cuda_detail::block_size;
    cuda_detail::adam_kernel<T><<<ctx.grid_for(n, block), block, 0, ctx.stream()>>>(args, n, p, g, m, v);
    TSGAN_CUDA_CHECK_LAUNCH("tsgan::kernels::cuda_detail::adam_kernel");
    if (device_step) {
      cuda_detail::advance_step_kernel<<<1, 1, 0, ctx.stream()>>>(device_step);
      TSGAN_CUDA_CHECK_LAUNCH("tsgan::kernels::cuda_detail::advance_step_kernel");
    }
  }

  template <class T>
  static void sgd(const SgdStep& s, index_t n, T* p, const T* g, T* buf) {
    const T lr = T(s.lr), mom = T(s.momentum), damp = T(1 - s.dampening), wd = T(s.weight_decay);
    const bool first = s.first, nesterov = s.nesterov;
    cuda_detail::for_each(n, [=] __device__(index_t i) {
      T d = wd != T(0) ? g[i] + wd * p[i] : g[i];
      if (mom != T(0)) {
        const T b = first ? d : buf[i] * mom + damp * d;
        buf[i] = b;
        d = nesterov ? d + mom * b : b;
      }
      p[i] = p[i] - lr * d;
    }, "tsgan::kernels::OptimKernels<cuda>::sgd");
  }
};

}  // namespace tsgan::kernels
