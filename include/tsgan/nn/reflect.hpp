// Aggregate reflection: the number of members of a plain struct and a call on each of them, in
// declaration order, with no registration. Modules use it so that a parameter cannot be forgotten
// (PyTorch's register_parameter pitfall).
//
// How: a struct with N members is brace-initialisable from N values of a type convertible to
// anything, and not from N + 1 (a universal conversion also rules out brace elision into a nested
// struct). The members are then bound with a structured binding of that size. Limits: at most 32
// members, no base classes, no bit-fields.
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

namespace tsgan::nn::reflect {

namespace detail {
struct any_member {
  template <class T>
  operator T() const;  // NOLINT: declared only, used in unevaluated contexts
};
template <std::size_t>
using any_t = any_member;

template <class T, std::size_t... I>
constexpr bool initialisable(std::index_sequence<I...>) {
  return requires { T{any_t<I>{}...}; };
}
template <class T, std::size_t N>
constexpr bool initialisable_with = initialisable<T>(std::make_index_sequence<N>{});

// Largest N in [lo, hi] such that T{N values} compiles (monotone in N), by bisection.
template <class T, std::size_t Lo, std::size_t Hi>
constexpr std::size_t largest_initialiser() {
  if constexpr (Lo == Hi) {
    return Lo;
  } else {
    constexpr std::size_t mid = (Lo + Hi + 1) / 2;
    if constexpr (initialisable_with<T, mid>) return largest_initialiser<T, mid, Hi>();
    else return largest_initialiser<T, Lo, mid - 1>();
  }
}
}  // namespace detail

inline constexpr std::size_t max_members = 32;

template <class T>
inline constexpr std::size_t member_count = detail::largest_initialiser<T, 0, max_members + 1>();

// Calls f(member, index) for each member of the aggregate m, in declaration order.
template <class M, class F>
void for_each_member(M& m, F&& f) {
  constexpr std::size_t N = member_count<std::remove_const_t<M>>;
  static_assert(N <= max_members, "tsgan: a module has more than 32 members; group some into a sub-module");
  if constexpr (N == 0) {
    return;
  } else if constexpr (N == 1) {
    auto& [f0] = m;
    f(f0, 0);
  } else if constexpr (N == 2) {
    auto& [f0, f1] = m;
    f(f0, 0); f(f1, 1);
  } else if constexpr (N == 3) {
    auto& [f0, f1, f2] = m;
    f(f0, 0); f(f1, 1); f(f2, 2);
  } else if constexpr (N == 4) {
    auto& [f0, f1, f2, f3] = m;
    f(f0, 0); f(f1, 1); f(f2, 2); f(f3, 3);
  } else if constexpr (N == 5) {
    auto& [f0, f1, f2, f3, f4] = m;
    f(f0, 0); f(f1, 1); f(f2, 2); f(f3, 3); f(f4, 4);
  } else if constexpr (N == 6) {
    auto& [f0, f1, f2, f3, f4, f5] = m;
    f(f0, 0); f(f1, 1); f(f2, 2); f(f3, 3); f(f4, 4); f(f5, 5);
  } else if constexpr (N == 7) {
    auto& [f0, f1, f2, f3, f4, f5, f6] = m;
    f(f0, 0); f(f1, 1); f(f2, 2); f(f3, 3); f(f4, 4); f(f5, 5); f(f6, 6);
  } else if constexpr (N == 8) {
    auto& [f0, f1, f2, f3, f4, f5, f6, f7] = m;
    f(f0, 0); f(f1, 1); f(f2, 2); f(f3, 3); f(f4, 4); f(f5, 5); f(f6, 6); f(f7, 7);
  } else if constexpr (N == 9) {
    auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8] = m;
    f(f0, 0); f(f1, 1); f(f2, 2); f(f3, 3); f(f4, 4); f(f5, 5); f(f6, 6); f(f7, 7); f(f8, 8);
  } else if constexpr (N == 10) {
    auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9] = m;
    f(f0, 0); f(f1, 1); f(f2, 2); f(f3, 3); f(f4, 4); f(f5, 5); f(f6, 6); f(f7, 7); f(f8, 8); f(f9, 9);
  } else if constexpr (N == 11) {
    auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10] = m;
    f(f0, 0); f(f1, 1); f(f2, 2); f(f3, 3); f(f4, 4); f(f5, 5); f(f6, 6); f(f7, 7); f(f8, 8); f(f9, 9); f(f10, 10);
  } else if constexpr (N == 12) {
    auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11] = m;
    f(f0, 0); f(f1, 1); f(f2, 2); f(f3, 3); f(f4, 4); f(f5, 5); f(f6, 6); f(f7, 7); f(f8, 8); f(f9, 9); f(f10, 10); f(f11, 11);
  } else if constexpr (N == 13) {
    auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12] = m;
    f(f0, 0); f(f1, 1); f(f2, 2); f(f3, 3); f(f4, 4); f(f5, 5); f(f6, 6); f(f7, 7); f(f8, 8); f(f9, 9); f(f10, 10); f(f11, 11); f(f12, 12);
  } else if constexpr (N == 14) {
    auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13] = m;
    f(f0, 0); f(f1, 1); f(f2, 2); f(f3, 3); f(f4, 4); f(f5, 5); f(f6, 6); f(f7, 7); f(f8, 8); f(f9, 9); f(f10, 10); f(f11, 11); f(f12, 12); f(f13, 13);
  } else if constexpr (N == 15) {
    auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14] = m;
    f(f0, 0); f(f1, 1); f(f2, 2); f(f3, 3); f(f4, 4); f(f5, 5); f(f6, 6); f(f7, 7); f(f8, 8); f(f9, 9); f(f10, 10); f(f11, 11); f(f12, 12); f(f13, 13); f(f14, 14);
  } else if constexpr (N == 16) {
    auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15] = m;
    f(f0, 0); f(f1, 1); f(f2, 2); f(f3, 3); f(f4, 4); f(f5, 5); f(f6, 6); f(f7, 7); f(f8, 8); f(f9, 9); f(f10, 10); f(f11, 11); f(f12, 12); f(f13, 13); f(f14, 14); f(f15, 15);
  } else if constexpr (N == 17) {
    auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16] = m;
    f(f0, 0); f(f1, 1); f(f2, 2); f(f3, 3); f(f4, 4); f(f5, 5); f(f6, 6); f(f7, 7); f(f8, 8); f(f9, 9); f(f10, 10); f(f11, 11); f(f12, 12); f(f13, 13); f(f14, 14); f(f15, 15); f(f16, 16);
  } else if constexpr (N == 18) {
    auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16, f17] = m;
    f(f0, 0); f(f1, 1); f(f2, 2); f(f3, 3); f(f4, 4); f(f5, 5); f(f6, 6); f(f7, 7); f(f8, 8); f(f9, 9); f(f10, 10); f(f11, 11); f(f12, 12); f(f13, 13); f(f14, 14); f(f15, 15); f(f16, 16); f(f17, 17);
  } else if constexpr (N == 19) {
    auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16, f17, f18] = m;
    f(f0, 0); f(f1, 1); f(f2, 2); f(f3, 3); f(f4, 4); f(f5, 5); f(f6, 6); f(f7, 7); f(f8, 8); f(f9, 9); f(f10, 10); f(f11, 11); f(f12, 12); f(f13, 13); f(f14, 14); f(f15, 15); f(f16, 16); f(f17, 17); f(f18, 18);
  } else if constexpr (N == 20) {
    auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16, f17, f18, f19] = m;
    f(f0, 0); f(f1, 1); f(f2, 2); f(f3, 3); f(f4, 4); f(f5, 5); f(f6, 6); f(f7, 7); f(f8, 8); f(f9, 9); f(f10, 10); f(f11, 11); f(f12, 12); f(f13, 13); f(f14, 14); f(f15, 15); f(f16, 16); f(f17, 17); f(f18, 18); f(f19, 19);
  } else if constexpr (N == 21) {
    auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16, f17, f18, f19, f20] = m;
    f(f0, 0); f(f1, 1); f(f2, 2); f(f3, 3); f(f4, 4); f(f5, 5); f(f6, 6); f(f7, 7); f(f8, 8); f(f9, 9); f(f10, 10); f(f11, 11); f(f12, 12); f(f13, 13); f(f14, 14); f(f15, 15); f(f16, 16); f(f17, 17); f(f18, 18); f(f19, 19); f(f20, 20);
  } else if constexpr (N == 22) {
    auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16, f17, f18, f19, f20, f21] = m;
    f(f0, 0); f(f1, 1); f(f2, 2); f(f3, 3); f(f4, 4); f(f5, 5); f(f6, 6); f(f7, 7); f(f8, 8); f(f9, 9); f(f10, 10); f(f11, 11); f(f12, 12); f(f13, 13); f(f14, 14); f(f15, 15); f(f16, 16); f(f17, 17); f(f18, 18); f(f19, 19); f(f20, 20); f(f21, 21);
  } else if constexpr (N == 23) {
    auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16, f17, f18, f19, f20, f21, f22] = m;
    f(f0, 0); f(f1, 1); f(f2, 2); f(f3, 3); f(f4, 4); f(f5, 5); f(f6, 6); f(f7, 7); f(f8, 8); f(f9, 9); f(f10, 10); f(f11, 11); f(f12, 12); f(f13, 13); f(f14, 14); f(f15, 15); f(f16, 16); f(f17, 17); f(f18, 18); f(f19, 19); f(f20, 20); f(f21, 21); f(f22, 22);
  } else if constexpr (N == 24) {
    auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16, f17, f18, f19, f20, f21, f22, f23] = m;
    f(f0, 0); f(f1, 1); f(f2, 2); f(f3, 3); f(f4, 4); f(f5, 5); f(f6, 6); f(f7, 7); f(f8, 8); f(f9, 9); f(f10, 10); f(f11, 11); f(f12, 12); f(f13, 13); f(f14, 14); f(f15, 15); f(f16, 16); f(f17, 17); f(f18, 18); f(f19, 19); f(f20, 20); f(f21, 21); f(f22, 22); f(f23, 23);
  } else if constexpr (N == 25) {
    auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16, f17, f18, f19, f20, f21, f22, f23, f24] = m;
    f(f0, 0); f(f1, 1); f(f2, 2); f(f3, 3); f(f4, 4); f(f5, 5); f(f6, 6); f(f7, 7); f(f8, 8); f(f9, 9); f(f10, 10); f(f11, 11); f(f12, 12); f(f13, 13); f(f14, 14); f(f15, 15); f(f16, 16); f(f17, 17); f(f18, 18); f(f19, 19); f(f20, 20); f(f21, 21); f(f22, 22); f(f23, 23); f(f24, 24);
  } else if constexpr (N == 26) {
    auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16, f17, f18, f19, f20, f21, f22, f23, f24, f25] = m;
    f(f0, 0); f(f1, 1); f(f2, 2); f(f3, 3); f(f4, 4); f(f5, 5); f(f6, 6); f(f7, 7); f(f8, 8); f(f9, 9); f(f10, 10); f(f11, 11); f(f12, 12); f(f13, 13); f(f14, 14); f(f15, 15); f(f16, 16); f(f17, 17); f(f18, 18); f(f19, 19); f(f20, 20); f(f21, 21); f(f22, 22); f(f23, 23); f(f24, 24); f(f25, 25);
  } else if constexpr (N == 27) {
    auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16, f17, f18, f19, f20, f21, f22, f23, f24, f25, f26] = m;
    f(f0, 0); f(f1, 1); f(f2, 2); f(f3, 3); f(f4, 4); f(f5, 5); f(f6, 6); f(f7, 7); f(f8, 8); f(f9, 9); f(f10, 10); f(f11, 11); f(f12, 12); f(f13, 13); f(f14, 14); f(f15, 15); f(f16, 16); f(f17, 17); f(f18, 18); f(f19, 19); f(f20, 20); f(f21, 21); f(f22, 22); f(f23, 23); f(f24, 24); f(f25, 25); f(f26, 26);
  } else if constexpr (N == 28) {
    auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16, f17, f18, f19, f20, f21, f22, f23, f24, f25, f26, f27] = m;
    f(f0, 0); f(f1, 1); f(f2, 2); f(f3, 3); f(f4, 4); f(f5, 5); f(f6, 6); f(f7, 7); f(f8, 8); f(f9, 9); f(f10, 10); f(f11, 11); f(f12, 12); f(f13, 13); f(f14, 14); f(f15, 15); f(f16, 16); f(f17, 17); f(f18, 18); f(f19, 19); f(f20, 20); f(f21, 21); f(f22, 22); f(f23, 23); f(f24, 24); f(f25, 25); f(f26, 26); f(f27, 27);
  } else if constexpr (N == 29) {
    auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16, f17, f18, f19, f20, f21, f22, f23, f24, f25, f26, f27, f28] = m;
    f(f0, 0); f(f1, 1); f(f2, 2); f(f3, 3); f(f4, 4); f(f5, 5); f(f6, 6); f(f7, 7); f(f8, 8); f(f9, 9); f(f10, 10); f(f11, 11); f(f12, 12); f(f13, 13); f(f14, 14); f(f15, 15); f(f16, 16); f(f17, 17); f(f18, 18); f(f19, 19); f(f20, 20); f(f21, 21); f(f22, 22); f(f23, 23); f(f24, 24); f(f25, 25); f(f26, 26); f(f27, 27); f(f28, 28);
  } else if constexpr (N == 30) {
    auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16, f17, f18, f19, f20, f21, f22, f23, f24, f25, f26, f27, f28, f29] = m;
    f(f0, 0); f(f1, 1); f(f2, 2); f(f3, 3); f(f4, 4); f(f5, 5); f(f6, 6); f(f7, 7); f(f8, 8); f(f9, 9); f(f10, 10); f(f11, 11); f(f12, 12); f(f13, 13); f(f14, 14); f(f15, 15); f(f16, 16); f(f17, 17); f(f18, 18); f(f19, 19); f(f20, 20); f(f21, 21); f(f22, 22); f(f23, 23); f(f24, 24); f(f25, 25); f(f26, 26); f(f27, 27); f(f28, 28); f(f29, 29);
  } else if constexpr (N == 31) {
    auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16, f17, f18, f19, f20, f21, f22, f23, f24, f25, f26, f27, f28, f29, f30] = m;
    f(f0, 0); f(f1, 1); f(f2, 2); f(f3, 3); f(f4, 4); f(f5, 5); f(f6, 6); f(f7, 7); f(f8, 8); f(f9, 9); f(f10, 10); f(f11, 11); f(f12, 12); f(f13, 13); f(f14, 14); f(f15, 15); f(f16, 16); f(f17, 17); f(f18, 18); f(f19, 19); f(f20, 20); f(f21, 21); f(f22, 22); f(f23, 23); f(f24, 24); f(f25, 25); f(f26, 26); f(f27, 27); f(f28, 28); f(f29, 29); f(f30, 30);
  } else if constexpr (N == 32) {
    auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16, f17, f18, f19, f20, f21, f22, f23, f24, f25, f26, f27, f28, f29, f30, f31] = m;
    f(f0, 0); f(f1, 1); f(f2, 2); f(f3, 3); f(f4, 4); f(f5, 5); f(f6, 6); f(f7, 7); f(f8, 8); f(f9, 9); f(f10, 10); f(f11, 11); f(f12, 12); f(f13, 13); f(f14, 14); f(f15, 15); f(f16, 16); f(f17, 17); f(f18, 18); f(f19, 19); f(f20, 20); f(f21, 21); f(f22, 22); f(f23, 23); f(f24, 24); f(f25, 25); f(f26, 26); f(f27, 27); f(f28, 28); f(f29, 29); f(f30, 30); f(f31, 31);
  }
}

}  // namespace tsgan::nn::reflect
