// Printing through fmt: `fmt::print("{}", t)` shows the element type, shape, device and a few
// values, e.g. `Tensor<float, [2, 3], cpu> {0.5, -1.25, 3, 0, 1, 2}`.
#pragma once

#include <fmt/format.h>

#include <string>

#include "tsgan/core/tensor.hpp"

namespace tsgan {

template <class T>
constexpr const char* type_name() {
  if constexpr (std::is_same_v<T, float>) return "float";
  else if constexpr (std::is_same_v<T, double>) return "double";
  else if constexpr (std::is_same_v<T, half>) return "half";
  else if constexpr (std::is_same_v<T, bfloat16>) return "bfloat16";
  else if constexpr (std::is_same_v<T, std::int64_t>) return "int64";
  else if constexpr (std::is_same_v<T, std::int32_t>) return "int32";
  else return "uint8";
}

template <ShapeType S>
std::string shape_string() {
  std::string s = "[";
  for (std::size_t i = 0; i < S::rank; ++i) s += fmt::format("{}{}", i ? ", " : "", S::dims[i]);
  return s + "]";
}

namespace detail {
template <class X>
std::string describe_tensor(const char* kind, const X& x) {
  using T = typename X::value_type;
  using S = typename X::shape;
  using D = typename X::device;
  std::string out = fmt::format("{}<{}, {}, {}>", kind, type_name<T>(), shape_string<S>(), D::name);
  if constexpr (std::is_same_v<D, cpu>) {
    constexpr index_t shown = 6;
    out += " {";
    auto value = [&](index_t i) {
      index_t off = 0, rest = i;
      for (std::size_t j = S::rank; j-- > 0;) {
        off += rest % S::dims[j] * X::strides::values[j];
        rest /= S::dims[j];
      }
      const auto v = x.data()[off];
      if constexpr (std::is_same_v<T, half> || std::is_same_v<T, bfloat16>) return fmt::format("{:g}", static_cast<float>(v));
      else if constexpr (std::is_floating_point_v<T>) return fmt::format("{:g}", v);
      else return fmt::format("{}", static_cast<std::int64_t>(v));
    };
    for (index_t i = 0; i < std::min(S::size, shown); ++i) out += (i ? ", " : "") + value(i);
    if (S::size > shown + 1) out += ", ...";
    if (S::size > shown) out += ", " + value(S::size - 1);
    out += "}";
  }
  return out;
}
}  // namespace detail

}  // namespace tsgan

template <class T, class S, class D>
struct fmt::formatter<tsgan::Tensor<T, S, D>> : fmt::formatter<std::string> {
  auto format(const tsgan::Tensor<T, S, D>& t, format_context& ctx) const {
    return fmt::formatter<std::string>::format(tsgan::detail::describe_tensor("Tensor", t), ctx);
  }
};
template <class T, class S, class D, class St>
struct fmt::formatter<tsgan::TensorView<T, S, D, St>> : fmt::formatter<std::string> {
  auto format(const tsgan::TensorView<T, S, D, St>& v, format_context& ctx) const {
    return fmt::formatter<std::string>::format(tsgan::detail::describe_tensor("TensorView", v), ctx);
  }
};
