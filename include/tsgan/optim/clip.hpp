// Gradient-norm clipping with torch.nn.utils.clip_grad_norm_'s semantics: the total L2 norm of all
// the gradients of a module (as if concatenated), and when it exceeds max_norm every gradient is
// scaled by max_norm / (norm + 1e-6). Returns the norm before clipping. Parameters without a
// gradient are skipped; a NaN or infinite norm scales the gradients by NaN or 0 as PyTorch does
// (error_if_nonfinite = false).
//
// Each parameter's sum of squares is a device reduction (float partials combined in double) read
// back to the host, so on the GPU the call synchronises once per parameter.
#pragma once

#include <cmath>
#include <string>

#include "tsgan/nn/module.hpp"

namespace tsgan::optim {

template <class M>
double clip_grad_norm(M& module, double max_norm) {
  double squares = 0;
  nn::for_each_parameter(module, [&](const std::string&, auto& p) {
    if (!p.has_grad()) return;
    const auto s = sum(square(p.grad())).template to<cpu>();
    squares += double(s[0]);
  });
  const double norm = std::sqrt(squares);
  const double coefficient = max_norm / (norm + 1e-6);
  if (!(coefficient < 1) && !std::isnan(coefficient)) return norm;
  nn::for_each_parameter(module, [&](const std::string&, auto& p) {
    if (!p.has_grad()) return;
    using T = typename std::remove_cvref_t<decltype(p)>::value_type;
    auto& g = p.grad_slot().tensor();
    g = g * T(coefficient);
  });
  return norm;
}

}  // namespace tsgan::optim
