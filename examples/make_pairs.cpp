// tsgan-make-pairs: training pairs from ordinary photos by pose synthesis (Rotate-and-Render).
//
//   tsgan-make-pairs --data DIR --out OUT [--yaws 15,30,45,60,75] [--size 128]
//                    [--mode profile|roundtrip] [--seed S] [--both-sides] [--head] [--skip N] [--limit N]
//                    [--box-scale S] [--detector-retry] [--refine-passes N] [--threads N]
//
// DIR is a face folder with an index.csv (path,identity,pose,...; the frontal rows, or every row
// when none is frontal, are the sources: FaceIndex::pose_sources) or a plain folder of images
// (searched recursively; a file's identity is the top folder it lies in: FaceIndex::photos).
// For each source photo: face-api's tiny detector finds the face (the best box; with
// --detector-retry, where it finds none, once more at align_face's second look), FaceMesh fits its
// 468 points in the box enlarged --box-scale times, then --refine-passes times in the box around
// its own points (data::FaceFitter, the fit tsgan-train --photos makes too), and each yaw renders
// the face turned by ±yaw (the sign drawn per photo and yaw from --seed; with --both-sides, both
// signs: +yaw first) with data::PoseSynthesizer, aligned to the method's crop. --head turns the whole head (forehead, hair, ears, jaw, neck) with
// the face: the face mesh is extended by render::HeadMesh; without it only the face turns.
//
// Writes OUT/images/<identity>/<source file name without extension>/frontal.png (the aligned
// photo, the target) and .../yaw±NN.png (the synthesised inputs; a second source of the same
// identity and name gets "-2", then "-3"..., in source order), OUT/masks/... (255 where an input
// has no source), OUT/landmarks.jsonl (data/landmarks_file.hpp: for every image of index.csv, the
// 68 points of its own face in its pixels, FaceMesh's points through the render and the crop, so
// that the loader puts keypoint occlusions on the rendered eyes, nose and mouth),
// OUT/index.csv with the columns path,identity,pose,yaw,source (pose "frontal" or "yaw±NN"; the
// trainers pair each input with the frontal row of the same source, which shares the most
// attributes), OUT/preview.png (the first 8 sources: frontal, then each yaw) and OUT/skipped.txt
// (one line per source that was not used, with the reason); with --frames also
// OUT/frames/<identity>/<stem>/yaw±NN.png, each input before the crop, at the photo's size (to
// compare renders with real photos through a pipeline that finds the face itself). The same
// command writes the same
// files. OUT must not exist or be empty: nothing is overwritten.
//
// --identity-check also runs the face recognizer on every input and its target (each whole crop
// resized to the recognizer's 150, face-api's preprocessing) and writes OUT/identity.csv
// (path,yaw,distance), then prints per |yaw| the median distance and the fraction under dlib's
// 0.6: does the rendered face still look like its person to the recognizer?
//
// --yaw-check runs the fit that made the pairs (data::FaceFitter: detector, FaceMesh, refinement)
// on every input before the crop (the render at the photo's size) and measures the yaw of the
// rigid turn from the photo's fit to the render's (data::relative_yaw_degrees); writes OUT/yaw.csv
// (path,yaw,measured,error,miss: measured and error empty and the reason in miss where the fit
// found no face in the render) and prints per |yaw| the inputs, the renders fitted and missed, and
// the median and 90th percentile of |error| and its share within 5°. In profile mode
// error = measured − yaw: does the render turn the head by the requested angle? In roundtrip mode
// the input is turned there and back, so error = measured − 0: does the round trip return the head
// to the photo's pose? (Each render gets its own detector box: the photo's box stays where the
// frontal face was while the head turns, and the method's crop cuts the turned head.)
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <fstream>
#include <limits>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "face_networks.hpp"
#include "tsgan/cli/program.hpp"
#include "tsgan/core/random.hpp"
#include "tsgan/data/faces.hpp"
#include "tsgan/data/occlusion.hpp"
#include "tsgan/data/pose_synthesis.hpp"
#include "tsgan/data/landmarks_file.hpp"
#include "tsgan/io/image.hpp"
#include "tsgan/io/model_path.hpp"
#include "tsgan/models/face_mesh.hpp"
#include "tsgan/models/face_recognizer.hpp"
#include "tsgan/render/canonical_mesh.hpp"
#include "tsgan/render/head_mesh.hpp"

namespace fs = std::filesystem;
using namespace tsgan;

namespace {

struct Source {
  fs::path file;      // absolute
  std::string rel;    // relative to DIR, '/'-separated
  std::string identity;
};

std::vector<Source> find_sources(const fs::path& dir) {
  const data::FaceIndex index = data::FaceIndex::photos(dir);
  std::vector<Source> out;
  for (const data::FaceRecord* r : index.pose_sources()) out.push_back({r->path, fs::relative(r->path, dir).generic_string(), r->identity});
  return out;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

// A path component from an identity: letters, digits, '-', '_' and '.' are kept, anything else
// (a '/' above all) becomes '_', and "." or ".." become "_".
std::string path_component(const std::string& name) {
  std::string out;
  for (unsigned char c : name) out += std::isalnum(c) || c == '-' || c == '_' || c == '.' ? char(c) : '_';
  return out.empty() || out == "." || out == ".." ? "_" : out;
}

// Each source's folder under OUT/images: <identity>/<file stem>, "-2", "-3"... for repeats.
std::vector<std::string> output_stems(const std::vector<Source>& sources) {
  std::vector<std::string> stems;
  std::set<std::string> taken;
  for (const Source& s : sources) {
    const std::string base = path_component(s.identity) + "/" + path_component(fs::path(s.rel).stem().string());
    std::string stem = base;
    for (int k = 2; taken.contains(stem); ++k) stem = fmt::format("{}-{}", base, k);
    taken.insert(stem);
    stems.push_back(stem);
  }
  return stems;
}

double percentile(std::vector<double> v, double q) {
  std::ranges::sort(v);
  const double at = q * double(v.size() - 1);
  const std::size_t lo = std::size_t(std::floor(at)), hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (at - double(lo)) * (v[hi] - v[lo]);
}

// The fit of one rendered input against its photo's: the yaw it reads, or why it found no face.
struct YawReading {
  double yaw = 0;
  std::optional<double> measured;
  std::string miss;
};

struct Output {
  std::string skipped;                 // the reason, when the source was not used
  std::vector<std::pair<double, double>> distances;  // (yaw, recognizer distance) per input
  std::vector<YawReading> yaw_readings;  // --yaw-check, per input
  std::vector<std::string> rows;       // index.csv rows
  std::vector<std::string> landmarks;  // landmarks.jsonl lines, one per row
  std::vector<io::Image> preview;      // frontal, then each yaw
};

io::Image grid(const std::vector<std::vector<io::Image>>& rows, int size) {
  constexpr int gap = 2;
  std::size_t cols = 0;
  for (const auto& r : rows) cols = std::max(cols, r.size());
  io::Image out(int(cols) * (size + gap) + gap, int(rows.size()) * (size + gap) + gap, 3, 255);
  for (std::size_t j = 0; j < rows.size(); ++j)
    for (std::size_t i = 0; i < rows[j].size(); ++i) {
      const io::Image rgb = io::to_rgb(rows[j][i]);
      for (int y = 0; y < size; ++y)
        for (int x = 0; x < size; ++x)
          for (int c = 0; c < 3; ++c)
            out.at(gap + int(j) * (size + gap) + y, gap + int(i) * (size + gap) + x, c) = rgb.at(y, x, c);
    }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Training pairs from photos by pose synthesis: rendered turned faces and their frontal targets"};
  fs::path data_dir, out;
  std::string mode_text = "profile";
  std::vector<double> yaws{15, 30, 45, 60, 75};
  int size = 128, skip = 0, limit = 0, threads = 0, refine_passes = data::FaceFitter::default_refine_passes;
  double box_scale = data::FaceFitter::default_box_scale;
  bool detector_retry = false;
  bool identity_check = false, yaw_check = false, both_sides = false, frames = false, head = false;
  std::uint64_t seed = 0;
  app.add_option("--data", data_dir, "a folder with index.csv, or a folder of images")->required();
  app.add_option("--out", out, "the output folder (must not exist or be empty)")->required();
  app.add_option("--yaws", yaws, "yaw angles in degrees, comma-separated; each is drawn left or right")
      ->delimiter(',')
      ->check(cli::yaw_degrees())
      ->capture_default_str();
  app.add_option("--size", size, "the crop's side in pixels")->check(cli::integer(16, 4096));
  app.add_option("--mode", mode_text, "profile (input rendered at the yaw) or roundtrip (rendered there and back)")
      ->check(CLI::IsMember({"profile", "roundtrip"}));
  app.add_option("--seed", seed, "the seed of the left/right draws");
  app.add_flag("--frames", frames, "also write each input before the crop, at the photo's size (OUT/frames/...)");
  app.add_flag("--both-sides", both_sides, "render every yaw both to the left and to the right (no draw)");
  app.add_flag("--head", head, "turn the whole head (forehead, hair, ears, jaw, neck), not only the face mesh");
  app.add_option("--skip", skip, "leave out the first N sources (before --limit)")->check(cli::integer(0));
  app.add_option("--limit", limit, "use the first N sources only (0: all)")->check(cli::integer(0));
  app.add_option("--box-scale", box_scale, "the detector's box is enlarged this much for FaceMesh")->check(CLI::Range(0.5, 3.0));
  app.add_option("--refine-passes", refine_passes, "FaceMesh runs again this many times in the box around its own points")
      ->check(cli::integer(0, 4))
      ->capture_default_str();
  app.add_flag("--detector-retry", detector_retry, "look once more at input 160, threshold 0.3, where the detector finds no face");
  app.add_flag("--identity-check", identity_check, "recognizer distance of every input to its target (OUT/identity.csv)");
  app.add_flag("--yaw-check", yaw_check, "the yaw the fit finds on every input (at the photo's size) against the photo (OUT/yaw.csv)");
  cli::add_threads_option(app, threads);
  return cli::run("tsgan-make-pairs", app, argc, argv, [&] {
    cli::apply_threads(threads);
    const data::PoseMode mode = mode_text == "profile" ? data::PoseMode::profile : data::PoseMode::roundtrip;
    if (fs::exists(out) && (!fs::is_directory(out) || !fs::is_empty(out)))
      fail("{}: the output folder exists and is not empty (nothing is overwritten; choose another --out)", out.string());
    const auto models = io::face_models_dir();
    const data::FaceFitModels fit_models = data::face_fit_models();
    if (!models || !fs::exists(fit_models.dir / models::mesh::landmark_map_file))
      fail("the face models are missing from {} (run scripts/fetch-face-models.sh and scripts/fetch-face-mesh.sh)",
           io::face_models_search_dir().string());
    std::vector<Source> sources = find_sources(data_dir);
    sources.erase(sources.begin(), sources.begin() + std::min<std::ptrdiff_t>(skip, std::ssize(sources)));
    if (limit > 0 && sources.size() > std::size_t(limit)) sources.resize(std::size_t(limit));
    if (sources.empty()) fail("{}: no images found", data_dir.string());
    const render::CanonicalMesh canonical_mesh = render::read_canonical_mesh(fit_models.canonical_mesh);
    const data::PoseSynthesizer synth = head ? data::PoseSynthesizer(render::HeadMesh(canonical_mesh))
                                             : data::PoseSynthesizer(canonical_mesh.triangles);
    const models::mesh::LandmarkMap map68 = models::mesh::read_landmark_map(fit_models.dir);
    const std::vector<std::string> stems = output_stems(sources);

    const int workers = std::max(1, std::min<int>(num_threads(), int(sources.size())));
    std::vector<Output> results(sources.size());
    std::vector<examples::PhotoFitter> fitters;
    std::vector<models::FaceRecognizer<>> recognizers;
    for (int w = 0; w < workers; ++w) {
      fitters.emplace_back(fit_models, box_scale, refine_passes, detector_retry);
      if (identity_check) recognizers.emplace_back(*models);
    }
    auto embed = [&](int w, const io::Image& face) {
      auto x = models::preprocess_face<float>(face).reshape<Shape<1, 3, models::face::input_size, models::face::input_size>>();
      return recognizers[std::size_t(w)].embed_preprocessed(x);
    };
    fs::create_directories(out);
    const auto start = std::chrono::steady_clock::now();
    std::size_t done = 0;
    auto process = [&](std::size_t k, int w) {
      const Source& s = sources[k];
      Output& o = results[k];
      io::Image photo;
      try {
        photo = io::read_image(s.file);
      } catch (const std::exception& e) {
        o.skipped = e.what();
        return;
      }
      const data::FaceFit fit = fitters[std::size_t(w)].fit(photo);
      if (fit.points.empty()) {
        o.skipped = fit.skipped;
        return;
      }
      const auto& points = fit.points;
      const std::string& stem = stems[k];
      const fs::path dir = out / "images" / stem, mask_dir = out / "masks" / stem;
      fs::create_directories(dir);
      fs::create_directories(mask_dir);
      bool frontal_written = false;
      auto add_landmarks = [&](const std::string& file, const std::vector<align::Point>& mesh) {
        const align::Landmarks68 l = data::PoseSynthesizer::landmarks68(mesh, map68);
        double x0 = l[0].x, y0 = l[0].y, x1 = x0, y1 = y0;
        for (const auto& q : l) {
          x0 = std::min(x0, q.x);
          y0 = std::min(y0, q.y);
          x1 = std::max(x1, q.x);
          y1 = std::max(y1, q.y);
        }
        o.landmarks.push_back(data::write_landmarks_line({file, std::array{x0, y0, x1 - x0, y1 - y0}, fit.face_score, l, std::nullopt}));
      };
      std::vector<double> signed_yaws;
      for (const double yaw : yaws) {
        if (both_sides) {
          signed_yaws.insert(signed_yaws.end(), {yaw, -yaw});
        } else {
          const double u = random::uniform01<double>(data::item_seed(seed, fmt::format("{}#{}", s.rel, yaw)), 0);
          signed_yaws.push_back(u < 0.5 ? -yaw : yaw);
        }
      }
      for (const double signed_yaw : signed_yaws) {
        const data::PosePair p = synth.make(photo, points, signed_yaw, mode, size);
        if (!frontal_written) {
          io::write_png(dir / "frontal.png", p.target);
          o.rows.push_back(fmt::format("images/{}/frontal.png,{},frontal,0,{}", stem, csv_field(s.identity), csv_field(s.rel)));
          add_landmarks(fmt::format("images/{}/frontal.png", stem), p.target_mesh);
          o.preview.push_back(p.target);
          frontal_written = true;
        }
        const std::string name = fmt::format("yaw{:+03.0f}", signed_yaw);
        io::write_png(dir / (name + ".png"), p.input);
        io::write_png(mask_dir / (name + ".png"), p.no_source);
        if (frames) {
          fs::create_directories(out / "frames" / stem);
          io::write_png(out / "frames" / stem / (name + ".png"), p.frame);
        }
        o.rows.push_back(fmt::format("images/{}/{}.png,{},{},{:g},{}", stem, name, csv_field(s.identity), name, signed_yaw,
                                     csv_field(s.rel)));
        add_landmarks(fmt::format("images/{}/{}.png", stem, name), p.input_mesh);
        o.preview.push_back(p.input);
        if (yaw_check) {
          const data::FaceFit turned = fitters[std::size_t(w)].fit(p.frame);
          if (turned.points.empty()) o.yaw_readings.push_back({signed_yaw, std::nullopt, turned.skipped});
          else o.yaw_readings.push_back({signed_yaw, data::relative_yaw_degrees(points, turned.points), {}});
        }
        if (identity_check) o.distances.emplace_back(signed_yaw, models::face_distance(embed(w, p.input), embed(w, p.target)));
      }
    };
    auto report = [&](std::size_t n) {
      const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const double rate = double(n) / std::max(t, 1e-9);
      fmt::print(stderr, "\rtsgan-make-pairs: {}/{} photos, {:.1f} pairs/s, ETA {:.0f} s   ", n, sources.size(),
                 rate * double(yaws.size() * (both_sides ? 2 : 1)), double(sources.size() - n) / std::max(rate, 1e-9));
    };
#pragma omp parallel for schedule(dynamic, 1) num_threads(workers)
    for (std::size_t k = 0; k < sources.size(); ++k) {
#if defined(_OPENMP)
      const int w = omp_get_thread_num();
#else
      const int w = 0;
#endif
      try {
        process(k, w);
      } catch (const std::exception& e) {
        results[k].skipped = e.what();
        results[k].rows.clear();
        results[k].landmarks.clear();
      }
#pragma omp critical
      {
        ++done;
        if (done % 10 == 0 || done == sources.size()) report(done);
      }
    }
    fmt::print(stderr, "\n");

    std::ofstream index(out / "index.csv"), skipped(out / "skipped.txt"), landmarks(out / "landmarks.jsonl");
    index << "path,identity,pose,yaw,source\n";
    std::vector<std::vector<io::Image>> preview;
    std::size_t used = 0, pairs = 0;
    for (std::size_t k = 0; k < sources.size(); ++k) {
      if (!results[k].skipped.empty()) {
        skipped << sources[k].rel << ": " << results[k].skipped << "\n";
        fmt::print(stderr, "tsgan-make-pairs: skipped {}: {}\n", sources[k].rel, results[k].skipped);
        continue;
      }
      ++used;
      pairs += results[k].rows.size() - 1;
      for (const auto& r : results[k].rows) index << r << "\n";
      for (const auto& l : results[k].landmarks) landmarks << l << "\n";
      if (preview.size() < 8) preview.push_back(std::move(results[k].preview));
    }
    if (!index || !skipped || !landmarks) fail("{}: cannot write index.csv, skipped.txt or landmarks.jsonl", out.string());
    if (identity_check) {
      std::ofstream csv(out / "identity.csv");
      csv << "path,yaw,distance\n";
      std::map<double, std::vector<double>> by_yaw;
      for (std::size_t k = 0; k < sources.size(); ++k)
        for (std::size_t i = 0; i < results[k].distances.size(); ++i) {
          const auto [yaw, d] = results[k].distances[i];
          csv << results[k].rows[i + 1].substr(0, results[k].rows[i + 1].find(',')) << ',' << yaw << ',' << d << '\n';
          by_yaw[std::abs(yaw)].push_back(d);
        }
      fmt::print("|yaw|  inputs  median distance  under 0.6\n");
      for (auto& [yaw, d] : by_yaw) {
        std::ranges::sort(d);
        const double median = d.size() % 2 ? d[d.size() / 2] : (d[d.size() / 2 - 1] + d[d.size() / 2]) / 2;
        const auto under = std::ranges::count_if(d, [](double v) { return v < models::face::same_person_threshold; });
        fmt::print("{:5g}  {:6}  {:15.3f}  {:8.1f}%\n", yaw, d.size(), median, 100.0 * double(under) / double(d.size()));
      }
    }
    if (yaw_check) {
      std::ofstream csv(out / "yaw.csv");
      csv << "path,yaw,measured,error,miss\n";
      struct Tally {
        std::vector<double> errors;  // |error| of the fitted renders
        std::map<std::string, std::size_t> misses;  // renders without a fit, by reason
        std::size_t inputs = 0;
      };
      std::map<double, Tally> by_yaw;
      for (std::size_t k = 0; k < sources.size(); ++k)
        for (std::size_t i = 0; i < results[k].yaw_readings.size(); ++i) {
          const YawReading& r = results[k].yaw_readings[i];
          Tally& t = by_yaw[std::abs(r.yaw)];
          ++t.inputs;
          csv << results[k].rows[i + 1].substr(0, results[k].rows[i + 1].find(',')) << ',' << r.yaw << ',';
          if (!r.measured) {
            csv << ",," << csv_field(r.miss) << '\n';
            ++t.misses[r.miss.starts_with("the face mesh does not fit") ? "face score under the floor" : r.miss];
            continue;
          }
          const double error = *r.measured - (mode == data::PoseMode::profile ? r.yaw : 0.0);  // a round trip turns back
          csv << *r.measured << ',' << error << ",\n";
          t.errors.push_back(std::abs(error));
        }
      // Over all inputs, a render the fit misses counts as a failure (worse than any error), so
      // that missing the hard renders cannot make the median look better.
      fmt::print("|yaw|  inputs  fitted  median |error|  90th percentile  within 5°  all inputs: median |error|  within 5°  missed\n");
      for (const auto& [yaw, t] : by_yaw) {
        std::string missed;
        for (const auto& [reason, n] : t.misses) missed += fmt::format("{}{} ({})", missed.empty() ? "" : ", ", n, reason);
        const auto within = double(std::ranges::count_if(t.errors, [](double e) { return e <= 5.0; }));
        std::vector<double> all = t.errors;
        all.resize(t.inputs, std::numeric_limits<double>::infinity());
        std::ranges::sort(all);
        const double all_median = (all[(all.size() - 1) / 2] + all[all.size() / 2]) / 2;
        const std::string all_text = std::isinf(all_median) ? std::string("(half missed)") : fmt::format("{:.2f}°", all_median);
        std::string median = "-", p90 = "-", share = "-";  // of the fitted renders
        if (!t.errors.empty()) {
          median = fmt::format("{:.2f}°", percentile(t.errors, 0.5));
          p90 = fmt::format("{:.2f}°", percentile(t.errors, 0.9));
          share = fmt::format("{:.1f}%", 100.0 * within / double(t.errors.size()));
        }
        fmt::print("{:5g}  {:6}  {:6}  {:>14}  {:>15}  {:>9}  {:>26}  {:8.1f}%  {}\n", yaw, t.inputs, t.errors.size(), median, p90,
                   share, all_text, 100.0 * within / double(t.inputs), missed.empty() ? "0" : missed);
      }
    }
    if (!preview.empty()) io::write_png(out / "preview.png", grid(preview, size));
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    fmt::print("{}: {} pairs from {} of {} photos ({} skipped) in {:.1f} s, {:.2f} pairs/s, {} threads\n", out.string(),
               pairs, used, sources.size(), sources.size() - used, t, double(pairs) / std::max(t, 1e-9), workers);
    return 0;
  });
}
