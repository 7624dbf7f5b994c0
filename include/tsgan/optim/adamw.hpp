// AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization") with PyTorch 1.13's
// conventions: each step first shrinks a parameter by lr·weight_decay, then applies Adam's update
// without any decay in the gradient; weight_decay defaults to 0.01 as in torch.optim.AdamW. State,
// checkpoints, skipped parameters and GPU step counters are Adam's (optim/adam.hpp).
#pragma once

#include "tsgan/optim/adam.hpp"

namespace tsgan::optim {

struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;
};

template <class T, class D = cpu>
class AdamW : public Adam<T, D> {
 public:
  AdamW(std::vector<ParamRef<T, D>> params, AdamWOptions o)
      : Adam<T, D>(std::move(params), AdamOptions{o.lr, o.beta1, o.beta2, o.eps, o.weight_decay}, true) {}
  template <class M>
    requires(!std::is_same_v<std::remove_cvref_t<M>, std::vector<ParamRef<T, D>>>)
  AdamW(M& module, AdamWOptions options) : AdamW(parameters<T, D>(module), options) {}
};

}  // namespace tsgan::optim
