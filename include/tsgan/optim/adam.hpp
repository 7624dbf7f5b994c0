// Adam (Kingma & Ba) with PyTorch's conventions: bias correction, L2 weight decay added to the
// gradient (not decoupled: optim/adamw.hpp is the decoupled form), per-parameter step counts, and
// parameters without a gradient skipped (as PyTorch does for a gradient of None). The state (step,
// exp_avg, exp_avg_sq of each parameter) is exposed by name for checkpoints. The constructor also
// allocates the parameters' gradient buffers, with the state: a step after the first then
// allocates nothing, instead of the second step still finding the caching allocator's free lists
// short by the gradients that the first step took from them mid-way.
//
// On the GPU each parameter's step count also lives in device memory, read and advanced by the
// update kernels (kernels/cuda/optim.cuh), so that a CUDA graph replaying step() keeps counting;
// for_each_state reads it back first.
#pragma once

#include <algorithm>
#include <vector>

#include "tsgan/core/copy.hpp"
#include "tsgan/core/profile.hpp"
#include "tsgan/kernels/cpu/optim.hpp"
#if defined(__CUDACC__)
#include "tsgan/kernels/cuda/optim.cuh"
#endif
#include "tsgan/optim/parameters.hpp"

namespace tsgan::optim {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
};

template <class T, class D = cpu>
class Adam {
 public:
  Adam(std::vector<ParamRef<T, D>> params, AdamOptions options) : Adam(std::move(params), options, false) {}
  template <class M>
    requires(!std::is_same_v<std::remove_cvref_t<M>, std::vector<ParamRef<T, D>>>)
  Adam(M& module, AdamOptions options) : Adam(parameters<T, D>(module), options) {}

  // Clears the parameters' gradients: they accumulate over backward passes until this is called.
  void zero_grad() { optim::zero_grad(params_); }

  // One update of every parameter that has a gradient.
  void step() {
    const profile::Scope scope(profile::Op::optimizer);
    for (std::size_t i = 0; i < params_.size(); ++i) {
      const T* g = params_[i].gradient();
      if (!g) continue;
      State& s = states_[i];
      ++s.step;
      const kernels::AdamStep k{options_.lr, options_.beta1, options_.beta2, options_.eps, options_.weight_decay, s.step,
                                decoupled_};
      if constexpr (on_device)
        kernels::OptimKernels<D>::adam(k, params_[i].size, params_[i].value, g, s.exp_avg.data(), s.exp_avg_sq.data(),
                                       s.device_step.data());
      else
        kernels::OptimKernels<D>::adam(k, params_[i].size, params_[i].value, g, s.exp_avg.data(), s.exp_avg_sq.data());
    }
  }

 protected:
  // AdamW (optim/adamw.hpp) is this optimizer with the weight decay decoupled from the gradient.
  Adam(std::vector<ParamRef<T, D>> params, AdamOptions options, bool decoupled)
      : params_(std::move(params)), options_(options), decoupled_(decoupled) {
    check_parameters(params_, decoupled ? "optim::AdamW" : "optim::Adam");
    for (const auto& p : params_) {
      p.reserve_gradient();
      states_.push_back(State{Buffer<T, D>(static_cast<std::size_t>(p.size)), Buffer<T, D>(static_cast<std::size_t>(p.size)),
                              on_device ? Buffer<std::int64_t, D>(1) : Buffer<std::int64_t, D>()});
    }
    reset_state();
  }

 public:
  void reset_state() {
    for (std::size_t i = 0; i < params_.size(); ++i) {
      states_[i].step = 0;
      if constexpr (on_device) zero_fill<D>(states_[i].device_step.data(), 1);
      zero_fill<D>(states_[i].exp_avg.data(), params_[i].size);
      zero_fill<D>(states_[i].exp_avg_sq.data(), params_[i].size);
    }
  }

  AdamOptions& options() { return options_; }
  const std::vector<ParamRef<T, D>>& params() const { return params_; }

  // Calls f(param_name, step, exp_avg, exp_avg_sq, size) for each parameter's state; the
  // pointers may be written (loading a checkpoint).
  template <class F>
  void for_each_state(F&& f) {
    for (std::size_t i = 0; i < params_.size(); ++i) {
      State& s = states_[i];
      if constexpr (on_device) copy_to_host<D>(&s.step, s.device_step.data(), 1);
      f(params_[i].name, s.step, s.exp_avg.data(), s.exp_avg_sq.data(), params_[i].size);
      if constexpr (on_device) copy_from_host<D>(s.device_step.data(), &s.step, 1);
    }
  }

 private:
  static constexpr bool on_device = !std::is_same_v<D, cpu>;

  struct State {
    Buffer<T, D> exp_avg, exp_avg_sq;
    Buffer<std::int64_t, D> device_step;  // GPU only: the count the update kernels read
    std::int64_t step = 0;
  };

  std::vector<ParamRef<T, D>> params_;
  AdamOptions options_;
  bool decoupled_;
  std::vector<State> states_;
};

}  // namespace tsgan::optim
