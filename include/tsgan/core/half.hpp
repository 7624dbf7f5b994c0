// 16-bit floating-point storage types: IEEE binary16 (`half`) and bfloat16 (`bfloat16`). They
// store and convert; arithmetic happens in float. Their bit layout is that of CUDA's __half and
// __nv_bfloat16 and of safetensors' F16 and BF16, so buffers can be copied between them as bytes.
#pragma once

#include <bit>
#include <cstdint>

#include "tsgan/core/config.hpp"

namespace tsgan {

struct half {
  std::uint16_t bits = 0;

  half() = default;
  TSGAN_HD explicit half(float f) : bits(from_float(f)) {}
  TSGAN_HD explicit operator float() const { return to_float(bits); }

  static constexpr half from_bits(std::uint16_t b) {
    half h;
    h.bits = b;
    return h;
  }

  // Round to nearest even, with overflow to infinity and gradual underflow to subnormals.
  TSGAN_HD static std::uint16_t from_float(float f) {
    const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
    const std::uint32_t sign = (x >> 16) & 0x8000u;
    const std::uint32_t abs = x & 0x7fffffffu;
    if (abs >= 0x7f800000u)  // inf or nan (keep a quiet nan)
      return static_cast<std::uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
    if (abs >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // rounds to inf
    if (abs < 0x38800000u) {  // subnormal half (or zero): value = m * 2^-24
      if (abs < 0x33000000u) return static_cast<std::uint16_t>(sign);  // below half the smallest
      const std::uint32_t exp = abs >> 23;
      const std::uint32_t mant = (abs & 0x7fffffu) | 0x800000u;
      const std::uint32_t shift = 126u - exp;  // 113 - exp + 13
      std::uint32_t m = mant >> shift;
      const std::uint32_t rem = mant & ((1u << shift) - 1u);
      const std::uint32_t halfway = 1u << (shift - 1u);
      if (rem > halfway || (rem == halfway && (m & 1u))) ++m;
      return static_cast<std::uint16_t>(sign | m);
    }
    std::uint32_t h = ((abs - 0x38000000u) >> 13);  // rebias exponent 127 -> 15
    const std::uint32_t rem = abs & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;
    return static_cast<std::uint16_t>(sign | h);
  }

  TSGAN_HD static float to_float(std::uint16_t h) {
    const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
    const std::uint32_t exp = (h >> 10) & 0x1fu;
    std::uint32_t mant = h & 0x3ffu;
    std::uint32_t x;
    if (exp == 0) {
      if (mant == 0) {
        x = sign;
      } else {  // subnormal: normalise
        int e = -1;
        do {
          ++e;
          mant <<= 1;
        } while ((mant & 0x400u) == 0);
        x = sign | (static_cast<std::uint32_t>(112 - e) << 23) | ((mant & 0x3ffu) << 13);
      }
    } else if (exp == 31) {
      x = sign | 0x7f800000u | (mant << 13);
    } else {
      x = sign | ((exp + 112u) << 23) | (mant << 13);
    }
    return std::bit_cast<float>(x);
  }
};

struct bfloat16 {
  std::uint16_t bits = 0;

  bfloat16() = default;
  TSGAN_HD explicit bfloat16(float f) : bits(from_float(f)) {}
  TSGAN_HD explicit operator float() const { return to_float(bits); }

  static constexpr bfloat16 from_bits(std::uint16_t b) {
    bfloat16 h;
    h.bits = b;
    return h;
  }

  // Round to nearest even on the upper 16 bits of the float; nan stays nan.
  TSGAN_HD static std::uint16_t from_float(float f) {
    const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((x >> 16) | 0x40u);
    const std::uint32_t rounding = 0x7fffu + ((x >> 16) & 1u);
    return static_cast<std::uint16_t>((x + rounding) >> 16);
  }
  TSGAN_HD static float to_float(std::uint16_t b) {
    return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16);
  }
};

static_assert(sizeof(half) == 2 && sizeof(bfloat16) == 2);

}  // namespace tsgan
