// Counter-based random numbers: Philox4x32-10 (Salmon et al., "Parallel Random Numbers: As Easy
// as 1, 2, 3", SC 2011). Word i of stream `seed` is a pure function of (seed, i), so any thread or
// GPU block computes any element without shared state, and the same seed gives the same weights
// and the same occlusion masks on every device and thread count.
#pragma once

#include <bit>
#include <cstdint>
#include <type_traits>

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

// Block `c` of the stream of `seed`: its words 4c to 4c + 3.
TSGAN_HD inline Block block(std::uint64_t seed, std::uint64_t c) {
  return philox4x32_10(Block{{static_cast<std::uint32_t>(c), static_cast<std::uint32_t>(c >> 32), 0u, 0u}},
                       key_of(seed));
}

// Word `i` of the stream of `seed`: lane i % 4 of the block with counter i / 4.
TSGAN_HD inline std::uint32_t word(std::uint64_t seed, std::uint64_t i) { return block(seed, i >> 2).v[i & 3u]; }

// Words first to first + N - 1 (N <= 4), computing each block they touch once: a normal's words
// lie in one block (two when a draw starts off a block boundary), not one block per word.
template <int N>
struct Words {
  std::uint32_t v[N];
};
template <int N>
TSGAN_HD inline Words<N> words(std::uint64_t seed, std::uint64_t first) {
  static_assert(N >= 1 && N <= 4, "tsgan: at most one block's worth of words");
  Words<N> w;
  Block b = block(seed, first >> 2);
  for (int k = 0; k < N; ++k) {
    const std::uint64_t i = first + static_cast<std::uint64_t>(k);
    if (k > 0 && (i & 3u) == 0) b = block(seed, i >> 2);
    w.v[k] = b.v[i & 3u];
  }
  return w;
}

// Words of the stream one element of each distribution consumes, per element type.
template <class T>
inline constexpr std::uint64_t uniform_words = sizeof(T) / 4;
template <class T>
inline constexpr std::uint64_t normal_words = 2 * uniform_words<T>;

// Uniform in (0, 1): never 0, so log(u) is finite. float uses 24 random bits of one word, double 53
// of two.
TSGAN_HD inline float uniform01_of(std::uint32_t w) { return (static_cast<float>(w >> 8) + 0.5f) * 0x1p-24f; }
TSGAN_HD inline double uniform01_of(std::uint32_t w_hi, std::uint32_t w_lo) {
  const std::uint64_t hi = w_hi >> 5;  // 27 bits
  const std::uint64_t lo = w_lo >> 6;  // 26 bits
  return (static_cast<double>((hi << 26) | lo) + 0.5) * 0x1p-53;
}
// Uniform i of the stream: words i (float) or 2i and 2i + 1 (double).
template <class T>
TSGAN_HD inline T uniform01(std::uint64_t seed, std::uint64_t i) {
  if constexpr (std::is_same_v<T, float>) {
    return uniform01_of(word(seed, i));
  } else {
    const Words<2> w = words<2>(seed, 2 * i);
    return uniform01_of(w.v[0], w.v[1]);
  }
}

namespace detail {
// Natural logarithm of x in (0, 1], x normal, from IEEE operations and explicit fma only: no library
// call and nothing a compiler could contract differently, so the host and the GPU round every step
// the same way. x = m 2^e with m in [sqrt(1/2), sqrt(2)); log m = 2 atanh(s), s = (m - 1) / (m + 1),
// |s| < 0.172, whose series up to s^21 is below half an ulp.
TSGAN_HD inline double det_log(double x) {
  const std::uint64_t bits = std::bit_cast<std::uint64_t>(x);
  int e = static_cast<int>((bits >> 52) & 0x7ffu) - 1023;
  double m = std::bit_cast<double>((bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull);
  // A select, not a branch: m is above or below √2 at random (a branch: 40 ns a normal, not 35).
  const bool high = m > 0x1.6a09e667f3bcdp+0;
  m = high ? m * 0.5 : m;
  e += high ? 1 : 0;
  const double f = m - 1.0;  // exact
  const double s = f / (2.0 + f);
  const double s2 = s * s;
  double p = math::fma(s2, 1.0 / 21, 1.0 / 19);
  p = math::fma(p, s2, 1.0 / 17);
  p = math::fma(p, s2, 1.0 / 15);
  p = math::fma(p, s2, 1.0 / 13);
  p = math::fma(p, s2, 1.0 / 11);
  p = math::fma(p, s2, 1.0 / 9);
  p = math::fma(p, s2, 1.0 / 7);
  p = math::fma(p, s2, 1.0 / 5);
  p = math::fma(p, s2, 1.0 / 3);
  p = math::fma(p, s2, 1.0);
  const double log_m = (2.0 * s) * p;
  const double ed = static_cast<double>(e);
  // ln 2 split so that e * ln2_hi is exact for every exponent here.
  return math::fma(ed, 0x1.62e42p-1, math::fma(ed, 0x1.fdf473de6af28p-22, log_m));
}

// cos(2 pi u) for u in [0, 1), under the same rules as det_log: with w = |u - round(u)| in [0, 1/2]
// and x = 4w - 1 in [-1, 1], cos(2 pi u) = -sin(pi x / 2), a Taylor series to x^23.
TSGAN_HD inline double det_cos_2pi(double u) {
  const double v = u < 0.5 ? u : u - 1.0;  // exact
  const double w = v < 0.0 ? -v : v;
  const double x = math::fma(4.0, w, -1.0);
  const double x2 = x * x;
  double p = math::fma(x2, -0x1.7215f879e1ac9p-60, 0x1.2877020d52cf0p-52);
  p = math::fma(p, x2, -0x1.8a404211f9547p-45);
  p = math::fma(p, x2, 0x1.aaec32af93359p-38);
  p = math::fma(p, x2, -0x1.6fadb9f155744p-31);
  p = math::fma(p, x2, 0x1.e8f434d018d63p-25);
  p = math::fma(p, x2, -0x1.e3074fde8871fp-19);
  p = math::fma(p, x2, 0x1.50783487ee782p-13);
  p = math::fma(p, x2, -0x1.32d2cce62bd86p-8);
  p = math::fma(p, x2, 0x1.466bc6775aae2p-4);
  p = math::fma(p, x2, -0x1.4abbce625be53p-1);
  p = math::fma(p, x2, 0x1.921fb54442d18p+0);
  return -(x * p);
}
}  // namespace detail

// Element i of a draw that starts at word `offset` of the stream. Every distribution is computed so
// that the host and the GPU give bit-identical values: basic IEEE operations and explicit fma only.
template <class T>
TSGAN_HD inline T uniform(std::uint64_t seed, std::uint64_t offset, std::uint64_t i, T lo, T hi) {
  const T u = uniform01<T>(seed, offset / uniform_words<T> + i);
  if constexpr (std::is_same_v<T, float>) {
    // The product of two floats is exact in double: one rounding, fused or not.
    return static_cast<float>(static_cast<double>(lo) + static_cast<double>(hi - lo) * static_cast<double>(u));
  } else {
    return math::fma(hi - lo, u, lo);
  }
}

// Box-Muller on two uniforms of its own, so each element is independent of its neighbours;
// computed in double and rounded once to T.
// The two uniforms element i of a normal draw takes: uniforms base and base + 1 of the stream.
template <class T>
TSGAN_HD inline void normal_uniforms(std::uint64_t seed, std::uint64_t offset, std::uint64_t i, double& u1,
                                     double& u2) {
  const std::uint64_t base = offset / uniform_words<T> + 2 * i;
  const Words<int(normal_words<T>)> w = words<int(normal_words<T>)>(seed, base * uniform_words<T>);
  if constexpr (std::is_same_v<T, float>) {
    u1 = uniform01_of(w.v[0]);
    u2 = uniform01_of(w.v[1]);
  } else {
    u1 = uniform01_of(w.v[0], w.v[1]);
    u2 = uniform01_of(w.v[2], w.v[3]);
  }
}

template <class T>
TSGAN_HD inline T normal(std::uint64_t seed, std::uint64_t offset, std::uint64_t i, T mean, T stddev) {
  double u1, u2;
  normal_uniforms<T>(seed, offset, i, u1, u2);
  const double r = math::sqrt(-2.0 * detail::det_log(u1));
  const double z = r * detail::det_cos_2pi(u2);
  return static_cast<T>(math::fma(static_cast<double>(stddev), z, static_cast<double>(mean)));
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
