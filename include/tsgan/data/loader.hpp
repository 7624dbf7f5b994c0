// Batches of TSGAN training pairs, with synthetic occlusions: from a face folder (FaceIndex and
// its pairs) or from explicit file pairs (ImagePair: Multi-PIE and other data sets with a layout
// of their own).
//
// By default the loader decodes every usable image once (small face sets); with
// `preload = false` it only checks that the files exist and reads the 2·B images of each batch
// when the batch is drawn (large sets such as Multi-PIE). Each batch draws B pairs and one
// occlusion per item from the generator it is given — pass the model's (`model.rng()`), and a
// checkpoint of the model also fixes where the data stream resumes; preloading or not draws the
// same batches. A batch always holds at least two identities (the dual triplet loss needs a
// negative). Images that cannot be read (or, without preloading, are missing) are reported and
// their pairs dropped; the rest still trains. Without preloading, a file that becomes unreadable
// later is an IoError naming it when a batch needs it. Keypoint occlusions sit on the input's own
// landmarks when the pair carries them (a face folder with a landmarks.jsonl, data/faces.hpp),
// scaled with the image to S × S and mirrored with it; otherwise on the template's.
//
// PoseSynthesisLoader makes the pairs on the fly instead (issue 15: training without a
// pre-rendered folder; tsgan-train --photos): from a face folder's photos (the frontal rows, or
// every row when no row has a pose, as tsgan-make-pairs takes them), each fitted once by the given
// fitter (FaceMesh's 468 points in image pixels: data::FaceFitter::as_fitter(), the fit of
// tsgan-make-pairs) and kept with its mesh; each batch item draws a photo, a yaw of the requested
// set and its side from the generator and renders the pair with data::PoseSynthesizer at S × S,
// the occlusion on the rendered face's five points. The same generator state gives the same
// batch. Photos that cannot be read or fitted are reported in warnings() and left out. Several
// folders may be given; a person's name is one identity over all of them. Given a
// PoseSynthesizer instead of the face's triangles, it renders with that one:
// PoseSynthesizer(render::HeadMesh(canonical)) turns the whole head, the pairs of
// tsgan-make-pairs --head.
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <span>

#include "tsgan/data/faces.hpp"
#include "tsgan/data/occlusion.hpp"
#include "tsgan/data/pose_synthesis.hpp"
#include "tsgan/models/tsgan.hpp"

namespace tsgan::data {

struct LoaderOptions {
  // Mirror images whose pose is `left` (and their targets) so the network sees one side [T].
  bool mirror_left = false;
  // Occlusion types to draw from; empty means all seven.
  std::vector<Occlusion> occlusions;
  // Decode every image when the loader is made; false: read each batch's images when it is drawn.
  bool preload = true;
};

template <class Config>
class PairLoader {
 public:
  using T = typename Config::value_type;
  static constexpr index_t S = Config::image_size, B = Config::batch;

  PairLoader(const FaceIndex& index, const std::vector<FacePair>& pairs, LoaderOptions options = {})
      : PairLoader(image_pairs(index, pairs, options.mirror_left), std::move(options)) {}

  explicit PairLoader(const std::vector<ImagePair>& pairs, LoaderOptions options = {}) : options_(std::move(options)) {
    std::map<std::filesystem::path, std::optional<std::size_t>> loaded;  // file → slot
    auto slot_of = [&](const std::filesystem::path& path) -> std::optional<std::size_t> {
      if (auto it = loaded.find(path); it != loaded.end()) return it->second;
      std::optional<std::size_t> slot;
      if (options_.preload) {
        try {
          std::array<int, 2> size{};
          images_.push_back(load_face<S>(path, &size));
          sizes_.push_back(size);
          slot = images_.size() - 1;
        } catch (const Error& e) {
          warnings_.push_back(fmt::format("skipped an unreadable image: {}", e.what()));
        }
      } else {
        std::error_code ec;
        if (std::filesystem::is_regular_file(path, ec)) {
          paths_.push_back(path);
          slot = paths_.size() - 1;
        } else {
          warnings_.push_back(fmt::format("skipped a missing image: {}", path.string()));
        }
      }
      loaded[path] = slot;
      return slot;
    };
    for (const ImagePair& p : pairs) {
      const auto in = slot_of(p.input), target = slot_of(p.target);
      if (!in || !target) continue;
      pairs_.push_back({*in, *target, p.identity, p.mirror, p.input_landmarks});
      identities_.insert(p.identity);
    }
    if (pairs_.empty()) fail("tsgan: no usable training pair (every pair lacked a readable image)");
    if (identities_.size() < 2) fail("tsgan: the training pairs cover only one identity; the dual triplet loss needs two");
    if (options_.occlusions.empty()) options_.occlusions.assign(all_occlusions.begin(), all_occlusions.end());
  }

  // A face folder's pairs as file pairs; with `mirror_left`, pairs whose input pose is `left`
  // are mirrored.
  static std::vector<ImagePair> image_pairs(const FaceIndex& index, const std::vector<FacePair>& pairs, bool mirror_left) {
    std::vector<ImagePair> out;
    for (const FacePair& p : pairs)
      out.push_back({index.records()[p.input].path, index.records()[p.target].path, p.identity,
                     mirror_left && index.records()[p.input].pose == "left", index.records()[p.input].landmarks});
    return out;
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
    for (index_t b = 0; b < B; ++b) {
      const Item& item = pairs_[chosen[b]];
      std::array<int, 2> size{};
      with_image(item.input, [&](const Face& im, std::array<int, 2> original) {
        copy_image(im, batch.profile, b, item.mirror);
        size = original;
      });
      const Landmarks lm = item.landmarks ? in_crop(*item.landmarks, size, item.mirror) : mean_landmarks(double(S));
      with_image(item.target, [&](const Face& im, std::array<int, 2>) { copy_image(im, batch.frontal, b, item.mirror); });
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
    std::optional<align::FivePoints> landmarks;  // the input's, in its pixels
  };
  // Landmarks of a W × H image in the S × S crop it is resized to, mirrored with it (the eyes and
  // the mouth corners then swap sides, so they swap places to stay image-left first).
  static Landmarks in_crop(const align::FivePoints& p, std::array<int, 2> size, bool mirror) {
    Landmarks out;
    for (std::size_t i = 0; i < 5; ++i) {
      const double x = p[i].x * double(S) / size[0];
      out[i] = {mirror ? double(S) - x : x, p[i].y * double(S) / size[1]};
    }
    if (mirror) {
      std::swap(out[0], out[1]);
      std::swap(out[3], out[4]);
    }
    return out;
  }
  using Face = Tensor<float, Shape<3, S, S>>;
  // Calls f with the decoded image of `slot` and its size before resizing: preloaded, or read now.
  template <class F>
  void with_image(std::size_t slot, F&& f) const {
    if (options_.preload) {
      f(images_[slot], sizes_[slot]);
    } else {
      std::array<int, 2> size{};
      const Face face = load_face<S>(paths_[slot], &size);
      f(face, size);
    }
  }
  static void copy_image(const Tensor<float, Shape<3, S, S>>& src, Tensor<T, Shape<B, 3, S, S>>& dst, index_t b, bool mirror) {
    for (index_t c = 0; c < 3; ++c)
      for (index_t y = 0; y < S; ++y)
        for (index_t x = 0; x < S; ++x) dst(b, c, y, x) = static_cast<T>(src(c, y, mirror ? S - 1 - x : x));
  }

  LoaderOptions options_;
  std::vector<Face> images_;                 // preloaded
  std::vector<std::array<int, 2>> sizes_;     // their sizes before resizing
  std::vector<std::filesystem::path> paths_;  // read per batch
  std::vector<Item> pairs_;
  std::set<std::int64_t> identities_;
  std::vector<std::string> warnings_;
};

struct PoseSynthesisOptions {
  std::vector<double> yaws{15, 30, 45, 60, 75};  // degrees, each drawn left or right
  PoseMode mode = PoseMode::profile;
  std::vector<Occlusion> occlusions;  // empty means all seven
};

template <class Config>
class PoseSynthesisLoader {
 public:
  using T = typename Config::value_type;
  static constexpr index_t S = Config::image_size, B = Config::batch;
  // The 468 points of the face in a photo, in its pixels; nullopt when no face fits.
  using Fitter = std::function<std::optional<std::vector<render::Vec3>>(const io::Image&)>;

  PoseSynthesisLoader(const FaceIndex& index, const Fitter& fit, std::vector<render::Triangle> triangles,
                      PoseSynthesisOptions options = {})
      : PoseSynthesisLoader(index, fit, PoseSynthesizer(std::move(triangles)), std::move(options)) {}

  PoseSynthesisLoader(const FaceIndex& index, const Fitter& fit, PoseSynthesizer synthesizer, PoseSynthesisOptions options = {})
      : PoseSynthesisLoader(std::span(&index, 1), fit, std::move(synthesizer), std::move(options)) {}

  // Several folders' photos; identities are matched by name across folders (one person in two
  // folders is one identity for the dual triplet loss), and each folder's frontal rule is its own.
  PoseSynthesisLoader(std::span<const FaceIndex> indexes, const Fitter& fit, PoseSynthesizer synthesizer,
                      PoseSynthesisOptions options = {})
      : synth_(std::move(synthesizer)), options_(std::move(options)) {
    if (options_.yaws.empty()) fail("tsgan: PoseSynthesisLoader: no yaw given");
    for (const double y : options_.yaws)
      if (!(y >= 0 && y < 90)) fail("tsgan: PoseSynthesisLoader: a yaw of {}° (0 to 90 expected)", y);
    if (options_.occlusions.empty()) options_.occlusions.assign(all_occlusions.begin(), all_occlusions.end());
    std::map<std::string, std::int64_t> ids;
    for (const FaceIndex& index : indexes) add_sources(index, fit, ids);
    if (sources_.empty()) fail("tsgan: PoseSynthesisLoader: no photo of the folders could be fitted");
    if (ids.size() < 2) fail("tsgan: PoseSynthesisLoader: the fitted photos cover only one identity; the dual triplet loss needs two");
  }

  std::size_t size() const { return sources_.size(); }
  const std::vector<std::string>& warnings() const { return warnings_; }

  // The next batch, drawn from `gen`; `yaws` receives each item's signed yaw.
  Batch<Config> next(random::Generator& gen, std::array<double, B>* yaws = nullptr) const {
    Batch<Config> batch;
    const auto draw = [&] { return static_cast<std::size_t>(gen.uniform_int(0, static_cast<std::int64_t>(sources_.size()) - 1)); };
    std::array<std::size_t, B> chosen{};
    for (index_t b = 0; b < B; ++b) chosen[b] = draw();
    bool mixed = false;
    for (index_t b = 1; b < B; ++b) mixed = mixed || sources_[chosen[b]].identity != sources_[chosen[0]].identity;
    while (!mixed) {
      chosen[B - 1] = draw();
      mixed = sources_[chosen[B - 1]].identity != sources_[chosen[0]].identity;
    }
    for (index_t b = 0; b < B; ++b) {
      const Source& src = sources_[chosen[b]];
      const double yaw = options_.yaws[static_cast<std::size_t>(gen.uniform_int(0, static_cast<std::int64_t>(options_.yaws.size()) - 1))];
      const double signed_yaw = gen.uniform_int(0, 1) ? yaw : -yaw;
      if (yaws) (*yaws)[static_cast<std::size_t>(b)] = signed_yaw;
      const PosePair p = synth_.make(src.photo, src.points, signed_yaw, options_.mode, static_cast<int>(S));
      copy_image(p.input, batch.profile, b);
      copy_image(p.target, batch.frontal, b);
      MaskCanvas canvas(batch.mask.data() + b * S * S, S, S);
      const auto kind = options_.occlusions[static_cast<std::size_t>(
          gen.uniform_int(0, static_cast<std::int64_t>(options_.occlusions.size()) - 1))];
      draw_occlusion(canvas, kind, p.input_points, gen);
      batch.identity[static_cast<std::size_t>(b)] = src.identity;
    }
    return batch;
  }

 private:
  struct Source {
    io::Image photo;                  // RGB
    std::vector<render::Vec3> points;  // its mesh, fitted once
    std::int64_t identity;
  };
  // Fits `index`'s sources (its frontal rows, or every row when none is frontal) and keeps those
  // that fit.
  void add_sources(const FaceIndex& index, const Fitter& fit, std::map<std::string, std::int64_t>& ids) {
    for (const FaceRecord* record : index.pose_sources()) {
      const FaceRecord& r = *record;
      try {
        io::Image photo = io::to_rgb(io::read_image(r.path));
        std::optional<std::vector<render::Vec3>> points = fit(photo);
        if (!points) {
          warnings_.push_back(fmt::format("{}: no face fitted; not used", r.path.string()));
          continue;
        }
        if (points->size() != 468) fail("tsgan: PoseSynthesisLoader: the fitter gave {} points for {} (468 expected)", points->size(), r.path.string());
        const std::int64_t id = ids.try_emplace(r.identity, static_cast<std::int64_t>(ids.size())).first->second;
        sources_.push_back({std::move(photo), std::move(*points), id});
      } catch (const IoError& e) {
        warnings_.push_back(fmt::format("skipped an unreadable image: {}", e.what()));
      }
    }
  }
  static void copy_image(const io::Image& im, Tensor<T, Shape<B, 3, S, S>>& dst, index_t b) {
    for (index_t c = 0; c < 3; ++c)
      for (index_t y = 0; y < S; ++y)
        for (index_t x = 0; x < S; ++x) dst(b, c, y, x) = static_cast<T>(im.at(static_cast<int>(y), static_cast<int>(x), static_cast<int>(c)) / 255.f);
  }

  PoseSynthesizer synth_;
  PoseSynthesisOptions options_;
  std::vector<Source> sources_;
  std::vector<std::string> warnings_;
};

}  // namespace tsgan::data
