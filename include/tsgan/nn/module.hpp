// Modules: how tsgan finds the parameters, buffers and train/eval flags of a network.
//
// A module is either
//  - a leaf with a `visit(v)` member that names what it owns: `v.param("weight", weight)`,
//    `v.buffer("running_mean", running_mean)`, `v.training(training)`, `v.child("0", layer)`;
//  - or a plain aggregate of sub-modules and parameters, walked member by member (nn/reflect.hpp)
//    with nothing to register. Its members are named by an optional
//    `static constexpr std::array field_names{"encoder", "decoder", ...}`, else by index;
//  - std::array and std::tuple of modules are named by index, like PyTorch's ModuleList.
// Names join with dots, PyTorch-style: `gd.encoder.0.weight`. Train/eval is a run-time flag.
// A visitor may also define enter(module), called on every module before its members.
//
// Any other class type inside a module is a compile error naming it: a struct that gains a
// constructor (even `Net() = default;`) stops being an aggregate, and walking past it would
// silently drop its parameters (an optimizer with nothing to train, an empty checkpoint). Plain
// tensors and std::string are taken as not being state; other types that hold no parameters are
// declared so by specialising nn::not_a_module.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

#include "tsgan/autograd/var.hpp"
#include "tsgan/nn/reflect.hpp"

namespace tsgan::nn {

template <class X>
struct is_param : std::false_type {};
template <class T, class S, class D>
struct is_param<Param<T, S, D>> : std::true_type {};

template <class X>
struct is_std_array : std::false_type {};
template <class X, std::size_t N>
struct is_std_array<std::array<X, N>> : std::true_type {};

template <class X>
struct is_tuple : std::false_type {};
template <class... X>
struct is_tuple<std::tuple<X...>> : std::true_type {};

// Class types a module may hold that carry no parameters or buffers: walked past, never an error.
// Specialise it (`template <> struct tsgan::nn::not_a_module<MyConfig> : std::true_type {};`) for
// a member type of your own.
template <class X>
struct not_a_module : std::false_type {};
template <class T, class S, class D>
struct not_a_module<Tensor<T, S, D>> : std::true_type {};
template <class C, class Traits, class A>
struct not_a_module<std::basic_string<C, Traits, A>> : std::true_type {};

namespace detail {
// Instantiated for a class type that is neither an aggregate nor has visit(): the compiler's
// "in instantiation of" line names the type.
template <class M>
struct module_member_check {
  static_assert(sizeof(M) == 0,
                "tsgan: a class type inside a module is neither an aggregate nor has a visit() member, so its "
                "parameters would be silently skipped. Either make it an aggregate (no constructors, no private "
                "members, no base classes) or give it a member `template <class V> void visit(V& v)` that names "
                "its state (v.param, v.buffer, v.child); a type that holds no parameters can be declared so "
                "by specialising tsgan::nn::not_a_module");
  static constexpr bool ok = true;
};
}  // namespace detail

inline std::string join_name(std::string_view prefix, std::string_view name) {
  if (prefix.empty()) return std::string(name);
  std::string s(prefix);
  s += '.';
  s += name;
  return s;
}

template <class M, class V>
void walk(M& m, const std::string& prefix, V& v);

// What a leaf module's visit() talks to: names are relative, the scope adds the prefix.
template <class V>
struct Scope {
  V& v;
  std::string prefix;
  template <class P>
  void param(std::string_view name, P& p) {
    v.param(join_name(prefix, name), p);
  }
  template <class B>
  void buffer(std::string_view name, B& b) {
    v.buffer(join_name(prefix, name), b);
  }
  void training(bool& flag) { v.training(flag); }
  template <class M>
  void child(std::string_view name, M& m) {
    walk(m, join_name(prefix, name), v);
  }
};

// A visitor that accepts everything: has_visit asks whether m.visit(scope) can be called, which
// needs only visit's declaration. (Taking &M::template visit<Scope<int>> instead makes nvcc 13's
// front end answer false for a visit() whose body would not compile for int, so a module with
// visit() was walked as a plain aggregate there.)
struct AnyVisitor {
  template <class... A>
  void param(A&&...) {}
  template <class... A>
  void buffer(A&&...) {}
  void training(bool&) {}
};

// A leaf module names its own state with a visit() member template.
template <class M>
constexpr bool has_visit() {
  return requires(M& m, Scope<AnyVisitor>& scope) { m.visit(scope); };
}

template <class M, class V>
void walk(M& m, const std::string& prefix, V& v) {
  if constexpr (!is_param<M>::value && requires { v.enter(m); }) v.enter(m);
  if constexpr (is_param<M>::value) {
    v.param(prefix, m);
  } else if constexpr (has_visit<M>()) {
    Scope<V> scope{v, prefix};
    m.visit(scope);
  } else if constexpr (is_std_array<M>::value) {
    for (std::size_t i = 0; i < m.size(); ++i) walk(m[i], join_name(prefix, std::to_string(i)), v);
  } else if constexpr (is_tuple<M>::value) {
    std::size_t i = 0;
    std::apply([&](auto&... part) { (walk(part, join_name(prefix, std::to_string(i++)), v), ...); }, m);
  } else if constexpr (std::is_aggregate_v<M> && std::is_class_v<M>) {
    // The names are made before the lambda: nvcc 13's front end, instantiating this lambda inside
    // a recursive walk, looks M::field_names up in the member's type instead of M's.
    constexpr std::size_t count = reflect::member_count<M>;
    std::array<std::string, count> names;
    for (std::size_t i = 0; i < count; ++i) {
      if constexpr (requires { M::field_names; }) {
        static_assert(M::field_names.size() == count, "tsgan: a module's field_names must name every member, in order");
        names[i] = M::field_names[i];
      } else {
        names[i] = std::to_string(i);
      }
    }
    reflect::for_each_member(m, [&](auto& member, std::size_t i) {
      walk<std::remove_cvref_t<decltype(member)>>(member, join_name(prefix, names[i]), v);
    });
  } else if constexpr (std::is_class_v<M> && !not_a_module<M>::value) {
    static_assert(detail::module_member_check<M>::ok);
  }
  // Anything else (numbers, flags, plain tensors) is not part of the module's state.
}

// ---- visitors -----------------------------------------------------------------------------------
namespace detail {
template <class F>
struct ParamVisitor {
  F f;
  template <class P>
  void param(const std::string& name, P& p) { f(name, p); }
  template <class B>
  void buffer(const std::string&, B&) {}
  void training(bool&) {}
};
template <class F>
struct BufferVisitor {
  F f;
  template <class P>
  void param(const std::string&, P&) {}
  template <class B>
  void buffer(const std::string& name, B& b) { f(name, b); }
  void training(bool&) {}
};
struct TrainingVisitor {
  bool on;
  template <class P>
  void param(const std::string&, P&) {}
  template <class B>
  void buffer(const std::string&, B&) {}
  void training(bool& flag) { flag = on; }
};
template <class F>
struct ModuleVisitor {
  F f;
  template <class M>
  void enter(M& m) {
    f(m);
  }
  template <class P>
  void param(const std::string&, P&) {}
  template <class B>
  void buffer(const std::string&, B&) {}
  void training(bool&) {}
};
}  // namespace detail

// Calls f(module) for m and every module inside it (and for plain members such as numbers, which
// f can ignore with `if constexpr`).
template <class M, class F>
void for_each_module(M& m, F&& f) {
  detail::ModuleVisitor<F&> v{f};
  walk(m, "", v);
}

// Calls f(name, param) for every parameter of m, in a fixed order.
template <class M, class F>
void for_each_parameter(M& m, F&& f, const std::string& prefix = "") {
  detail::ParamVisitor<F&> v{f};
  walk(m, prefix, v);
}

// Calls f(name, tensor) for every buffer of m (running statistics and the like).
template <class M, class F>
void for_each_buffer(M& m, F&& f, const std::string& prefix = "") {
  detail::BufferVisitor<F&> v{f};
  walk(m, prefix, v);
}

// Gives every parameter its full name (used in error messages and checkpoints).
template <class M>
void name_parameters(M& m, const std::string& prefix = "") {
  for_each_parameter(m, [](const std::string& name, auto& p) { p.set_name(name); }, prefix);
}

// Batch norm uses batch statistics in training mode and running statistics in eval mode.
template <class M>
void train(M& m, bool on = true) {
  detail::TrainingVisitor v{on};
  walk(m, "", v);
}
template <class M>
void eval(M& m) {
  train(m, false);
}

// Frozen parameters take no gradient (an identity network used inside a loss, a discriminator
// during the generator's step); gradients still flow through them to earlier layers.
template <class M>
void freeze(M& m, bool frozen = true) {
  for_each_parameter(m, [&](const std::string&, auto& p) { p.set_requires_grad(!frozen); });
}
template <class M>
void unfreeze(M& m) {
  freeze(m, false);
}

template <class M>
void zero_grad(M& m) {
  for_each_parameter(m, [](const std::string&, auto& p) { p.zero_grad(); });
}

template <class M>
index_t parameter_count(M& m) {
  index_t n = 0;
  for_each_parameter(m, [&](const std::string&, auto& p) { n += std::remove_cvref_t<decltype(p)>::shape::size; });
  return n;
}

}  // namespace tsgan::nn
