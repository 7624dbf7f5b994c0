// The parameters an optimizer updates, type-erased (every Param has its own shape type) into flat
// views: name, value, size, and the gradient when the last backward pass produced one.
#pragma once

#include <string>
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

  const T* gradient() const { return grad(param); }
  void reserve_gradient() const { reserve(param); }
};

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
                    [](void* q) { static_cast<P*>(q)->grad_slot().reserve(); }});
  });
  return refs;
}

}  // namespace tsgan::optim
