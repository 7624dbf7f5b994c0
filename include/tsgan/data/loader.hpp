// Batches of TSGAN training pairs from a face folder, with synthetic occlusions.
//
// The loader decodes every usable image once (the face sets it is meant for are small), then each
// batch draws B pairs and one occlusion per item from the generator it is given — pass the model's
// (`model.rng()`), and a checkpoint of the model also fixes where the data stream resumes. A batch
// always holds at least two identities (the dual triplet loss needs a negative). Images that
// cannot be read are reported and their pairs dropped; the rest still trains.
#pragma once

#include <optional>
#include <set>

#include "tsgan/data/faces.hpp"
#include "tsgan/data/occlusion.hpp"
#include "tsgan/models/tsgan.hpp"

namespace tsgan::data {

struct LoaderOptions {
  // Mirror images whose pose is `left` (and their targets) so the network sees one side [T].
  bool mirror_left = false;
  // Occlusion types to draw from; empty means all seven.
  std::vector<Occlusion> occlusions;
};

template <class Config>
class PairLoader {
 public:
  using T = typename Config::value_type;
  static constexpr index_t S = Config::image_size, B = Config::batch;

  PairLoader(const FaceIndex& index, std::vector<FacePair> pairs, LoaderOptions options = {})
      : options_(std::move(options)) {
    std::map<std::size_t, std::optional<std::size_t>> loaded;  // record → slot in images_
    auto image_of = [&](std::size_t record) -> std::optional<std::size_t> {
      if (auto it = loaded.find(record); it != loaded.end()) return it->second;
      std::optional<std::size_t> slot;
      try {
        images_.push_back(load_face<S>(index.records()[record].path));
        slot = images_.size() - 1;
      } catch (const Error& e) {
        warnings_.push_back(fmt::format("skipped an unreadable image: {}", e.what()));
      }
      loaded[record] = slot;
      return slot;
    };
    for (const FacePair& p : pairs) {
      const auto in = image_of(p.input), target = image_of(p.target);
      if (!in || !target) continue;
      const bool mirror = options_.mirror_left && index.records()[p.input].pose == "left";
      pairs_.push_back({*in, *target, p.identity, mirror});
      identities_.insert(p.identity);
    }
    if (pairs_.empty()) fail("tsgan: no usable training pair (every pair lacked a readable image)");
    if (identities_.size() < 2) fail("tsgan: the training pairs cover only one identity; the dual triplet loss needs two");
    if (options_.occlusions.empty()) options_.occlusions.assign(all_occlusions.begin(), all_occlusions.end());
  }

  std::size_t size() const { return pairs_.size(); }
  const std::vector<std::string>& warnings() const { return warnings_; }

  // The next batch, drawn from `gen`.
  Batch<Config> next(random::Generator& gen) const {
    Batch<Config> batch;
    std::array<std::size_t, B> chosen{};
    for (index_t b = 0; b < B; ++b) chosen[b] = static_cast<std::size_t>(gen.uniform_int(0, static_cast<std::int64_t>(pairs_.size()) - 1));
    // Guarantee two identities: replace the last item by a pair of another identity if needed.
    bool mixed = false;
    for (index_t b = 1; b < B; ++b) mixed = mixed || pairs_[chosen[b]].identity != pairs_[chosen[0]].identity;
    while (!mixed) {
      chosen[B - 1] = static_cast<std::size_t>(gen.uniform_int(0, static_cast<std::int64_t>(pairs_.size()) - 1));
      mixed = pairs_[chosen[B - 1]].identity != pairs_[chosen[0]].identity;
    }
    const Landmarks lm = mean_landmarks(double(S));
    for (index_t b = 0; b < B; ++b) {
      const Item& item = pairs_[chosen[b]];
      copy_image(images_[item.input], batch.profile, b, item.mirror);
      copy_image(images_[item.target], batch.frontal, b, item.mirror);
      MaskCanvas canvas(batch.mask.data() + b * S * S, S, S);
      const auto kind = options_.occlusions[static_cast<std::size_t>(
          gen.uniform_int(0, static_cast<std::int64_t>(options_.occlusions.size()) - 1))];
      draw_occlusion(canvas, kind, lm, gen);
      batch.identity[static_cast<std::size_t>(b)] = item.identity;
    }
    return batch;
  }

 private:
  struct Item {
    std::size_t input, target;
    std::int64_t identity;
    bool mirror;
  };
  static void copy_image(const Tensor<float, Shape<3, S, S>>& src, Tensor<T, Shape<B, 3, S, S>>& dst, index_t b, bool mirror) {
    for (index_t c = 0; c < 3; ++c)
      for (index_t y = 0; y < S; ++y)
        for (index_t x = 0; x < S; ++x) dst(b, c, y, x) = static_cast<T>(src(c, y, mirror ? S - 1 - x : x));
  }

  LoaderOptions options_;
  std::vector<Tensor<float, Shape<3, S, S>>> images_;
  std::vector<Item> pairs_;
  std::set<std::int64_t> identities_;
  std::vector<std::string> warnings_;
};

}  // namespace tsgan::data
