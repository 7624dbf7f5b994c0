// DualTripletLoss (TSGAN): pulls a generated face's identity embedding towards its real target's
// and pushes it away from another identity's, for each stage:
//   d(x, y) = ‖x/‖x‖ − y/‖y‖‖²,   L = mean_b softplus(d(φ(Î_b), φ(I_b)) − d(φ(Î_b), C⁻_b))
// The negative C⁻_b is chosen by one of two switches (method doc [D]):
//  - batch_roll: the real target of the next item in the batch (cyclically) whose identity
//    differs — batches are sampled with at least two identities;
//  - running_centres: per-identity running means of the real targets' normalised embeddings
//    (momentum `centre_momentum`); the negative is the nearest centre of another identity (a hard
//    negative), falling back to batch_roll until two identities have centres.
// softplus(d⁺ − d⁻) is ln 2 when both distances are equal and falls towards 0 as d⁻ exceeds d⁺.
#pragma once

#include <cmath>
#include <limits>
#include <map>
#include <vector>

#include "tsgan/autograd/reduce.hpp"

namespace tsgan::losses {

enum class Negatives { batch_roll, running_centres };

// x / ‖x‖ along Axis (with a small floor on the norm).
template <int Axis, class X>
auto l2_normalize(const X& x) {
  using T = typename expr::node_t<const X&>::value_type;
  return eval(x * rsqrt(sum<Axes<Axis>, true>(square(x)) + T(1e-12)));
}

template <class T, index_t E>
class DualTripletLoss {
 public:
  explicit DualTripletLoss(Negatives mode = Negatives::batch_roll, double centre_momentum = 0.9)
      : mode_(mode), momentum_(centre_momentum) {}

  // The negatives for a batch: rows of `real` (host embeddings [B, E]) or running centres.
  template <index_t B>
  Tensor<T, Shape<B, E>> negatives(const Tensor<T, Shape<B, E>>& real, const std::array<std::int64_t, static_cast<std::size_t>(B)>& ids) const {
    Tensor<T, Shape<B, E>> neg(uninitialized);
    for (index_t b = 0; b < B; ++b) {
      const T* src = nullptr;
      if (mode_ == Negatives::running_centres && centres_.size() >= 2) src = nearest_other_centre(real, b, ids[static_cast<std::size_t>(b)]);
      if (src == nullptr) src = real.data() + roll_partner<B>(ids, b) * E;
      std::copy_n(src, E, neg.data() + b * E);
    }
    return neg;
  }

  // L and its two distances, each averaged over the batch: d⁺ = d(φ(Î), φ(I)), d⁻ = d(φ(Î), C⁻).
  template <class D>
  struct Terms {
    Var<T, Shape<>, D> loss, positive, negative;
  };

  // L for embeddings of the generated faces (with gradient), their real targets and negatives.
  template <index_t B, class D, class Real, class Neg>
  Var<T, Shape<>, D> operator()(const Var<T, Shape<B, E>, D>& fake, const Real& real, const Neg& negative) const {
    return terms(fake, real, negative).loss;
  }
  template <index_t B, class D, class Real, class Neg>
  Terms<D> terms(const Var<T, Shape<B, E>, D>& fake, const Real& real, const Neg& negative) const {
    const auto f = l2_normalize<1>(fake);
    const auto r = l2_normalize<1>(real);
    const auto n = l2_normalize<1>(negative);
    const auto d_pos = eval(sum<Axes<1>>(square(f - r)));
    const auto d_neg = eval(sum<Axes<1>>(square(f - n)));
    return {mean(softplus(d_pos - d_neg)), mean(d_pos), mean(d_neg)};
  }

  // Moves each identity's centre towards the normalised embeddings of its real targets.
  template <index_t B>
  void update_centres(const Tensor<T, Shape<B, E>>& real, const std::array<std::int64_t, static_cast<std::size_t>(B)>& ids) {
    for (index_t b = 0; b < B; ++b) {
      std::vector<T> unit(real.data() + b * E, real.data() + (b + 1) * E);
      double norm = 0;
      for (T v : unit) norm += double(v) * v;
      norm = std::sqrt(std::max(norm, 1e-24));
      for (T& v : unit) v = static_cast<T>(v / norm);
      auto [it, fresh] = centres_.try_emplace(ids[b], unit);
      if (!fresh)
        for (index_t k = 0; k < E; ++k)
          it->second[static_cast<std::size_t>(k)] = static_cast<T>(momentum_ * it->second[static_cast<std::size_t>(k)] + (1 - momentum_) * unit[static_cast<std::size_t>(k)]);
    }
  }

  Negatives mode() const { return mode_; }
  std::map<std::int64_t, std::vector<T>>& centres() { return centres_; }

 private:
  template <index_t B>
  static index_t roll_partner(const std::array<std::int64_t, static_cast<std::size_t>(B)>& ids, index_t b) {
    for (index_t k = 1; k < B; ++k) {
      const index_t j = (b + k) % B;
      if (ids[static_cast<std::size_t>(j)] != ids[static_cast<std::size_t>(b)]) return j;
    }
    fail("tsgan: DualTripletLoss needs at least two identities in a batch (all {} items have identity {})", B,
         ids[static_cast<std::size_t>(b)]);
  }

  template <index_t B>
  const T* nearest_other_centre(const Tensor<T, Shape<B, E>>& real, index_t b, std::int64_t id) const {
    const T* best = nullptr;
    double best_d = std::numeric_limits<double>::infinity(), norm = 0;
    for (index_t k = 0; k < E; ++k) norm += double(real[b * E + k]) * real[b * E + k];
    norm = std::sqrt(std::max(norm, 1e-24));
    for (const auto& [cid, c] : centres_) {
      if (cid == id) continue;
      double d = 0, cn = 0;
      for (index_t k = 0; k < E; ++k) cn += double(c[static_cast<std::size_t>(k)]) * c[static_cast<std::size_t>(k)];
      cn = std::sqrt(std::max(cn, 1e-24));
      for (index_t k = 0; k < E; ++k) {
        const double diff = real[b * E + k] / norm - c[static_cast<std::size_t>(k)] / cn;
        d += diff * diff;
      }
      if (d < best_d) {
        best_d = d;
        best = c.data();
      }
    }
    return best;
  }

  Negatives mode_;
  double momentum_;
  std::map<std::int64_t, std::vector<T>> centres_;
};

}  // namespace tsgan::losses
