// The parameters an optimizer updates, type-erased (every Param has its own shape type) into flat
// views: name, value, size, and the gradient when the last backward pass produced one.
//
// Gradients accumulate: every backward pass adds into each parameter's gradient until it is
// cleared, as in PyTorch. A training step therefore calls optimizer.zero_grad() (or
// nn::zero_grad(module)) before backward(), unless it means to add up several passes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tsgan/nn/module.hpp"

namespace tsgan::optim {

template <class T, class D>
struct ParamRef {
  std::string name;
  T* value;
  index_t size;
  void* param;
  const T* (*grad)(void* param);  // null when the parameter has no gradient
  void (*reserve)(void* param);    // allocates the gradient's buffer (GradSlot::reserve)
  void (*clear)(void* param);      // forgets the gradient (Param::zero_grad)

  const T* gradient() const { return grad(param); }
  void reserve_gradient() const { reserve(param); }
  void zero_grad() const { clear(param); }
};

// An optimizer over no parameter would train nothing without a word: most often a module whose
// members were not found (see nn/module.hpp), or parameters of another element type or device.
template <class T, class D>
void check_parameters(const std::vector<ParamRef<T, D>>& params, std::string_view optimizer) {
  if (params.empty())
    fail("tsgan: {} was given no parameters, so it would train nothing (is the module empty, or are its "
         "layers inside a class that nn::for_each_parameter cannot walk?)",
         optimizer);
}

// Clears every parameter's gradient (the start of a step: gradients accumulate until cleared).
template <class T, class D>
void zero_grad(const std::vector<ParamRef<T, D>>& params) {
  for (const auto& p : params) p.zero_grad();
}

// The parameters of a module (all must share the element type T and the device D).
template <class T, class D = cpu, class M>
std::vector<ParamRef<T, D>> parameters(M& module) {
  std::vector<ParamRef<T, D>> refs;
  nn::for_each_parameter(module, [&](const std::string& name, auto& p) {
    using P = std::remove_cvref_t<decltype(p)>;
    static_assert(std::is_same_v<typename P::value_type, T> && std::is_same_v<typename P::device, D>,
                  "tsgan: an optimizer's parameters must share one element type and one device");
    refs.push_back({name, p.value().data(), P::shape::size, &p, [](void* q) -> const T* {
                      auto* param = static_cast<P*>(q);
                      return param->has_grad() ? param->grad().data() : nullptr;
                    },
                    [](void* q) { static_cast<P*>(q)->grad_slot().reserve(); },
                    [](void* q) { static_cast<P*>(q)->zero_grad(); }});
  });
  return refs;
}

}  // namespace tsgan::optim
