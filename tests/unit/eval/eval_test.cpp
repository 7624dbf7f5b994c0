// Pair verification (LFW View 2 protocol, AUC, ROC) and rank-1 identification against small
// cases worked out by hand in the comments.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "tsgan/eval/identification.hpp"
#include "tsgan/eval/verification.hpp"

using namespace tsgan;
using evaluation::ScoredPair;
using evaluation::ScoreKind;

TEST_SUITE("eval") {
  TEST_CASE("verification: best threshold on distances and similarities, ties to the most permissive") {
    // Distances, same (S) or different (D): 0.2 S, 0.4 S, 0.5 D, 0.7 S, 0.9 D.
    // "same" when d < t. Candidates and correct decisions:
    //   t = +inf: the 3 S right                         -> 3
    //   t = 0.8 (0.7..0.9): 3 S right, 0.9 D right      -> 4
    //   t = 0.6 (0.5..0.7): 0.7 S wrong                 -> 3
    //   t = 0.45 (0.4..0.5): 0.2, 0.4 S; 0.5, 0.9 D     -> 4
    //   t = 0.3, t = -inf                                -> 3, 2
    // Best 4/5 at 0.8 and at 0.45; the tie goes to 0.8, which calls more pairs "same".
    const std::vector<ScoredPair> d{{0.2, true}, {0.4, true}, {0.5, false}, {0.7, true}, {0.9, false}};
    const auto t = evaluation::best_threshold(d, ScoreKind::distance);
    CHECK(t.threshold == doctest::Approx(0.8));
    CHECK(t.accuracy == doctest::Approx(0.8));
    CHECK(evaluation::accuracy(d, 0.8, ScoreKind::distance) == doctest::Approx(0.8));
    CHECK(evaluation::accuracy(d, 0.6, ScoreKind::distance) == doctest::Approx(0.6));
    // The same pairs as similarities s = 1 - d: "same" when s > t; the most permissive of the two
    // best thresholds is now the lower one, 0.2 (between 0.1 and 0.3).
    std::vector<ScoredPair> s = d;
    for (auto& p : s) p.score = 1 - p.score;
    const auto u = evaluation::best_threshold(s, ScoreKind::similarity);
    CHECK(u.threshold == doctest::Approx(0.2));
    CHECK(u.accuracy == doctest::Approx(0.8));
    // Separable pairs: the threshold sits between the classes.
    const std::vector<ScoredPair> sep{{0.1, true}, {0.3, true}, {0.6, false}};
    CHECK(evaluation::best_threshold(sep, ScoreKind::distance).threshold == doctest::Approx(0.45));
    CHECK(evaluation::best_threshold(sep, ScoreKind::distance).accuracy == 1.0);
    // Only same pairs: everything "same" (+inf for distances) is right.
    const std::vector<ScoredPair> all_same{{0.5, true}, {0.9, true}};
    CHECK(std::isinf(evaluation::best_threshold(all_same, ScoreKind::distance).threshold));
    CHECK(evaluation::best_threshold(all_same, ScoreKind::distance).threshold > 0);
  }

  TEST_CASE("verification: AUC with ties and the ROC curve") {
    // Similarities: same {0.9, 0.5, 0.5}, different {0.5, 0.1}. Of the 6 (same, different)
    // combinations: 0.9 beats both (2); each 0.5 ties the 0.5 (1/2) and beats 0.1 (1): 2 x 1.5.
    // AUC = (2 + 3) / 6 = 5/6.
    const std::vector<ScoredPair> p{{0.9, true}, {0.5, true}, {0.5, true}, {0.5, false}, {0.1, false}};
    CHECK(evaluation::auc(p, ScoreKind::similarity) == doctest::Approx(5.0 / 6));
    // As distances (d = -s) nothing changes.
    std::vector<ScoredPair> d = p;
    for (auto& x : d) x.score = -x.score;
    CHECK(evaluation::auc(d, ScoreKind::distance) == doctest::Approx(5.0 / 6));
    // ROC: (0, 0); after 0.9: TPR 1/3; after the three 0.5: TPR 1, FPR 1/2; after 0.1: (1, 1).
    const auto roc = evaluation::roc(p, ScoreKind::similarity);
    REQUIRE(roc.size() == 4);
    CHECK(roc[0].false_positive_rate == 0);
    CHECK(roc[0].true_positive_rate == 0);
    CHECK(std::isinf(roc[0].threshold));
    CHECK(roc[1].threshold == 0.9);
    CHECK(roc[1].false_positive_rate == 0);
    CHECK(roc[1].true_positive_rate == doctest::Approx(1.0 / 3));
    CHECK(roc[2].threshold == 0.5);
    CHECK(roc[2].false_positive_rate == doctest::Approx(0.5));
    CHECK(roc[2].true_positive_rate == 1);
    CHECK(roc[3].false_positive_rate == 1);
    CHECK(roc[3].true_positive_rate == 1);
    // The trapezoids under the curve add up to the AUC: 0.5·(1/3 + 1)/2 + 0.5·1 = 5/6.
    double area = 0;
    for (std::size_t i = 1; i < roc.size(); ++i)
      area += (roc[i].false_positive_rate - roc[i - 1].false_positive_rate) *
              (roc[i].true_positive_rate + roc[i - 1].true_positive_rate) / 2;
    CHECK(area == doctest::Approx(5.0 / 6));
    // Distances report distance thresholds, smallest first.
    const auto rd = evaluation::roc(d, ScoreKind::distance);
    CHECK(rd[1].threshold == -0.9);
    CHECK(rd[2].threshold == -0.5);
    // Perfect and reversed rankings; all tied.
    CHECK(evaluation::auc(std::vector<ScoredPair>{{2, true}, {1, false}}, ScoreKind::similarity) == 1.0);
    CHECK(evaluation::auc(std::vector<ScoredPair>{{1, true}, {2, false}}, ScoreKind::similarity) == 0.0);
    CHECK(evaluation::auc(std::vector<ScoredPair>{{1, true}, {1, false}, {1, true}}, ScoreKind::similarity) == 0.5);
  }

  TEST_CASE("verification: View 2 protocol, each fold's threshold from the other folds") {
    // Distances; fold 1: S 0.3, S 0.5, D 0.7, D 0.9; fold 2: S 0.4, S 0.6, D 0.8, D 1.0;
    // fold 3: S 0.2, S 0.66, D 0.55, D 1.1.
    const std::vector<ScoredPair> pairs{{0.3, true, 1},  {0.5, true, 1},  {0.7, false, 1},  {0.9, false, 1},
                                        {0.4, true, 2},  {0.6, true, 2},  {0.8, false, 2},  {1.0, false, 2},
                                        {0.2, true, 3},  {0.66, true, 3}, {0.55, false, 3}, {1.1, false, 3}};
    const auto r = evaluation::verify_folds(pairs, ScoreKind::distance);
    REQUIRE(r.folds.size() == 3);
    // Fold 1 from folds 2+3: sorted 0.2S 0.4S 0.55D 0.6S 0.66S 0.8D 1.0D 1.1D. Best: t = 0.73
    // (between 0.66 and 0.8), only 0.55 D wrong: 7/8; every other cut is at most 6/8.
    // On fold 1: 0.3, 0.5 S right, 0.7 D called same (wrong), 0.9 D right: 3/4.
    CHECK(r.folds[0].fold == 1);
    CHECK(r.folds[0].threshold == doctest::Approx(0.73));
    CHECK(r.folds[0].train_accuracy == doctest::Approx(7.0 / 8));
    CHECK(r.folds[0].accuracy == doctest::Approx(0.75));
    CHECK(r.folds[0].pairs == 4);
    // Fold 2 from folds 1+3: sorted 0.2S 0.3S 0.5S 0.55D 0.66S 0.7D 0.9D 1.1D. Two cuts reach 7/8:
    // 0.525 (0.66 S wrong) and 0.68 (0.55 D wrong); the more permissive 0.68 is chosen.
    // On fold 2 it is right for all four (0.4, 0.6 < 0.68 < 0.8, 1.0): 1. (0.525 would give 3/4.)
    CHECK(r.folds[1].threshold == doctest::Approx(0.68));
    CHECK(r.folds[1].train_accuracy == doctest::Approx(7.0 / 8));
    CHECK(r.folds[1].accuracy == 1.0);
    // Fold 3 from folds 1+2: separable, t = 0.65 (between 0.6 and 0.7), 8/8. On fold 3: 0.2 S
    // right, 0.66 S wrong, 0.55 D called same (wrong), 1.1 D right: 2/4.
    CHECK(r.folds[2].threshold == doctest::Approx(0.65));
    CHECK(r.folds[2].train_accuracy == 1.0);
    CHECK(r.folds[2].accuracy == doctest::Approx(0.5));
    // Mean (0.75 + 1 + 0.5)/3 = 0.75; deviations 0, 0.25, -0.25: sample std sqrt(0.125/2) = 0.25;
    // standard error 0.25/sqrt(3).
    CHECK(r.mean_accuracy == doctest::Approx(0.75));
    CHECK(r.std_accuracy == doctest::Approx(0.25));
    CHECK(r.standard_error == doctest::Approx(0.25 / std::sqrt(3.0)));
    // AUC over all 12 pairs: 5 of the 6 different pairs are farther than every same pair; 0.55 is
    // farther than 4 of the 6 (0.2, 0.3, 0.4, 0.5). (5·6 + 4)/36 = 17/18.
    CHECK(r.auc == doctest::Approx(17.0 / 18));
  }

  TEST_CASE("verification: misuse") {
    const std::vector<ScoredPair> one_fold{{0.1, true, 1}, {0.9, false, 1}};
    CHECK_THROWS_WITH_AS(evaluation::verify_folds(one_fold, ScoreKind::distance),
                         doctest::Contains("at least two folds"), Error);
    CHECK_THROWS_WITH_AS(evaluation::auc(std::vector<ScoredPair>{{0.1, true}, {0.2, true}}, ScoreKind::distance),
                         doctest::Contains("same and different pairs (2 same, 0 different)"), Error);
    CHECK_THROWS_WITH_AS(evaluation::best_threshold(std::vector<ScoredPair>{{0.1, true}, {NAN, false}}, ScoreKind::distance),
                         doctest::Contains("pair 1 has a NaN score"), Error);
    CHECK_THROWS_WITH_AS(evaluation::accuracy(std::vector<ScoredPair>{}, 0.5, ScoreKind::distance), doctest::Contains("no pairs"),
                         Error);
    CHECK(evaluation::mean_std(std::vector<double>{2.0}).std == 0);
  }

  TEST_CASE("identification: cosine similarity, gallery, rank-1 per group") {
    const std::vector<float> a{1, 2}, b{3, 4};
    CHECK(evaluation::cosine_similarity(a, b) == doctest::Approx(11 / (std::sqrt(5.0) * 5)));
    // Gallery in 2-D: "a" (1, 0), "b" (0, 2) (its length does not matter), "c" (-1, -1).
    evaluation::Gallery g(2);
    g.add("a", std::vector<float>{1, 0});
    g.add("b", std::vector<float>{0, 2});
    g.add("c", std::vector<float>{-1, -1});
    CHECK(g.size() == 3);
    CHECK(g.contains("b"));
    CHECK_FALSE(g.contains("d"));
    // (2, 1): cos to a 2/sqrt5 = 0.894, to b 1/sqrt5 = 0.447, to c -3/sqrt10 = -0.949 -> a.
    const auto m = g.best_match(std::vector<float>{2, 1});
    CHECK(g.identity(m.index) == "a");
    CHECK(m.similarity == doctest::Approx(2 / std::sqrt(5.0)));
    // (1, 1): a and b both 1/sqrt2; the tie goes to a, added first, so "b" is not rank-1.
    CHECK(g.rank1(std::vector<float>{1, 1}, "a"));
    CHECK_FALSE(g.rank1(std::vector<float>{1, 1}, "b"));
    // (-1, 0.2): a -0.981, b 0.196, c 0.8/sqrt(2.08) = 0.555 -> c.
    CHECK(g.rank1(std::vector<float>{-1, 0.2f}, "c"));

    // Per |yaw|, ± merged: -45 right, +45 wrong, 0 right, 15 wrong and right.
    evaluation::Rank1Table<int> t;
    t.add(evaluation::abs_yaw(-45), true);
    t.add(evaluation::abs_yaw(45), false);
    t.add(0, true);
    t.add(15, false);
    t.add(evaluation::abs_yaw(-15), true);
    REQUIRE(t.groups().size() == 3);
    CHECK(t.groups().at(0).correct == 1);
    CHECK(t.groups().at(0).rate() == 1.0);
    CHECK(t.groups().at(15).total == 2);
    CHECK(t.groups().at(15).rate() == 0.5);
    CHECK(t.groups().at(45).rate() == 0.5);
    CHECK(t.overall().correct == 3);
    CHECK(t.overall().total == 5);
    CHECK(t.overall().rate() == doctest::Approx(0.6));
    evaluation::Rank1Table<std::string> by_type;
    by_type.add("nose", false);
    CHECK(by_type.groups().at("nose").rate() == 0);
  }

  TEST_CASE("identification: misuse") {
    evaluation::Gallery g(2);
    g.add("a", std::vector<float>{1, 0});
    CHECK_THROWS_WITH_AS(g.add("a", std::vector<float>{0, 1}), doctest::Contains("already in the gallery"), Error);
    CHECK_THROWS_WITH_AS(g.add("b", std::vector<float>{0, 1, 2}), doctest::Contains("has 3 values"), Error);
    CHECK_THROWS_WITH_AS(g.add("b", std::vector<float>{0, 0}), doctest::Contains("all zeros"), Error);
    CHECK_THROWS_WITH_AS(g.rank1(std::vector<float>{1, 0}, "z"), doctest::Contains("'z' is not in the gallery"), Error);
    CHECK_THROWS_WITH_AS(g.best_match(std::vector<float>{1}), doctest::Contains("a probe of 1 values"), Error);
    CHECK_THROWS_WITH_AS(evaluation::Gallery(2).best_match(std::vector<float>{1, 0}), doctest::Contains("empty gallery"), Error);
  }
}
