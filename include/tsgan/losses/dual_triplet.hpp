// DualTripletLoss (TSGAN): pulls a generated face's identity embedding towards its real target's
// and pushes it away from another identity's, for each stage:
//   d(x, y) = ‖x/‖x‖ − y/‖y‖‖²,   L = mean_b softplus(d(φ(Î_b), φ(I_b)) − d(φ(Î_b), C⁻_b))
// The negative C⁻_b is chosen by one of two switches (method doc [D]):
//  - batch_roll: the real target of the next item in the batch (cyclically) whose identity
//    differs — batches are sampled with at least two identities;
//  - running_centres: per-identity running means of the real targets' normalised embeddings
//    (momentum `centre_momentum`); the negative is the nearest centre of another identity (a hard
//    negative; of equally near ones, the smallest identity's), falling back to batch_roll until
//    two identities have centres.
// softplus(d⁺ − d⁻) is ln 2 when both distances are equal and falls towards 0 as d⁻ exceeds d⁺.
//
// The negatives are chosen on the embeddings' device, so a training step never copies embeddings
// to the host and can be recorded as a CUDA graph. What depends on the labels alone is worked out
// on the host first, by plan(ids, updates_centres): each item's roll partner and its identity's
// slot in the centre table (a new identity gets the next free slot when this step updates the
// centres). Those indices and the centres live on the device; negatives(real) and
// update_centres(real) only read them there, and the number of centres filled is a device value
// that update_centres advances, so a replayed step sees the centres grow. A plan holds until the
// next plan(); the centre table's storage only moves in plan() (storage_version() counts moves).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <vector>

#include "tsgan/autograd/reduce.hpp"
#include "tsgan/core/copy.hpp"

namespace tsgan::kernels {

// The arithmetic of both devices, one item at a time, in double as the host always did it.
namespace dual_triplet_detail {

// ‖x‖ with its floor.
template <class T>
TSGAN_HD inline double norm(const T* x, index_t e) {
  double n = 0;
  for (index_t k = 0; k < e; ++k) n += double(x[k]) * x[k];
  return ::sqrt(n < 1e-24 ? 1e-24 : n);
}

// The negative of one item: the centre among the first `count` (other than slot `own`) nearest
// to real/‖real‖, ties to the smaller identity; with fewer than two centres, the roll partner.
template <class T>
TSGAN_HD inline void negative(const T* real_row, const T* roll_row, index_t e, std::int32_t own, const T* centres,
                              const std::int64_t* ids, std::int32_t count, T* out) {
  const T* src = roll_row;
  if (count >= 2) {
    const double rn = norm(real_row, e);
    double best_d = INFINITY;
    std::int64_t best_id = INT64_MAX;
    for (std::int32_t s = 0; s < count; ++s) {
      if (s == own) continue;
      const T* c = centres + s * e;
      const double cn = norm(c, e);
      double d = 0;
      for (index_t k = 0; k < e; ++k) {
        const double diff = real_row[k] / rn - c[k] / cn;
        d += diff * diff;
      }
      if (d < best_d || (d == best_d && ids[s] < best_id)) {
        best_d = d;
        best_id = ids[s];
        src = c;
      }
    }
  }
  for (index_t k = 0; k < e; ++k) out[k] = src[k];
}

// One element of a centre moved towards x/‖x‖ (a fresh centre starts there).
template <class T>
TSGAN_HD inline T moved(T centre, T x, double norm, double momentum, bool fresh) {
  const T unit = static_cast<T>(x / norm);
  return fresh ? unit : static_cast<T>(momentum * centre + (1 - momentum) * unit);
}

}  // namespace dual_triplet_detail

template <class D>
struct DualTripletKernels;

template <>
struct DualTripletKernels<cpu> {
  // neg[b] = the negative of item b (dual_triplet_detail::negative) for real [n, e].
  template <class T>
  static void negatives(const T* real, index_t n, index_t e, const std::int32_t* roll, const std::int32_t* slot,
                        const T* centres, const std::int64_t* ids, const std::int32_t* count, T* neg) {
    for (index_t b = 0; b < n; ++b)
      dual_triplet_detail::negative(real + b * e, real + roll[b] * e, e, slot[b], centres, ids, *count, neg + b * e);
  }
  // The items in order (an identity twice in a batch: the second moves the centre the first made).
  template <class T>
  static void update_centres(const T* real, index_t n, index_t e, const std::int32_t* slot, double momentum, T* centres,
                             std::int32_t* count) {
    for (index_t b = 0; b < n; ++b) {
      const double norm = dual_triplet_detail::norm(real + b * e, e);
      const bool fresh = slot[b] >= *count;  // slots are handed out in order
      for (index_t k = 0; k < e; ++k)
        centres[slot[b] * e + k] = dual_triplet_detail::moved(centres[slot[b] * e + k], real[b * e + k], norm, momentum, fresh);
      if (fresh) *count = slot[b] + 1;
    }
  }
};

}  // namespace tsgan::kernels

#if defined(__CUDACC__)
#include "tsgan/kernels/cuda/dual_triplet.cuh"
#endif

namespace tsgan::losses {

enum class Negatives { batch_roll, running_centres };

// x / ‖x‖ along Axis (with a small floor on the norm).
template <int Axis, class X>
auto l2_normalize(const X& x) {
  using T = typename expr::node_t<const X&>::value_type;
  return eval(x * rsqrt(sum<Axes<Axis>, true>(square(x)) + T(1e-12)));
}

template <class T, index_t E, class D = cpu>
class DualTripletLoss {
 public:
  explicit DualTripletLoss(Negatives mode = Negatives::batch_roll, double centre_momentum = 0.9)
      : mode_(mode), momentum_(centre_momentum), count_(1) {
    zero_fill<D>(count_.data(), 1);
  }

  // The host half of a step's negatives, from the labels alone: roll partners and, in
  // running_centres mode, centre slots (new identities get slots when `updates_centres`).
  // Copies the indices to the device, before the step's device work.
  template <std::size_t B>
  void plan(const std::array<std::int64_t, B>& ids, bool updates_centres) {
    std::vector<std::int32_t> index(2 * B);  // roll partners, then slots (−1: no centre)
    alone_.reset();
    for (std::size_t b = 0; b < B; ++b) {
      index[b] = roll_partner(ids, b);
      if (index[b] < 0) {  // one identity only: fine while two centres exist (negatives() checks)
        alone_ = ids[b];
        index[b] = static_cast<std::int32_t>(b);
      }
    }
    const bool centres = mode_ == Negatives::running_centres;
    for (std::size_t b = 0; b < B; ++b) {
      auto it = slots_.find(ids[b]);
      if (it == slots_.end() && centres && updates_centres) it = add_slot(ids[b]);
      index[B + b] = it == slots_.end() ? -1 : it->second;
    }
    if (index_.count() < index.size()) index_ = Buffer<std::int32_t, D>(index.size());
    copy_from_host<D>(index_.data(), index.data(), static_cast<index_t>(index.size()));
    planned_ = B;
    planned_updates_ = centres && updates_centres;
  }

  // The negatives for the planned batch's real embeddings [B, E] on the device.
  template <index_t B>
  Tensor<T, Shape<B, E>, D> negatives(const Tensor<T, Shape<B, E>, D>& real) const {
    require_plan(B, "negatives");
    if (alone_ && filled_ < 2)
      fail("tsgan: DualTripletLoss needs at least two identities in a batch (all {} items have identity {})", B, *alone_);
    Tensor<T, Shape<B, E>, D> neg(uninitialized);
    kernels::DualTripletKernels<D>::negatives(real.data(), B, E, index_.data(), index_.data() + B, centres_.data(),
                                             centre_ids_.data(), count_.data(), neg.data());
    return neg;
  }

  // L and its two distances, each averaged over the batch: d⁺ = d(φ(Î), φ(I)), d⁻ = d(φ(Î), C⁻).
  template <class D2>
  struct Terms {
    Var<T, Shape<>, D2> loss, positive, negative;
  };

  // L for embeddings of the generated faces (with gradient), their real targets and negatives.
  template <index_t B, class D2, class Real, class Neg>
  Var<T, Shape<>, D2> operator()(const Var<T, Shape<B, E>, D2>& fake, const Real& real, const Neg& negative) const {
    return terms(fake, real, negative).loss;
  }
  template <index_t B, class D2, class Real, class Neg>
  Terms<D2> terms(const Var<T, Shape<B, E>, D2>& fake, const Real& real, const Neg& negative) const {
    const auto f = l2_normalize<1>(fake);
    const auto r = l2_normalize<1>(real);
    const auto n = l2_normalize<1>(negative);
    const auto d_pos = eval(sum<Axes<1>>(square(f - r)));
    const auto d_neg = eval(sum<Axes<1>>(square(f - n)));
    return {mean(softplus(d_pos - d_neg)), mean(d_pos), mean(d_neg)};
  }

  // Moves each planned identity's centre towards the normalised embeddings of its real targets
  // (the plan must have been made with updates_centres).
  template <index_t B>
  void update_centres(const Tensor<T, Shape<B, E>, D>& real) {
    require_plan(B, "update_centres");
    if (!planned_updates_)
      fail("tsgan: DualTripletLoss::update_centres: the plan was made without updates_centres (or in batch_roll mode)");
    kernels::DualTripletKernels<D>::update_centres(real.data(), B, E, index_.data() + B, momentum_, centres_.data(),
                                                   count_.data());
    filled_ = slots_.size();
  }

  Negatives mode() const { return mode_; }
  // Each identity's centre, read from the device (a checkpoint's state).
  std::map<std::int64_t, std::vector<T>> centres() const {
    std::int32_t filled = 0;
    copy_to_host<D>(&filled, count_.data(), 1);
    std::vector<T> values(static_cast<std::size_t>(filled) * E);
    if (filled > 0) copy_to_host<D>(values.data(), centres_.data(), static_cast<index_t>(values.size()));
    std::map<std::int64_t, std::vector<T>> out;
    for (const auto& [id, s] : slots_)
      if (s < filled) out[id].assign(values.begin() + s * E, values.begin() + (s + 1) * E);
    return out;
  }
  // Replaces every centre (loading a checkpoint).
  void set_centres(const std::map<std::int64_t, std::vector<T>>& centres) {
    slots_.clear();
    std::vector<T> values;
    for (const auto& [id, c] : centres) {
      if (c.size() != static_cast<std::size_t>(E))
        fail("tsgan: DualTripletLoss::set_centres: the centre of identity {} has {} values, not {}", id, c.size(), E);
      add_slot(id);
      values.insert(values.end(), c.begin(), c.end());
    }
    if (!values.empty()) copy_from_host<D>(centres_.data(), values.data(), static_cast<index_t>(values.size()));
    const auto filled = static_cast<std::int32_t>(centres.size());
    copy_from_host<D>(count_.data(), &filled, 1);
    filled_ = centres.size();
    planned_ = 0;
  }
  // How often the centre table has moved in memory: a recorded step that reads it is stale after.
  std::int64_t storage_version() const { return storage_version_; }

 private:
  // The next item of another identity, cyclically; −1 when there is none.
  template <std::size_t B>
  static std::int32_t roll_partner(const std::array<std::int64_t, B>& ids, std::size_t b) {
    for (std::size_t k = 1; k < B; ++k) {
      const std::size_t j = (b + k) % B;
      if (ids[j] != ids[b]) return static_cast<std::int32_t>(j);
    }
    return -1;
  }

  // A slot for a new identity; the table doubles (on the device) when full.
  std::map<std::int64_t, std::int32_t>::iterator add_slot(std::int64_t id) {
    const auto slot = static_cast<std::int32_t>(slots_.size());
    const std::size_t capacity = centre_ids_.count();
    if (static_cast<std::size_t>(slot) >= capacity) {
      const std::size_t grown = std::max<std::size_t>(64, 2 * capacity);
      Buffer<T, D> centres(grown * E);
      Buffer<std::int64_t, D> ids(grown);
      if (capacity > 0) {
        copy_on_device<D>(centres.data(), centres_.data(), static_cast<index_t>(capacity * E));
        copy_on_device<D>(ids.data(), centre_ids_.data(), static_cast<index_t>(capacity));
      }
      centres_ = std::move(centres);
      centre_ids_ = std::move(ids);
      ++storage_version_;
    }
    copy_from_host<D>(centre_ids_.data() + slot, &id, 1);
    return slots_.emplace(id, slot).first;
  }

  void require_plan(index_t b, const char* what) const {
    if (planned_ != static_cast<std::size_t>(b))
      fail("tsgan: DualTripletLoss::{} for a batch of {} without a plan(ids) for it (planned: {})", what, b, planned_);
  }

  Negatives mode_;
  double momentum_;
  std::map<std::int64_t, std::int32_t> slots_;  // identity → row of the centre table
  Buffer<T, D> centres_;                        // [capacity, E]
  Buffer<std::int64_t, D> centre_ids_;          // the identity of each row, for ties
  Buffer<std::int32_t, D> count_;               // rows filled, advanced by update_centres
  Buffer<std::int32_t, D> index_;               // the plan: roll partners [B], slots [B]
  std::size_t planned_ = 0;
  bool planned_updates_ = false;
  std::optional<std::int64_t> alone_;  // the identity of a planned batch that has only one
  std::size_t filled_ = 0;             // rows filled once the queued updates have run (the host's count)
  std::int64_t storage_version_ = 0;
};

}  // namespace tsgan::losses
