// Pair verification ("same person or not?") from one score per pair: the LFW View 2 protocol,
// the area under the ROC curve and the ROC curve itself.
//
//   std::vector<tsgan::evaluation::ScoredPair> pairs = ...;   // {score, same, fold}
//   auto r = tsgan::evaluation::verify_folds(pairs, tsgan::evaluation::ScoreKind::distance);
//   r.mean_accuracy, r.std_accuracy, r.auc, r.folds[k].threshold
//
// Contract:
//  - a score is a distance (smaller = more alike; a pair is called "same" when distance < t) or a
//    similarity (larger = more alike; "same" when similarity > t);
//  - best_threshold tries every threshold that can change a decision: −∞, the midpoint between
//    each two consecutive distinct scores, +∞ (so a threshold never sits on a score); ties in
//    accuracy go to the most permissive one (the threshold that calls the most pairs "same");
//  - verify_folds is View 2's protocol: for each fold, the threshold that is best on the pairs of
//    all other folds, and the accuracy of that threshold on the fold; the mean and the sample
//    standard deviation (n − 1) of the fold accuracies, and the standard error std/√folds;
//  - auc is exact, with ties counted half (the Mann–Whitney statistic with mid-ranks): the
//    probability that a random same pair scores better than a random different pair;
//  - roc lists one point per distinct score, so its trapezoidal area equals auc.
// Bad input (no pairs, NaN scores, one class missing, fewer than two folds) is a tsgan::Error.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <map>
#include <span>
#include <vector>

#include "tsgan/core/error.hpp"

namespace tsgan::evaluation {

enum class ScoreKind { distance, similarity };

struct ScoredPair {
  double score = 0;
  bool same = false;  // the ground truth: both images show the same person
  int fold = 0;       // View 2 fold (any integers; one fold is left out at a time)
};

struct Threshold {
  double threshold = 0;  // in the score's own units (±∞ possible)
  double accuracy = 0;   // on the pairs it was chosen on
};

struct FoldResult {
  int fold = 0;
  double threshold = 0;       // chosen on the other folds
  double train_accuracy = 0;  // of that threshold on the other folds
  double accuracy = 0;        // of that threshold on this fold
  std::size_t pairs = 0;      // pairs in this fold
};

struct VerificationResult {
  std::vector<FoldResult> folds;  // sorted by fold id
  double mean_accuracy = 0;
  double std_accuracy = 0;     // sample standard deviation over the folds (n − 1)
  double standard_error = 0;   // std_accuracy / √folds, as the LFW site reports it
  double auc = 0;              // over all pairs
};

struct RocPoint {
  // Pairs at least this alike are called "same": similarity ≥ threshold, distance ≤ threshold.
  double threshold = 0;
  double false_positive_rate = 0;
  double true_positive_rate = 0;
};

struct MeanStd {
  double mean = 0;
  double std = 0;  // sample standard deviation (n − 1); 0 for one value
};

inline MeanStd mean_std(std::span<const double> values) {
  if (values.empty()) fail("tsgan: mean_std of no values");
  MeanStd r;
  for (double v : values) r.mean += v;
  r.mean /= static_cast<double>(values.size());
  if (values.size() > 1) {
    double ss = 0;
    for (double v : values) ss += (v - r.mean) * (v - r.mean);
    r.std = std::sqrt(ss / static_cast<double>(values.size() - 1));
  }
  return r;
}

namespace detail {

// "Higher is more alike": the similarity, or minus the distance.
inline double key(double score, ScoreKind kind) { return kind == ScoreKind::similarity ? score : -score; }

inline void check_scores(std::span<const ScoredPair> pairs, const char* what) {
  if (pairs.empty()) fail("tsgan: {}: no pairs", what);
  for (std::size_t i = 0; i < pairs.size(); ++i)
    if (std::isnan(pairs[i].score)) fail("tsgan: {}: pair {} has a NaN score", what, i);
}

// Keys sorted ascending, with the labels.
inline std::vector<std::pair<double, bool>> sorted_keys(std::span<const ScoredPair> pairs, ScoreKind kind) {
  std::vector<std::pair<double, bool>> k;
  k.reserve(pairs.size());
  for (const auto& p : pairs) k.emplace_back(key(p.score, kind), p.same);
  std::ranges::sort(k, {}, &std::pair<double, bool>::first);
  return k;
}

}  // namespace detail

// The fraction of pairs decided correctly by `threshold` (distance < t or similarity > t: same).
inline double accuracy(std::span<const ScoredPair> pairs, double threshold, ScoreKind kind) {
  detail::check_scores(pairs, "accuracy");
  std::size_t correct = 0;
  for (const auto& p : pairs) {
    const bool called_same = kind == ScoreKind::distance ? p.score < threshold : p.score > threshold;
    correct += called_same == p.same;
  }
  return static_cast<double>(correct) / static_cast<double>(pairs.size());
}

// The threshold with the best accuracy on `pairs` (see the header comment for candidates and ties).
inline Threshold best_threshold(std::span<const ScoredPair> pairs, ScoreKind kind) {
  detail::check_scores(pairs, "best_threshold");
  const auto k = detail::sorted_keys(pairs, kind);
  // Threshold t on the key: "same" when key > t. Start at t = −∞ (everything "same").
  std::size_t correct = 0;
  for (const auto& e : k) correct += e.second;
  std::size_t best = correct;
  double best_key = -std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < k.size();) {
    std::size_t j = i;
    while (j < k.size() && k[j].first == k[i].first) {  // the group of equal keys turns "different"
      if (k[j].second) --correct;
      else ++correct;
      ++j;
    }
    const double t = j < k.size() ? k[i].first + (k[j].first - k[i].first) / 2 : std::numeric_limits<double>::infinity();
    if (correct > best) {  // strictly better: ties keep the lower, more permissive threshold
      best = correct;
      best_key = t;
    }
    i = j;
  }
  const double threshold = kind == ScoreKind::similarity ? best_key : -best_key;
  return {threshold, static_cast<double>(best) / static_cast<double>(k.size())};
}

// Exact area under the ROC curve, ties counted half.
inline double auc(std::span<const ScoredPair> pairs, ScoreKind kind) {
  detail::check_scores(pairs, "auc");
  const auto k = detail::sorted_keys(pairs, kind);
  double positives = 0, negatives = 0, rank_sum = 0;  // mid-ranks of the same pairs, from 1
  for (std::size_t i = 0; i < k.size();) {
    std::size_t j = i, pos = 0;
    while (j < k.size() && k[j].first == k[i].first) pos += k[j++].second;
    const double mid_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;
    rank_sum += mid_rank * static_cast<double>(pos);
    positives += static_cast<double>(pos);
    negatives += static_cast<double>(j - i - pos);
    i = j;
  }
  if (positives == 0 || negatives == 0)
    fail("tsgan: auc needs same and different pairs ({} same, {} different)", positives, negatives);
  return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives);
}

// The ROC curve from (0, 0) (nothing called "same") to (1, 1), one point per distinct score.
inline std::vector<RocPoint> roc(std::span<const ScoredPair> pairs, ScoreKind kind) {
  detail::check_scores(pairs, "roc");
  auto k = detail::sorted_keys(pairs, kind);
  std::ranges::reverse(k);  // most alike first
  double positives = 0, negatives = 0;
  for (const auto& e : k) (e.second ? positives : negatives) += 1;
  if (positives == 0 || negatives == 0)
    fail("tsgan: roc needs same and different pairs ({} same, {} different)", positives, negatives);
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<RocPoint> out{{kind == ScoreKind::similarity ? inf : -inf, 0, 0}};
  double tp = 0, fp = 0;
  for (std::size_t i = 0; i < k.size();) {
    std::size_t j = i;
    while (j < k.size() && k[j].first == k[i].first) (k[j++].second ? tp : fp) += 1;
    out.push_back({kind == ScoreKind::similarity ? k[i].first : -k[i].first, fp / negatives, tp / positives});
    i = j;
  }
  return out;
}

// The LFW View 2 protocol over the folds found in `pairs` (at least two).
inline VerificationResult verify_folds(std::span<const ScoredPair> pairs, ScoreKind kind) {
  detail::check_scores(pairs, "verify_folds");
  std::map<int, std::vector<ScoredPair>> by_fold;
  for (const auto& p : pairs) by_fold[p.fold].push_back(p);
  if (by_fold.size() < 2)
    fail("tsgan: verify_folds needs at least two folds (the threshold of a fold is chosen on the others); got {}",
         by_fold.size());
  VerificationResult r;
  std::vector<double> accuracies;
  for (const auto& [fold, test] : by_fold) {
    std::vector<ScoredPair> train;
    for (const auto& [other, ps] : by_fold)
      if (other != fold) train.insert(train.end(), ps.begin(), ps.end());
    const Threshold t = best_threshold(train, kind);
    FoldResult f{fold, t.threshold, t.accuracy, accuracy(test, t.threshold, kind), test.size()};
    accuracies.push_back(f.accuracy);
    r.folds.push_back(f);
  }
  const MeanStd ms = mean_std(accuracies);
  r.mean_accuracy = ms.mean;
  r.std_accuracy = ms.std;
  r.standard_error = ms.std / std::sqrt(static_cast<double>(accuracies.size()));
  r.auc = auc(pairs, kind);
  return r;
}

}  // namespace tsgan::evaluation
