// Counter-based random numbers: Philox4x32-10 (Salmon et al., "Parallel Random Numbers: As Easy
// as 1, 2, 3", SC 2011). Word i of stream `seed` is a pure function of (seed, i), so any thread or
// GPU block computes any element without shared state, and the same seed gives the same weights
// and the same occlusion masks on every device and thread count.
#pragma once

#include <cstdint>
#include <numbers>

#include "tsgan/core/config.hpp"
#include "tsgan/expr/math.hpp"

namespace tsgan::random {

struct Block {
  std::uint32_t v[4];
};
struct Key {
  std::uint32_t v[2];
};

namespace detail {
TSGAN_HD inline void mulhilo(std::uint32_t a, std::uint32_t b, std::uint32_t& hi, std::uint32_t& lo) {
  const std::uint64_t p = static_cast<std::uint64_t>(a) * b;
  hi = static_cast<std::uint32_t>(p >> 32);
  lo = static_cast<std::uint32_t>(p);
}
TSGAN_HD inline Block philox_round(Block c, Key k) {
  std::uint32_t hi0, lo0, hi1, lo1;
  mulhilo(0xD2511F53u, c.v[0], hi0, lo0);
  mulhilo(0xCD9E8D57u, c.v[2], hi1, lo1);
  return Block{{hi1 ^ c.v[1] ^ k.v[0], lo1, hi0 ^ c.v[3] ^ k.v[1], lo0}};
}
}  // namespace detail

// The Philox4x32 bijection with 10 rounds: counter and key in, four random words out.
TSGAN_HD inline Block philox4x32_10(Block counter, Key key) {
  counter = detail::philox_round(counter, key);
  for (int r = 1; r < 10; ++r) {
    key.v[0] += 0x9E3779B9u;
    key.v[1] += 0xBB67AE85u;
    counter = detail::philox_round(counter, key);
  }
  return counter;
}

TSGAN_HD inline Key key_of(std::uint64_t seed) {
  return Key{{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}};
}

// Word `i` of the stream of `seed`: lane i % 4 of the block with counter i / 4.
TSGAN_HD inline std::uint32_t word(std::uint64_t seed, std::uint64_t i) {
  const std::uint64_t c = i >> 2;
  const Block b = philox4x32_10(
      Block{{static_cast<std::uint32_t>(c), static_cast<std::uint32_t>(c >> 32), 0u, 0u}}, key_of(seed));
  return b.v[i & 3u];
}

// Uniform in (0, 1): never 0, so log(u) is finite. float uses 24 random bits, double 53.
template <class T>
TSGAN_HD inline T uniform01(std::uint64_t seed, std::uint64_t i);
template <>
TSGAN_HD inline float uniform01<float>(std::uint64_t seed, std::uint64_t i) {
  return (static_cast<float>(word(seed, i) >> 8) + 0.5f) * 0x1p-24f;
}
template <>
TSGAN_HD inline double uniform01<double>(std::uint64_t seed, std::uint64_t i) {
  const std::uint64_t hi = word(seed, 2 * i) >> 5;      // 27 bits
  const std::uint64_t lo = word(seed, 2 * i + 1) >> 6;  // 26 bits
  return (static_cast<double>((hi << 26) | lo) + 0.5) * 0x1p-53;
}

// Words of the stream one element of each distribution consumes, per element type.
template <class T>
inline constexpr std::uint64_t uniform_words = sizeof(T) / 4;
template <class T>
inline constexpr std::uint64_t normal_words = 2 * uniform_words<T>;

// Element i of a draw that starts at word `offset` of the stream.
template <class T>
TSGAN_HD inline T uniform(std::uint64_t seed, std::uint64_t offset, std::uint64_t i, T lo, T hi) {
  const T u = uniform01<T>(seed, offset / uniform_words<T> + i);
  return lo + (hi - lo) * u;
}

// Box-Muller on two uniforms of its own, so each element is independent of its neighbours.
template <class T>
TSGAN_HD inline T normal(std::uint64_t seed, std::uint64_t offset, std::uint64_t i, T mean, T stddev) {
  const std::uint64_t base = offset / uniform_words<T> + 2 * i;
  const T u1 = uniform01<T>(seed, base);
  const T u2 = uniform01<T>(seed, base + 1);
  const T r = math::sqrt(T(-2) * math::log(u1));
#if defined(__CUDA_ARCH__)
  const T c = ::cos(T(2) * T(std::numbers::pi) * u2);
#else
  const T c = std::cos(T(2) * T(std::numbers::pi) * u2);
#endif
  return mean + stddev * r * c;
}

template <class T>
TSGAN_HD inline T bernoulli(std::uint64_t seed, std::uint64_t offset, std::uint64_t i, T p) {
  return uniform01<T>(seed, offset / uniform_words<T> + i) < p ? T(1) : T(0);
}

// A seed and a position in its stream. Each draw reserves the words it uses and moves the
// position past them (rounded to a whole Philox block), so consecutive draws never overlap and
// saving (seed, offset) is enough to resume a run bit for bit.
class Generator {
 public:
  explicit Generator(std::uint64_t seed = 0, std::uint64_t offset = 0) : seed_(seed), offset_(offset) {}

  std::uint64_t seed() const { return seed_; }
  std::uint64_t offset() const { return offset_; }
  void set_state(std::uint64_t seed, std::uint64_t offset) {
    seed_ = seed;
    offset_ = offset;
  }

  // Reserves `words` words and returns the offset of the first one.
  std::uint64_t reserve(std::uint64_t words) {
    const std::uint64_t start = offset_;
    offset_ += (words + 3) / 4 * 4;
    return start;
  }

  // Scalar draws for host-side decisions (occlusion placement, shuffling).
  template <class T = double>
  T uniform(T lo = T(0), T hi = T(1)) {
    return random::uniform<T>(seed_, reserve(uniform_words<T>), 0, lo, hi);
  }
  // Uniform integer in [lo, hi] (inclusive).
  std::int64_t uniform_int(std::int64_t lo, std::int64_t hi) {
    const double u = uniform<double>();
    const auto span = static_cast<double>(hi - lo + 1);
    const auto k = static_cast<std::int64_t>(u * span);
    return lo + (k > hi - lo ? hi - lo : k);
  }

 private:
  std::uint64_t seed_;
  std::uint64_t offset_;
};

}  // namespace tsgan::random
