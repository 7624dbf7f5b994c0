// Closed-set identification: rank-1 recognition rate of probe descriptors against a gallery that
// holds one descriptor per identity, by cosine similarity, counted per group (per |yaw|, per
// occlusion type, ...).
//
//   tsgan::evaluation::Gallery gallery(128);
//   gallery.add("201", descriptor_of_201);                 // one entry per identity
//   tsgan::evaluation::Rank1Table<int> by_yaw;
//   by_yaw.add(tsgan::evaluation::abs_yaw(-45), gallery.rank1(probe, "201"));
//   by_yaw.groups().at(45).rate();
//
// Contract: a probe is identified as the gallery entry of highest cosine similarity; on a tie the
// entry added first wins (so a probe tied between its own identity and an earlier one counts as
// wrong — the pessimistic reading). Every probe's identity must be in the gallery (closed set).
// Descriptors must be finite and non-zero. Misuse is a tsgan::Error that says what is wrong.
#pragma once

#include <cmath>
#include <cstddef>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tsgan/core/error.hpp"

namespace tsgan::evaluation {

namespace detail {

inline double norm_of(std::span<const float> v, const char* what) {
  double s = 0;
  for (float x : v) {
    if (!std::isfinite(x)) fail("tsgan: {}: the descriptor has a non-finite value", what);
    s += static_cast<double>(x) * static_cast<double>(x);
  }
  if (s == 0) fail("tsgan: {}: the descriptor is all zeros (its cosine similarity is undefined)", what);
  return std::sqrt(s);
}

}  // namespace detail

// cos(a, b) = a·b / (‖a‖ ‖b‖), computed in double.
inline double cosine_similarity(std::span<const float> a, std::span<const float> b) {
  if (a.size() != b.size()) fail("tsgan: cosine_similarity of descriptors of sizes {} and {}", a.size(), b.size());
  const double na = detail::norm_of(a, "cosine_similarity"), nb = detail::norm_of(b, "cosine_similarity");
  double dot = 0;
  for (std::size_t i = 0; i < a.size(); ++i) dot += static_cast<double>(a[i]) * static_cast<double>(b[i]);
  return dot / (na * nb);
}

// |yaw|: a probe at −45° and one at +45° fall in the same group.
constexpr int abs_yaw(int yaw) { return yaw < 0 ? -yaw : yaw; }

class Gallery {
 public:
  struct Match {
    std::size_t index = 0;  // entry of the best match
    double similarity = 0;  // its cosine similarity
  };

  explicit Gallery(std::size_t dimension) : dim_(dimension) {
    if (dimension == 0) fail("tsgan: a gallery of 0-dimensional descriptors");
  }

  // Adds the descriptor of `identity`; an identity can be added once.
  void add(std::string identity, std::span<const float> descriptor) {
    if (descriptor.size() != dim_)
      fail("tsgan: gallery entry '{}' has {} values, the gallery holds {}-value descriptors", identity, descriptor.size(), dim_);
    if (index_.contains(identity)) fail("tsgan: identity '{}' is already in the gallery (one entry per identity)", identity);
    const double n = detail::norm_of(descriptor, "gallery entry");
    for (float x : descriptor) unit_.push_back(static_cast<double>(x) / n);
    index_.emplace(identity, ids_.size());
    ids_.push_back(std::move(identity));
  }

  std::size_t size() const { return ids_.size(); }
  std::size_t dimension() const { return dim_; }
  const std::string& identity(std::size_t i) const { return ids_.at(i); }
  bool contains(std::string_view identity) const { return index_.find(identity) != index_.end(); }

  // The entry most similar to `probe` (the first one added on a tie).
  Match best_match(std::span<const float> probe) const {
    if (ids_.empty()) fail("tsgan: best_match in an empty gallery");
    if (probe.size() != dim_) fail("tsgan: a probe of {} values against a gallery of {}-value descriptors", probe.size(), dim_);
    const double n = detail::norm_of(probe, "probe");
    Match best{0, -2};
    for (std::size_t e = 0; e < ids_.size(); ++e) {
      double dot = 0;
      for (std::size_t i = 0; i < dim_; ++i) dot += unit_[e * dim_ + i] * static_cast<double>(probe[i]);
      dot /= n;
      if (dot > best.similarity) best = {e, dot};
    }
    return best;
  }

  // Whether the best match of `probe` is `identity`, which must be in the gallery.
  bool rank1(std::span<const float> probe, std::string_view identity) const {
    const auto it = index_.find(identity);
    if (it == index_.end()) fail("tsgan: the probe's identity '{}' is not in the gallery (closed-set identification)", identity);
    return best_match(probe).index == it->second;
  }

 private:
  std::size_t dim_;
  std::vector<double> unit_;  // entries normalised to unit length, row-major
  std::vector<std::string> ids_;
  std::map<std::string, std::size_t, std::less<>> index_;
};

struct Rank1Count {
  std::size_t correct = 0, total = 0;
  double rate() const { return total == 0 ? 0.0 : static_cast<double>(correct) / static_cast<double>(total); }
};

// Rank-1 counts per group and overall.
template <class Group>
class Rank1Table {
 public:
  void add(const Group& group, bool correct) {
    auto& c = groups_[group];
    c.correct += correct;
    ++c.total;
    all_.correct += correct;
    ++all_.total;
  }
  const std::map<Group, Rank1Count>& groups() const { return groups_; }
  Rank1Count overall() const { return all_; }

 private:
  std::map<Group, Rank1Count> groups_;
  Rank1Count all_;
};

}  // namespace tsgan::evaluation
