// What the TSGAN model tests share: a seeded synthetic batch and a host copy of every parameter.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "support.hpp"
#include "tsgan/models/tsgan.hpp"

namespace tsgan::test {

// Four random 32 × 32 pairs of identities 0, 1, 2, 0 with a random quarter of each mask occluded.
template <class C = config::Tiny>
Batch<C> synthetic_batch(std::uint64_t seed) {
  random::Generator g(seed);
  Batch<C> b;
  b.profile = random::uniform<Shape<4, 3, 32, 32>>(g);
  b.frontal = random::uniform<Shape<4, 3, 32, 32>>(g);
  b.mask = random::bernoulli<Shape<4, 1, 32, 32>>(g, 0.25f);
  b.identity = {0, 1, 2, 0};
  return b;
}

// Every parameter of m, in order, on the host.
template <class M>
std::vector<float> snapshot(M& m) {
  std::vector<float> v;
  nn::for_each_parameter(m, [&](const std::string&, auto& p) {
    const auto& h = to_host(p.value());
    v.insert(v.end(), h.data(), h.data() + std::remove_cvref_t<decltype(h)>::size);
  });
  return v;
}

}  // namespace tsgan::test
