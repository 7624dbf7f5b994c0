// SGD with momentum, dampening, Nesterov and L2 weight decay, as torch.optim.SGD. The momentum
// buffer of a parameter starts as a copy of its first gradient.
#pragma once

#include <vector>

#include "tsgan/core/profile.hpp"
#include "tsgan/kernels/cpu/optim.hpp"
#if defined(__CUDACC__)
#include "tsgan/kernels/cuda/optim.cuh"
#endif
#include "tsgan/optim/parameters.hpp"

namespace tsgan::optim {

struct SgdOptions {
  double lr = 1e-2;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
};

template <class T, class D = cpu>
class Sgd {
 public:
  Sgd(std::vector<ParamRef<T, D>> params, SgdOptions options) : params_(std::move(params)), options_(options) {
    check_parameters(params_, "optim::Sgd");
    for (const auto& p : params_) {
      p.reserve_gradient();  // as Adam does: the first step allocates what every later step does
      states_.push_back(State{Buffer<T, D>(options_.momentum != 0 ? static_cast<std::size_t>(p.size) : 0), false});
    }
  }
  template <class M>
    requires(!std::is_same_v<std::remove_cvref_t<M>, std::vector<ParamRef<T, D>>>)
  Sgd(M& module, SgdOptions options) : Sgd(parameters<T, D>(module), options) {}

  // Clears the parameters' gradients: they accumulate over backward passes until this is called.
  void zero_grad() { optim::zero_grad(params_); }

  void step() {
    const profile::Scope scope(profile::Op::optimizer);
    for (std::size_t i = 0; i < params_.size(); ++i) {
      const T* g = params_[i].gradient();
      if (!g) continue;
      State& s = states_[i];
      const kernels::SgdStep k{options_.lr, options_.momentum, options_.dampening, options_.weight_decay,
                               options_.nesterov, !s.started};
      kernels::OptimKernels<D>::sgd(k, params_[i].size, params_[i].value, g, s.momentum.data());
      s.started = true;
    }
  }

  SgdOptions& options() { return options_; }

  // Calls f(param_name, started, momentum_buffer, size) for each parameter's state.
  template <class F>
  void for_each_state(F&& f) {
    for (std::size_t i = 0; i < params_.size(); ++i)
      f(params_[i].name, states_[i].started, states_[i].momentum.data(), params_[i].size);
  }

 private:
  struct State {
    Buffer<T, D> momentum;
    bool started;
  };
  std::vector<ParamRef<T, D>> params_;
  SgdOptions options_;
  std::vector<State> states_;
};

}  // namespace tsgan::optim
