// tsgan-evaluate: the method document's evaluation, with the face recognizer as the matcher.
//
//   tsgan-evaluate --protocol multipie --data DIR [--model CKPT] [--config paper|small|tiny]
//                  [--occlusions all|none|TYPE,...] [--seed S] [--max-probes N] [--mirror]
//                  [--gallery-illumination I] [--json FILE] [--models DIR] [--threads T]
//   tsgan-evaluate --protocol lfw --data DIR [--model CKPT] [--config ...] [--folds K]
//                  [--pairs-per-fold P] [--occlude both|second] [--occlusions ...] [--seed S]
//                  [--align dlib|tsgan|center] [--landmarks auto|faceapi|dlib] [--flip] ...
//   tsgan-evaluate --protocol folder --data DIR [--model M] [--align ...] [--group-by COLUMN] ...
//
// Multi-PIE (Setting 2, data/multipie.hpp): rank-1 identification of every probe against the
// gallery (one frontal crop per test subject) by cosine similarity of descriptors, per |yaw| (±
// merged) and per occlusion type, for the recognizer on the clean probe (the ceiling), on the
// occluded probe (the floor), and, with --model, on TSGAN's Î_d and Î_f. Images are used at the
// configuration's size. --mirror mirrors negative-yaw probes (and their masks) before the model
// and its outputs back, for models trained with tsgan-train-multipie --mirror.
//
// LFW View 2 (data/lfw.hpp): the first K folds, the first P matched and P mismatched pairs of
// each; ACC (threshold chosen on the other folds, mean ± std over folds) and AUC of the
// descriptors' Euclidean distance per occlusion type, for clean, occluded and (with --model)
// restored images. The face (--align): dlib (default), face-api's detector and 68 landmarks, then
// dlib's 150 × 150 chip (align/face_template.hpp), the input dlib's recognizer was trained on
// (--landmarks dlib: dlib's own 68 points instead of face-api's, models/shape_predictor.hpp, in
// the box of dlib's own HOG detector nearest the image centre, models/hog_face_detector.hpp, when
// its exported file is there and it finds a face, else in face-api's box mapped to dlib's; the
// output says how many faces dlib's detector framed, "dlib_detector_boxes" in the JSON. The
// default, auto, is dlib when libdlib-data's predictor and the exported detector are both there,
// 98.78 % against face-api's 96.88 % on LFW View 2, else faceapi; the output and the JSON's
// "landmarks" say which was used);
// tsgan, the same landmarks and the method's 128 crop; center, the fixed centre crop of
// face-models.md §2.5 (126 × 126 at 62, 62 of 250 × 250). The detector's input is --input-size
// (default 256, LFW's images without upscaling). A face the detector misses is cut from
// the centred square (dlib's advice for LFW: never drop a pair) and counted in the output. With
// --model the face is cut (or the centre crop resized) at the model's size and every row uses that
// size. Keypoint occlusions sit on each aligned face's own landmarks (mapped into the crop), on the
// method's template positions for the centre crop. --occlude both (default) occludes both images
// of a pair, second only the second.
//
// A face folder (data/faces.hpp's index.csv: the shared CMU faces, tsgan-make-pairs' output, a
// user's own): the first frontal image of each identity is the gallery, every other image of an
// identity with one is a probe; rank-1 per pose, and with --group-by per pose and that column's
// value (the CMU faces' `eyes`: sunglasses are a real occlusion, and the both_eyes rows then put the
// mask on them). Faces are aligned as for LFW.
//
// Masks: one per image and type, from a generator seeded by the image's name and --seed
// (data::item_seed), so every input and every run sees the same masks. Descriptors are computed
// from 8-bit images (model outputs rounded as if saved as PNG), by the same path as tsgan-embed;
// --flip makes each the mean of the descriptors of the recognizer's input and of its mirror image.
// Prints a markdown table; writes the numbers as JSON (LFW rows with their ROC curves; --json,
// default evaluation-PROTOCOL.json; a file that exists is replaced only with --overwrite).
// --config defaults to the checkpoint's.
#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <map>
#include <numeric>
#include <optional>
#include <set>

#include "common.hpp"
#include "face_networks.hpp"
#include "tsgan/data/faces.hpp"
#include "tsgan/data/lfw.hpp"
#include "tsgan/data/multipie.hpp"
#include "tsgan/data/occlusion.hpp"
#include "tsgan/eval/identification.hpp"
#include "tsgan/eval/verification.hpp"
#include "tsgan/io/file.hpp"
#include "tsgan/models/face_recognizer.hpp"

namespace fs = std::filesystem;
namespace ex = tsgan::examples;
namespace io = tsgan::io;
namespace face = tsgan::models::face;
using tsgan::data::Occlusion;

namespace {

struct Args {
  std::string protocol, config, models, occlusions = "all", occlude = "both", align = "dlib", landmarks = "auto", group_by;
  fs::path data, model, json;
  std::uint64_t seed = 0;
  int max_probes = 0, gallery_illumination = 7, folds = 10, pairs_per_fold = 0, threads = 0;
  tsgan::index_t input_size = 256;  // the face detector's (--align dlib|tsgan)
  bool mirror = false, overwrite = false, flip = false;
};

using Descriptor = std::array<float, face::embedding_size>;

// The inputs a descriptor is computed from.
enum class Input { clean, occluded, deoccluded, frontal };
constexpr const char* input_name(Input i) {
  switch (i) {
    case Input::clean: return "clean";
    case Input::occluded: return "occluded";
    case Input::deoccluded: return "Î_d";
    case Input::frontal: return "Î_f";
  }
  return "?";
}
constexpr const char* input_key(Input i) {
  switch (i) {
    case Input::clean: return "clean";
    case Input::occluded: return "occluded";
    case Input::deoccluded: return "deoccluded";
    case Input::frontal: return "frontal";
  }
  return "?";
}

// A row of the tables: an occlusion type (none for clean) and an input.
struct Row {
  std::optional<Occlusion> occlusion;
  Input input;
  std::string occlusion_name() const { return occlusion ? std::string(tsgan::data::to_string(*occlusion)) : "none"; }
};

std::vector<Row> rows_for(const std::vector<Occlusion>& types, bool restored) {
  std::vector<Row> rows{{std::nullopt, Input::clean}};
  for (Occlusion t : types) {
    rows.push_back({t, Input::occluded});
    if (restored) {
      rows.push_back({t, Input::deoccluded});
      rows.push_back({t, Input::frontal});
    }
  }
  return rows;
}

// A face to describe: RGB, square, and its five landmarks in its pixels when they are known (the
// keypoint occlusions go there; the method's template positions otherwise).
struct LoadedFace {
  io::Image image;
  std::optional<tsgan::data::Landmarks> landmarks;
};

// One image to describe: how to load it, its name (the mask seed) and whether the model sees it
// mirrored.
struct Item {
  std::string key;
  std::function<LoadedFace()> load;
  bool mirror = false;
};

// Descriptors of every item in every row, handed to sink(row, item, descriptor) a chunk of items
// at a time, so that memory does not grow with the number of probes.
class Describer {
 public:
  using Sink = std::function<void(std::size_t row, std::size_t item, const Descriptor&)>;

  // flip: each descriptor is the mean of those of the face and of its mirror image (--flip).
  Describer(const fs::path& models, ex::Restorer* restorer, std::uint64_t seed, bool flip)
      : net_(models), restorer_(restorer), seed_(seed), flip_(flip) {}

  // All descriptors, [row][item] (for sets small enough to keep).
  std::vector<std::vector<Descriptor>> run(const std::vector<Item>& items, const std::vector<Row>& rows) {
    std::vector<std::vector<Descriptor>> out(rows.size(), std::vector<Descriptor>(items.size()));
    run(items, rows, [&](std::size_t r, std::size_t i, const Descriptor& d) { out[r][i] = d; });
    return out;
  }

  void run(const std::vector<Item>& items, const std::vector<Row>& rows, const Sink& sink) {
    constexpr std::size_t chunk = 32;
    for (std::size_t begin = 0; begin < items.size(); begin += chunk) {
      const std::size_t end = std::min(items.size(), begin + chunk);
      std::vector<LoadedFace> clean;
      for (std::size_t i = begin; i < end; ++i) clean.push_back(items[i].load());
      // Every image of every row of this chunk, then one pass of the recognizer.
      std::vector<Face> faces;
      std::vector<std::pair<std::size_t, std::size_t>> where;  // (row, item)
      auto add = [&](std::size_t row, std::size_t item, const io::Image& im) {
        faces.push_back(tsgan::models::preprocess_face(im));
        if (flip_) {
          faces.push_back(faces.back());
          ex::mirror(faces.back().data(), 3, face::input_size);
        }
        where.emplace_back(row, item);
      };
      for (std::size_t r = 0; r < rows.size(); ++r) {
        if (!rows[r].occlusion) {
          for (std::size_t i = begin; i < end; ++i) add(r, i, clean[i - begin].image);
          continue;
        }
        if (rows[r].input != Input::occluded) continue;  // Î_d and Î_f come with their occluded row
        const Occlusion type = *rows[r].occlusion;
        const std::size_t rd = find(rows, type, Input::deoccluded), rf = find(rows, type, Input::frontal);
        std::vector<float> occluded, masks;
        for (std::size_t i = begin; i < end; ++i) {
          const io::Image& im = clean[i - begin].image;
          const int side = im.width;
          const auto mask = tsgan::data::fixed_occlusion(type, side, tsgan::data::item_seed(seed_, items[i].key),
                                                         clean[i - begin].landmarks);
          io::Image occ = im;
          for (std::size_t p = 0; p < mask.size(); ++p)
            if (mask[p] > 0.5f)
              for (int c = 0; c < 3; ++c) occ.pixels[p * 3 + static_cast<std::size_t>(c)] = 0;
          add(r, i, occ);
          if (restorer_) {
            auto x = ex::to_chw(im);
            for (int c = 0; c < 3; ++c)
              for (std::size_t p = 0; p < mask.size(); ++p) x[c * mask.size() + p] *= 1.f - mask[p];
            auto m = mask;
            if (items[i].mirror) {
              ex::mirror(x.data(), 3, side);
              ex::mirror(m.data(), 1, side);
            }
            occluded.insert(occluded.end(), x.begin(), x.end());
            masks.insert(masks.end(), m.begin(), m.end());
          }
        }
        if (restorer_) {
          const int side = restorer_->size();
          const std::size_t image = 3 * static_cast<std::size_t>(side) * static_cast<std::size_t>(side);
          const std::size_t n = end - begin;
          std::vector<float> d(n * image), f(n * image);
          restorer_->restore(occluded.data(), masks.data(), n, d.data(), f.data());
          for (std::size_t k = 0; k < n; ++k) {
            if (items[begin + k].mirror) {
              ex::mirror(d.data() + k * image, 3, side);
              ex::mirror(f.data() + k * image, 3, side);
            }
            add(rd, begin + k, ex::from_chw(d.data() + k * image, side));
            add(rf, begin + k, ex::from_chw(f.data() + k * image, side));
          }
        }
      }
      const auto descriptors = net_.embed_all<8>(faces);
      for (std::size_t k = 0; k < where.size(); ++k) {
        if (!flip_) {
          sink(where[k].first, where[k].second, descriptors[k]);
          continue;
        }
        Descriptor mean;
        for (std::size_t d = 0; d < mean.size(); ++d) mean[d] = (descriptors[2 * k][d] + descriptors[2 * k + 1][d]) / 2;
        sink(where[k].first, where[k].second, mean);
      }
      fmt::print(stderr, "\r{} of {} images described", end, items.size());
    }
    fmt::print(stderr, "\n");
  }

  std::vector<Descriptor> clean(const std::vector<Item>& items) {
    return run(items, {{std::nullopt, Input::clean}})[0];
  }

 private:
  using Face = tsgan::Tensor<float, tsgan::Shape<3, face::input_size, face::input_size>>;
  static std::size_t find(const std::vector<Row>& rows, Occlusion t, Input in) {
    for (std::size_t r = 0; r < rows.size(); ++r)
      if (rows[r].occlusion == t && rows[r].input == in) return r;
    return rows.size();
  }

  tsgan::models::FaceRecognizer<float> net_;
  ex::Restorer* restorer_;
  std::uint64_t seed_;
  bool flip_;
};

void write_json(const fs::path& path, const std::string& text) {
  io::write_file_atomic(path, std::as_bytes(std::span(text.data(), text.size())));
  fmt::print(stderr, "wrote {}\n", path.string());
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// ---- Multi-PIE ----------------------------------------------------------------------------------

int run_multipie(const Args& a, ex::Restorer* restorer, const fs::path& models) {
  namespace mp = tsgan::data::multipie;
  const int side = restorer ? restorer->size() : ex::config_image_size(a.config);
  mp::Options options;
  options.gallery_illumination = a.gallery_illumination;
  const auto setting = mp::Setting2::scan(a.data, options);
  for (const auto& w : setting.warnings()) fmt::print(stderr, "warning: {}\n", w);
  if (setting.gallery().empty()) tsgan::fail("{}: no test subject (> {:03d}) with a gallery crop", a.data.string(), options.last_train_subject);

  std::vector<mp::Crop> probes = setting.probes();
  if (a.max_probes > 0 && static_cast<std::size_t>(a.max_probes) < probes.size()) {
    // A seeded shuffle, then the first N in their original order.
    std::vector<std::size_t> order(probes.size());
    std::iota(order.begin(), order.end(), 0);
    tsgan::random::Generator gen(a.seed);
    for (std::size_t i = order.size() - 1; i > 0; --i)
      std::swap(order[i], order[static_cast<std::size_t>(gen.uniform_int(0, static_cast<std::int64_t>(i)))]);
    order.resize(static_cast<std::size_t>(a.max_probes));
    std::ranges::sort(order);
    std::vector<mp::Crop> chosen;
    for (std::size_t i : order) chosen.push_back(probes[i]);
    probes = std::move(chosen);
  }
  const auto types = ex::parse_occlusions(a.occlusions);
  const auto rows = rows_for(types, restorer != nullptr);
  Describer describer(models, restorer, a.seed, a.flip);

  auto item = [&](const mp::Crop& c, bool mirror) {
    return Item{fs::relative(c.path, a.data).generic_string(),
                [path = c.path, side] { return LoadedFace{ex::load_rgb(path, side), std::nullopt}; }, mirror};
  };
  std::vector<Item> gallery_items, probe_items;
  for (const auto& c : setting.gallery()) gallery_items.push_back(item(c, false));
  for (const auto& c : probes) probe_items.push_back(item(c, a.mirror && c.yaw < 0));
  fmt::print(stderr, "gallery: {} subjects; probes: {}\n", gallery_items.size(), probe_items.size());
  const auto gallery_descriptors = describer.clean(gallery_items);
  tsgan::evaluation::Gallery gallery(face::embedding_size);
  for (std::size_t i = 0; i < gallery_items.size(); ++i) gallery.add(setting.gallery()[i].identity(), gallery_descriptors[i]);
  std::vector<tsgan::evaluation::Rank1Table<int>> tables(rows.size());
  describer.run(probe_items, rows, [&](std::size_t r, std::size_t i, const Descriptor& d) {
    tables[r].add(tsgan::evaluation::abs_yaw(probes[i].yaw), gallery.rank1(d, probes[i].identity()));
  });
  std::set<int> yaws;
  for (const auto& c : probes) yaws.insert(tsgan::evaluation::abs_yaw(c.yaw));

  // Markdown.
  fmt::print("Multi-PIE Setting 2, {}: {} probes against a gallery of {} subjects (camera 051, illumination {:02d}); "
             "rank-1 (%) by |yaw|; images {}x{}{}\n\n",
             a.data.string(), probes.size(), gallery.size(), a.gallery_illumination, side, side,
             a.model.empty() ? "" : fmt::format("; model {}", a.model.string()));
  std::string head = "| occlusion | input |", rule = "|---|---|";
  for (int y : yaws) {
    head += fmt::format(" {}° |", y);
    rule += "---:|";
  }
  fmt::print("{} all |\n{}---:|\n", head, rule);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::string line = fmt::format("| {} | {} |", rows[r].occlusion_name(), input_name(rows[r].input));
    for (int y : yaws) {
      const auto& g = tables[r].groups();
      line += g.contains(y) ? fmt::format(" {:.1f} |", 100 * g.at(y).rate()) : " – |";
    }
    line += fmt::format(" {:.1f} |", 100 * tables[r].overall().rate());
    fmt::print("{}\n", line);
  }

  // JSON.
  std::string json = fmt::format(R"({{"protocol":"multipie","data":{},"model":{},"config":{},"image_size":{},"seed":{},)"
                                 R"("gallery_illumination":{},"mirror":{},"gallery":{},"probes":{},"rows":[)",
                                 json_string(a.data.string()), json_string(a.model.string()),
                                 json_string(restorer ? a.config : ""), side, a.seed, a.gallery_illumination, a.mirror,
                                 gallery.size(), probes.size());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    json += fmt::format(R"({}{{"occlusion":"{}","input":"{}","yaw":{{)", r ? "," : "", rows[r].occlusion_name(),
                        input_key(rows[r].input));
    bool first = true;
    for (const auto& [y, c] : tables[r].groups()) {
      json += fmt::format(R"({}"{}":{{"correct":{},"total":{},"rank1":{:.6f}}})", first ? "" : ",", y, c.correct, c.total, c.rate());
      first = false;
    }
    const auto all = tables[r].overall();
    json += fmt::format(R"(}},"all":{{"correct":{},"total":{},"rank1":{:.6f}}}}})", all.correct, all.total, all.rate());
  }
  json += "]}\n";
  write_json(a.json, json);
  return 0;
}

// ---- faces from photos (LFW, folders) ------------------------------------------------------------

// face-api's detector and 68 landmarks with a template, shared by the items' loaders (which run
// one at a time), counting the faces it missed.
struct Aligner {
  Aligner(const fs::path& dir, tsgan::align::FaceTemplate t) : networks(dir), face_template(t) {}
  tsgan::models::DetectorOptions options;
  ex::FaceAligner networks;
  std::optional<tsgan::align::DlibLandmarks> dlib;  // --landmarks dlib
  tsgan::align::FaceTemplate face_template;
  std::size_t missed = 0;
  std::size_t hog_boxes = 0;  // faces framed by dlib's own detector
};

// --align dlib|tsgan at the model's side (or the template's own); none for center.
std::shared_ptr<Aligner> make_aligner(const Args& a, int side, const fs::path& models) {
  if (a.align == "center") return nullptr;
  const int size = side > 0 ? side : (a.align == "dlib" ? 150 : 128);
  auto aligner = std::make_shared<Aligner>(models, a.align == "dlib" ? tsgan::align::FaceTemplate::dlib(size)
                                                                     : tsgan::align::FaceTemplate::tsgan(size));
  aligner->options.input_size = a.input_size;
  if (a.landmarks == "dlib") {
    aligner->dlib.emplace(models);
    if (!aligner->dlib->detector) fmt::print(stderr, "tsgan-evaluate: note: {}\n", tsgan::align::DlibLandmarks::no_detector_note);
  }
  return aligner;
}

// A photo's face: aligned (a missed face is cut from the centred square), or the fixed centre crop
// of face-models.md §2.5 scaled to the image, resized to `side` when side > 0.
LoadedFace load_face(const fs::path& path, int side, Aligner* aligner) {
  const io::Image im = io::to_rgb(io::read_image(path));
  if (aligner) {
    const auto face = aligner->networks.align(im, aligner->face_template, tsgan::align::Fallback::center, aligner->options,
                                              aligner->dlib ? &*aligner->dlib : nullptr);
    aligner->missed += !face.box && !face.hog_box;
    aligner->hog_boxes += face.hog_box.has_value();
    return LoadedFace{*face.crop, face.five_in_crop()};
  }
  const face::Crop c = face::center_crop(im.width, im.height);
  io::Image crop(c.width, c.height, 3);
  for (int y = 0; y < c.height; ++y)
    for (int x = 0; x < c.width; ++x)
      for (int ch = 0; ch < 3; ++ch) crop.at(y, x, ch) = im.at(c.y + y, c.x + x, ch);
  return LoadedFace{side > 0 && side != c.width ? io::resize(crop, side, side) : crop, std::nullopt};
}

std::string face_description(const Args& a, const Aligner* aligner, std::size_t images, int side) {
  return (a.flip ? std::string("test-time flip, ") : std::string()) + (aligner ? fmt::format("{} alignment {}x{} from {} landmarks ({}{} of {} faces not detected, cut from the centred square)", a.align,
                               aligner->face_template.size, aligner->face_template.size, a.landmarks,
                               aligner->dlib && aligner->dlib->detector ? fmt::format("{} framed by dlib's HOG detector, the rest by face-api's box; ", aligner->hog_boxes) : std::string(),
                               aligner->missed, images)
                 : fmt::format("centre crop {}", side ? fmt::format("resized to {}x{}", side, side) : std::string("126x126 at 62,62")));
}

// ---- LFW ----------------------------------------------------------------------------------------

int run_lfw(const Args& a, ex::Restorer* restorer, const fs::path& models) {
  namespace lfw = tsgan::data::lfw;
  const auto file = lfw::read_pairs(a.data / "pairs.txt");
  const auto pairs = lfw::select(file, a.folds, a.pairs_per_fold);
  if (a.folds < 2) tsgan::fail("--folds {}: the protocol needs at least 2 folds (each fold's threshold comes from the others)", a.folds);
  const auto types = ex::parse_occlusions(a.occlusions);
  const auto rows = rows_for(types, restorer != nullptr);
  const int side = restorer ? restorer->size() : 0;  // 0: the crop as it is

  const std::shared_ptr<Aligner> aligner = make_aligner(a, side, models);
  std::map<std::string, std::size_t> index;
  std::vector<Item> items;
  auto add = [&](const std::string& name, int number) {
    const std::string key = fmt::format("{}/{}_{:04d}.jpg", name, name, number);
    if (index.contains(key)) return;
    index.emplace(key, items.size());
    items.push_back({key, [path = lfw::image_path(a.data, name, number), side, aligner] { return load_face(path, side, aligner.get()); },
                     false});
  };
  for (const auto& p : pairs) {
    add(p.first_name, p.first_number);
    add(p.second_name, p.second_number);
  }
  fmt::print(stderr, "{} pairs of {} folds, {} images\n", pairs.size(), a.folds, items.size());
  Describer describer(models, restorer, a.seed, a.flip);
  const auto descriptors = describer.run(items, rows);

  std::vector<tsgan::evaluation::VerificationResult> results;
  std::vector<std::vector<tsgan::evaluation::RocPoint>> rocs;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::vector<tsgan::evaluation::ScoredPair> scored;
    for (const auto& p : pairs) {
      const std::size_t i = index.at(fmt::format("{}/{}_{:04d}.jpg", p.first_name, p.first_name, p.first_number));
      const std::size_t j = index.at(fmt::format("{}/{}_{:04d}.jpg", p.second_name, p.second_name, p.second_number));
      const Descriptor& da = a.occlude == "second" ? descriptors[0][i] : descriptors[r][i];
      scored.push_back({tsgan::models::face_distance(da, descriptors[r][j]), p.same, p.fold});
    }
    results.push_back(tsgan::evaluation::verify_folds(scored, tsgan::evaluation::ScoreKind::distance));
    rocs.push_back(tsgan::evaluation::roc(scored, tsgan::evaluation::ScoreKind::distance));
  }

  const int per_fold = a.pairs_per_fold <= 0 ? file.per_fold : std::min(a.pairs_per_fold, file.per_fold);
  const std::size_t missed = aligner ? aligner->missed : 0;
  const std::string face_text = face_description(a, aligner.get(), items.size(), side);
  fmt::print("LFW View 2, {}: folds 1-{}, {} matched + {} mismatched pairs each ({} pairs, {} images); {}; "
             "occluded: {} image{} of each pair; Euclidean distance; ACC = mean ± std over folds{}\n\n",
             a.data.string(), a.folds, per_fold, per_fold, pairs.size(), items.size(), face_text, a.occlude,
             a.occlude == "both" ? "s" : "", a.model.empty() ? "" : fmt::format("; model {}", a.model.string()));
  fmt::print("| occlusion | input | ACC (%) | AUC |\n|---|---|---:|---:|\n");
  for (std::size_t r = 0; r < rows.size(); ++r)
    fmt::print("| {} | {} | {:.2f} ± {:.2f} | {:.4f} |\n", rows[r].occlusion_name(), input_name(rows[r].input),
               100 * results[r].mean_accuracy, 100 * results[r].std_accuracy, results[r].auc);

  std::string json = fmt::format(R"({{"protocol":"lfw","data":{},"model":{},"config":{},"image_size":{},"seed":{},)"
                                 R"("folds":{},"pairs_per_fold":{},"occlude":"{}","align":"{}","landmarks":"{}","flip":{},"not_detected":{},"dlib_detector_boxes":{},"pairs":{},"images":{},"rows":[)",
                                 json_string(a.data.string()), json_string(a.model.string()),
                                 json_string(restorer ? a.config : ""), side, a.seed, a.folds, per_fold, a.occlude, a.align,
                                 a.align == "center" ? "" : a.landmarks, a.flip, missed, aligner ? aligner->hog_boxes : 0,
                                 pairs.size(), items.size());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const auto& v = results[r];
    json += fmt::format(R"({}{{"occlusion":"{}","input":"{}","accuracy_mean":{:.6f},"accuracy_std":{:.6f},)"
                        R"("standard_error":{:.6f},"auc":{:.6f},"folds":[)",
                        r ? "," : "", rows[r].occlusion_name(), input_key(rows[r].input), v.mean_accuracy, v.std_accuracy,
                        v.standard_error, v.auc);
    for (std::size_t k = 0; k < v.folds.size(); ++k)
      json += fmt::format(R"({}{{"fold":{},"threshold":{:.6f},"accuracy":{:.6f}}})", k ? "," : "", v.folds[k].fold,
                          v.folds[k].threshold, v.folds[k].accuracy);
    json += R"(],"roc":[)";  // [false positive rate, true positive rate], one point per distinct distance
    for (std::size_t k = 0; k < rocs[r].size(); ++k)
      json += fmt::format("{}[{:.6f},{:.6f}]", k ? "," : "", rocs[r][k].false_positive_rate, rocs[r][k].true_positive_rate);
    json += "]}";
  }
  json += "]}\n";
  write_json(a.json, json);
  return 0;
}

// ---- a face folder ------------------------------------------------------------------------------

// Any index.csv folder: the first frontal image of each identity is its gallery entry, every other
// image a probe; rank-1 per pose (and per value of --group-by's column).
int run_folder(const Args& a, ex::Restorer* restorer, const fs::path& models) {
  const auto index = tsgan::data::FaceIndex::read(a.data);
  for (const auto& w : index.warnings()) fmt::print(stderr, "warning: {}\n", w);
  std::optional<std::size_t> group_column;
  if (!a.group_by.empty()) {
    const auto& names = index.attribute_names();
    const auto it = std::ranges::find(names, a.group_by);
    if (it == names.end())
      tsgan::fail("--group-by {}: {} has no such column (it has: path, identity, pose{}{})", a.group_by,
                  (a.data / "index.csv").string(), names.empty() ? "" : ", ", fmt::join(names, ", "));
    group_column = static_cast<std::size_t>(it - names.begin());
  }
  const int side = restorer ? restorer->size() : 0;
  const std::shared_ptr<Aligner> aligner = make_aligner(a, side, models);
  const auto& records = index.records();
  std::map<std::string, std::size_t> gallery_of;  // identity → record
  for (std::size_t i = 0; i < records.size(); ++i)
    if (tsgan::data::is_frontal_pose(records[i].pose)) gallery_of.try_emplace(records[i].identity, i);
  std::vector<std::size_t> gallery_records, probe_records;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto it = gallery_of.find(records[i].identity);
    if (it == gallery_of.end()) continue;  // no frontal image: not identifiable in a closed set
    (it->second == i ? gallery_records : probe_records).push_back(i);
  }
  if (gallery_records.size() < 2) tsgan::fail("{}: fewer than two identities with a frontal image", a.data.string());
  auto item = [&](std::size_t i) {
    return Item{fs::relative(records[i].path, a.data).generic_string(),
                [path = records[i].path, side, aligner] { return load_face(path, side, aligner.get()); }, false};
  };
  auto group = [&](std::size_t i) {
    return group_column ? records[i].pose + "/" + records[i].attributes.at(*group_column) : records[i].pose;
  };
  std::vector<Item> gallery_items, probe_items;
  for (std::size_t i : gallery_records) gallery_items.push_back(item(i));
  for (std::size_t i : probe_records) probe_items.push_back(item(i));
  fmt::print(stderr, "gallery: {} identities; probes: {}\n", gallery_items.size(), probe_items.size());

  const auto types = ex::parse_occlusions(a.occlusions);
  const auto rows = rows_for(types, restorer != nullptr);
  Describer describer(models, restorer, a.seed, a.flip);
  const auto gallery_descriptors = describer.clean(gallery_items);
  tsgan::evaluation::Gallery gallery(face::embedding_size);
  for (std::size_t k = 0; k < gallery_records.size(); ++k) gallery.add(records[gallery_records[k]].identity, gallery_descriptors[k]);
  std::vector<tsgan::evaluation::Rank1Table<std::string>> tables(rows.size());
  describer.run(probe_items, rows, [&](std::size_t r, std::size_t k, const Descriptor& d) {
    const std::size_t i = probe_records[k];
    tables[r].add(group(i), gallery.rank1(d, records[i].identity));
  });
  std::set<std::string> groups;
  for (std::size_t i : probe_records) groups.insert(group(i));

  fmt::print("Face folder {}: {} probes against a gallery of {} identities (the first frontal image of each); {}; "
             "rank-1 (%) by pose{}{}\n\n",
             a.data.string(), probe_items.size(), gallery.size(),
             face_description(a, aligner.get(), gallery_items.size() + probe_items.size(), side),
             group_column ? fmt::format(" and {}", a.group_by) : "", a.model.empty() ? "" : fmt::format("; model {}", a.model.string()));
  std::string head = "| occlusion | input |", rule = "|---|---|";
  for (const auto& g : groups) {
    head += fmt::format(" {} |", g);
    rule += "---:|";
  }
  fmt::print("{} all |\n{}---:|\n", head, rule);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::string line = fmt::format("| {} | {} |", rows[r].occlusion_name(), input_name(rows[r].input));
    for (const auto& g : groups) line += fmt::format(" {:.1f} |", 100 * tables[r].groups().at(g).rate());
    fmt::print("{} {:.1f} |\n", line, 100 * tables[r].overall().rate());
  }

  std::string json = fmt::format(R"({{"protocol":"folder","data":{},"model":{},"config":{},"image_size":{},"seed":{},)"
                                 R"("align":"{}","landmarks":"{}","flip":{},"not_detected":{},"dlib_detector_boxes":{},"group_by":{},"gallery":{},"probes":{},"rows":[)",
                                 json_string(a.data.string()), json_string(a.model.string()),
                                 json_string(restorer ? a.config : ""), side, a.seed, a.align,
                                 a.align == "center" ? "" : a.landmarks, a.flip, aligner ? aligner->missed : 0,
                                 aligner ? aligner->hog_boxes : 0, json_string(a.group_by), gallery.size(), probe_items.size());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    json += fmt::format(R"({}{{"occlusion":"{}","input":"{}","groups":{{)", r ? "," : "", rows[r].occlusion_name(),
                        input_key(rows[r].input));
    bool first = true;
    for (const auto& [g, c] : tables[r].groups()) {
      json += fmt::format(R"({}{}:{{"correct":{},"total":{},"rank1":{:.6f}}})", first ? "" : ",", json_string(g), c.correct, c.total,
                          c.rate());
      first = false;
    }
    const auto all = tables[r].overall();
    json += fmt::format(R"(}},"all":{{"correct":{},"total":{},"rank1":{:.6f}}}}})", all.correct, all.total, all.rate());
  }
  json += "]}\n";
  write_json(a.json, json);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Evaluate the face recognizer on clean, occluded and TSGAN-restored faces (Multi-PIE, LFW)"};
  Args a;
  app.add_option("--protocol", a.protocol, "multipie, lfw or folder")->required()->check(CLI::IsMember({"multipie", "lfw", "folder"}));
  app.add_option("--data", a.data, "Multi-PIE crop folder, the LFW folder with pairs.txt and images/, or a folder with index.csv")
      ->required();
  app.add_option("--model", a.model, "TSGAN checkpoint: adds the restored rows");
  app.add_option("--config", a.config,
                 fmt::format("the checkpoint's configuration (default: read from it; Multi-PIE without a model: the image "
                             "size, default {})",
                             ex::config_names().front()))
      ->check(CLI::IsMember(ex::config_names()));
  app.add_option("--models", a.models, "face recognizer weights (default: $TSGAN_MODELS_DIR, else ~/.cache/tsgan/models)");
  app.add_option("--occlusions", a.occlusions, "all, none, or a comma-separated list of occlusion types")->capture_default_str();
  app.add_option("--seed", a.seed, "base seed of the per-image masks")->capture_default_str();
  app.add_option("--json", a.json, "where to write the numbers (default: evaluation-PROTOCOL.json)");
  app.add_flag("--overwrite", a.overwrite, "replace the JSON file when it exists");
  app.add_option("--max-probes", a.max_probes, "Multi-PIE: evaluate a seeded random subset of this many probes (0: all)");
  app.add_flag("--mirror", a.mirror, "Multi-PIE: mirror negative-yaw probes for the model (models trained with --mirror)");
  app.add_option("--gallery-illumination", a.gallery_illumination, "Multi-PIE: the gallery's illumination")
      ->check(CLI::Range(0, 19))
      ->capture_default_str();
  app.add_option("--folds", a.folds, "LFW: the first K folds")->check(CLI::Range(2, 10))->capture_default_str();
  app.add_option("--pairs-per-fold", a.pairs_per_fold, "LFW: matched (and as many mismatched) pairs per fold, 0: all")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--occlude", a.occlude, "LFW: occlude both images of a pair or the second only")
      ->check(CLI::IsMember({"both", "second"}))
      ->capture_default_str();
  app.add_option("--group-by", a.group_by, "folder: also group the probes by this index.csv column (e.g. eyes)");
  app.add_option("--align", a.align, "LFW, folder: dlib (dlib's 150 chip), tsgan (the method's crop) or center (the fixed crop)")
      ->check(CLI::IsMember({"dlib", "tsgan", "center"}))
      ->capture_default_str();
  app.add_option("--landmarks", a.landmarks,
                 "LFW, folder with --align dlib|tsgan: the 68 points the face is aligned to: faceapi (face-api's "
                 "FaceLandmark68Net), dlib (dlib's shape predictor in the box of dlib's HOG face detector, else "
                 "face-api's box mapped to dlib's; needs libdlib-data's model file, and libdlib-dev for the detector, "
                 "docs/face-models.md) or auto: dlib when both dlib files are there (98.78 % on LFW View 2 against "
                 "96.88 %), else faceapi; the output and the JSON say which")
      ->check(CLI::IsMember({"auto", "faceapi", "dlib"}))
      ->capture_default_str();
  app.add_option("--input-size", a.input_size,
                 "LFW, folder with --align dlib|tsgan: the face detector's input size (256: LFW's 250x250 images without "
                 "upscaling; at face-api's 416 the detector misses more faces)")
      ->capture_default_str();
  app.add_flag("--flip", a.flip,
               "describe every face by the mean of the descriptors of it and of its mirror image (test-time flip; "
               "twice the recognizer's work)");
  tsgan::cli::add_threads_option(app, a.threads);
  return tsgan::cli::run("tsgan-evaluate", app, argc, argv, [&] {
    tsgan::cli::apply_threads(a.threads);
    const auto models = ex::models_dir(a.models);
    if (!models) {
      fmt::print(stderr, "{}\n", ex::missing_models_message("tsgan-evaluate"));
      return 2;
    }
    if (a.json.empty()) a.json = fmt::format("evaluation-{}.json", a.protocol);
    if (!a.overwrite && fs::exists(a.json))
      tsgan::fail<tsgan::IoError>("{}: exists already (pass --overwrite to replace it, or choose another --json)", a.json.string());
    ex::parse_occlusions(a.occlusions);  // a bad list fails before any work
    if (a.landmarks == "auto") a.landmarks = tsgan::align::DlibLandmarks::available(*models) ? "dlib" : "faceapi";
    std::unique_ptr<ex::Restorer> restorer;
    if (!a.model.empty()) a.config = ex::config_or_checkpoints(a.config, a.model);
    else if (a.config.empty()) a.config = ex::config_names().front();
    if (!a.model.empty()) restorer = ex::load_restorer(a.config, a.model);
    if (a.protocol == "multipie") return run_multipie(a, restorer.get(), *models);
    return a.protocol == "lfw" ? run_lfw(a, restorer.get(), *models) : run_folder(a, restorer.get(), *models);
  });
}
