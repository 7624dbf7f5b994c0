// Multi-PIE crop names, the Setting 2 split and its training pairs; a plain folder of photos as a
// face index; LFW pairs.txt parsing (a
// hand-written file, every kind of error, and the shared View 2 file when it is there); the
// loader on explicit file pairs, preloaded or read per batch; the on-the-fly pose-synthesis loader
// (skipped without the canonical face mesh of scripts/fetch-face-mesh.sh).
#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "support.hpp"
#include "tsgan/data/landmarks_file.hpp"
#include "tsgan/data/lfw.hpp"
#include "tsgan/data/loader.hpp"
#include "tsgan/data/multipie.hpp"
#include "tsgan/data/occlusion.hpp"
#include "tsgan/render/canonical_mesh.hpp"

using namespace tsgan;
namespace mp = tsgan::data::multipie;
namespace lfw = tsgan::data::lfw;
namespace fs = std::filesystem;

namespace {

// Runs f, which must throw an Error whose message contains every part.
template <class E = Error, class F>
void check_error(F&& f, std::initializer_list<std::string> parts) {
  try {
    f();
  } catch (const E& e) {
    const std::string msg = e.what();
    INFO("message: ", msg);
    for (const auto& p : parts) CHECK_MESSAGE(msg.find(p) != std::string::npos, "missing: ", p);
    return;
  }
  FAIL("expected an error");
}

void write_text(const fs::path& path, const std::string& text) {
  test::write_bytes(path, std::vector<char>(text.begin(), text.end()));
}

}  // namespace

TEST_SUITE("data") {
  TEST_CASE("multipie: crop names") {
    const auto n = mp::parse_crop_name("001_01_01_051_07_cropped.png");
    CHECK(n.subject == 1);
    CHECK(n.session == 1);
    CHECK(n.recording == 1);
    CHECK(n.camera == 51);
    CHECK(n.illumination == 7);
    CHECK(n.yaw() == 0);
    CHECK(n.stem() == "001_01_01_051_07");
    CHECK(mp::parse_crop_name("346_04_02_240_19.png").yaw() == 90);
    CHECK(mp::parse_crop_name("201_02_03_110_00-x.PNG").yaw() == -90);
    CHECK_FALSE(mp::parse_crop_name("010_01_01_081_00.png").yaw().has_value());  // elevated camera
    // The table of the method document, in order from -90 to +90.
    const int codes[] = {110, 120, 90, 80, 130, 140, 51, 50, 41, 190, 200, 10, 240};
    for (int i = 0; i < 13; ++i) CHECK(mp::yaw_of(codes[i]) == -90 + 15 * i);
    CHECK(mp::is_neutral(1, 1));
    CHECK_FALSE(mp::is_neutral(1, 2));
    CHECK(mp::is_neutral(4, 2));
    CHECK_FALSE(mp::is_neutral(4, 3));

    const std::string what = "is not a Multi-PIE crop name (SSS_ss_rr_CCC_II*.png): ";
    check_error([] { mp::parse_crop_name("001_01_01_051_07.jpg"); }, {"'001_01_01_051_07.jpg' " + what, "does not end in .png"});
    check_error([] { mp::parse_crop_name("01_01_01_051_07.png"); }, {"the subject must be 3 digits at characters 1-3, found '01_'"});
    check_error([] { mp::parse_crop_name("001-01_01_051_07.png"); }, {"expected '_' before the session at character 4"});
    check_error([] { mp::parse_crop_name("0a1_01_01_051_07.png"); }, {"the subject must be 3 digits at characters 1-3, found '0a1'"});
    check_error([] { mp::parse_crop_name("001_01_01_05_1_07.png"); }, {"the camera must be 3 digits at characters 11-13, found '05_'"});
    check_error([] { mp::parse_crop_name("001_01_01_051.png"); }, {"expected '_' before the illumination at character 14"});
    check_error([] { mp::parse_crop_name("001_01_01_051_7.png"); }, {"the illumination must be 2 digits at characters 15-16, found '7'"});
    check_error([] { mp::parse_crop_name("001_01_01_051_071.png"); }, {"the illumination must be 2 digits, found '071'"});
    check_error([] { mp::parse_crop_name("347_01_01_051_07.png"); }, {"subject 347 is outside Multi-PIE's 001-346"});
    check_error([] { mp::parse_crop_name("000_01_01_051_07.png"); }, {"subject 000"});
    check_error([] { mp::parse_crop_name("001_05_01_051_07.png"); }, {"session 05 is outside 01-04"});
    check_error([] { mp::parse_crop_name("001_01_04_051_07.png"); }, {"recording 04 is outside 01-03"});
    check_error([] { mp::parse_crop_name("001_01_01_052_07.png"); }, {"camera 052 is not a Multi-PIE camera"});
    check_error([] { mp::parse_crop_name("001_01_01_051_20.png"); }, {"illumination 20 is outside 00-19"});
  }

  TEST_CASE("multipie: Setting 2 split, gallery and training pairs") {
    // Train subject 001 and test subjects 201, 202, 203:
    std::vector<fs::path> files = {
        "d/001_01_01_051_07.png", "d/001_01_01_080_07.png",  // a pair (-45°)
        "d/001_01_01_190_03.png",                            // no frontal target at illumination 03
        "d/001_01_01_051_03.png.txt",                        // not a .png name: reported
        "d/001_01_02_080_07.png",                            // smile (session 1, recording 2): not neutral
        "d/001_04_02_190_07.png", "d/001_04_02_051_07.png",  // session 4's second neutral recording: a pair
        "d/001_01_01_081_07.png",                            // elevated camera: not in Setting 2
        "d/201_02_01_051_07.png", "d/201_01_01_051_07.png",  // gallery: session 01 (the earliest)
        "d/201_01_01_051_00.png", "d/201_01_01_240_07.png",  // probes
        "d/202_01_01_130_07.png",                            // 202 has no frontal crop at 07
        "d/203_03_01_051_07_a.png", "e/203_03_01_051_07_b.png",  // the same shot twice
    };
    mp::Setting2 s(files);
    // Train: 5 neutral crops at yaw cameras of subject 001.
    std::set<std::string> train;
    for (const auto& c : s.train()) train.insert(c.name.stem());
    CHECK(train == std::set<std::string>{"001_01_01_051_07", "001_01_01_080_07", "001_01_01_190_03", "001_04_02_190_07",
                                         "001_04_02_051_07"});
    CHECK(s.excluded() == 2);  // the smile and the elevated camera
    REQUIRE(s.gallery().size() == 2);
    CHECK(s.gallery()[0].path == "d/201_01_01_051_07.png");
    CHECK(s.gallery()[0].identity() == "201");
    CHECK(s.gallery()[1].name.subject == 203);
    std::vector<std::string> probes;
    for (const auto& c : s.probes()) probes.push_back(c.path.filename().string());
    // 201's other crops, including its session-2 frontal at 07; nothing of 202; 203's duplicate is dropped.
    CHECK(probes == std::vector<std::string>{"201_01_01_051_00.png", "201_01_01_240_07.png", "201_02_01_051_07.png"});
    CHECK(s.probes()[1].yaw == 90);
    std::string warnings;
    for (const auto& w : s.warnings()) warnings += w + "\n";
    INFO(warnings);
    CHECK(warnings.find("1 .png files are not Multi-PIE crop names") != std::string::npos);
    CHECK(warnings.find("'001_01_01_051_03.png.txt' is not a Multi-PIE crop name") != std::string::npos);
    CHECK(warnings.find("1 test subjects have no frontal crop (camera 051) at illumination 07") != std::string::npos);
    CHECK(warnings.find(": 202") != std::string::npos);
    CHECK(warnings.find("are the same shot (203_03_01_051_07)") != std::string::npos);

    std::vector<std::string> w;
    const auto pairs = s.training_pairs(w);
    // Every train crop with a target, the frontal ones included: 3 at illumination 07.
    REQUIRE(pairs.size() == 4);
    std::set<std::pair<std::string, std::string>> got;
    for (const auto& p : pairs) {
      got.emplace(p.input.filename().string(), p.target.filename().string());
      CHECK(p.identity == 1);
      CHECK_FALSE(p.mirror);
    }
    CHECK(got == std::set<std::pair<std::string, std::string>>{{"001_01_01_051_07.png", "001_01_01_051_07.png"},
                                                             {"001_01_01_080_07.png", "001_01_01_051_07.png"},
                                                             {"001_04_02_051_07.png", "001_04_02_051_07.png"},
                                                             {"001_04_02_190_07.png", "001_04_02_051_07.png"}});
    REQUIRE(w.size() == 1);
    CHECK(w[0].find("1 training crops have no frontal target") != std::string::npos);
    CHECK(w[0].find("001_01_01_190_03.png") != std::string::npos);

    // Switches: no frontal inputs; mirrored negative yaws; another gallery illumination.
    mp::Options o;
    o.frontal_inputs = false;
    o.mirror_negative_yaw = true;
    o.gallery_illumination = 0;
    mp::Setting2 t(files, o);
    w.clear();
    const auto q = t.training_pairs(w);
    REQUIRE(q.size() == 2);
    for (const auto& p : q) CHECK(p.mirror == (p.input.filename() == "001_01_01_080_07.png"));
    REQUIRE(t.gallery().size() == 1);
    CHECK(t.gallery()[0].path == "d/201_01_01_051_00.png");
    o = {};
    o.last_train_subject = 201;
    CHECK(mp::Setting2(files, o).gallery().size() == 1);  // only 203 tests now
  }

  TEST_CASE("multipie: scanning a folder") {
    test::TempDir dir;
    fs::create_directories(dir.path() / "s1");
    for (const char* name : {"s1/001_01_01_051_07.png", "s1/002_01_01_051_07.png", "201_01_01_051_07.png", "notes.txt"})
      test::write_bytes(dir.path() / name, std::vector<unsigned char>{1});
    const auto s = mp::Setting2::scan(dir.path());
    CHECK(s.train().size() == 2);
    CHECK(s.gallery().size() == 1);
    CHECK(s.warnings().empty());
    test::check_io_error([&] { mp::Setting2::scan(dir.path() / "missing"); }, dir.path() / "missing", {"not a folder"});
    test::TempDir empty;
    test::write_bytes(empty.path() / "x.png", std::vector<unsigned char>{1});
    test::check_io_error([&] { mp::Setting2::scan(empty.path()); }, empty.path(), {"no Multi-PIE crop of Setting 2 here (1 files"});
  }

  TEST_CASE("face folders: a plain folder of photos, or its index.csv when it has one") {
    test::TempDir dir;
    fs::create_directories(dir.path() / "bob" / "2019");
    fs::create_directories(dir.path() / "ann");
    for (const char* name : {"ann/b.JPG", "ann/a.png", "bob/2019/x.pgm", "zed.jpeg", "notes.txt", "ann/readme.md"})
      test::write_bytes(dir.path() / name, std::vector<unsigned char>{1});
    const auto index = data::FaceIndex::photos(dir.path());
    // In path order; a person is the top folder, or the file's name at the top; no pose.
    std::vector<std::pair<std::string, std::string>> got;
    for (const auto& r : index.records()) got.emplace_back(fs::relative(r.path, dir.path()).generic_string(), r.identity + "|" + r.pose);
    const std::vector<std::pair<std::string, std::string>> want{
        {"ann/a.png", "ann|"}, {"ann/b.JPG", "ann|"}, {"bob/2019/x.pgm", "bob|"}, {"zed.jpeg", "zed|"}};
    CHECK(got == want);
    CHECK(index.identities() == std::vector<std::string>{"ann", "bob", "zed"});
    CHECK(index.pose_sources().size() == 4);  // no image is marked frontal: all are photos to turn
    // With an index.csv the folder is read as a face folder, whatever else lies in it.
    write_text(dir / "index.csv", "path,identity,pose\nzed.jpeg,z,forward\n");
    const auto listed = data::FaceIndex::photos(dir.path());
    REQUIRE(listed.records().size() == 1);
    CHECK(listed.records()[0].identity == "z");
    write_text(dir / "index.csv", "path,identity,pose\nann/a.png,ann,left\nann/b.JPG,ann,frontal\nzed.jpeg,zed,\nbob/2019/x.pgm,bob,0\n");
    const auto posed = data::FaceIndex::photos(dir.path());
    const auto sources = posed.pose_sources();  // the frontal rows only
    REQUIRE(sources.size() == 2);
    CHECK(sources[0]->path == dir / "ann/b.JPG");
    CHECK(sources[1]->path == dir / "bob/2019/x.pgm");
    test::check_io_error([&] { data::FaceIndex::photos(dir.path() / "missing"); }, dir.path() / "missing", {"not a folder"});
    test::TempDir empty;
    test::write_bytes(empty.path() / "notes.txt", std::vector<unsigned char>{1});
    test::check_io_error([&] { data::FaceIndex::photos(empty.path()); }, empty.path(), {"no index.csv and no image"});
  }

  TEST_CASE("lfw: pairs.txt, hand-written") {
    // 2 folds of 2 matched and 2 mismatched pairs; tabs and spaces; a trailing blank line.
    const std::string text =
        "2\t2\n"
        "Ann\t1\t2\n"
        "Bob 3 4\n"
        "Ann\t1\tBob\t2\n"
        "Cid 1 Dee 1\r\n"
        "Eve\t1\t3\n"
        "Fay\t2\t5\n"
        "Eve\t2\tFay\t1\n"
        "Gus\t1\tHal\t12\n"
        "\n";
    const auto f = lfw::parse_pairs(text, "mine.txt");
    CHECK(f.folds == 2);
    CHECK(f.per_fold == 2);
    REQUIRE(f.pairs.size() == 8);
    CHECK(f.pairs[0].first_name == "Ann");
    CHECK(f.pairs[0].second_name == "Ann");
    CHECK(f.pairs[0].second_number == 2);
    CHECK(f.pairs[0].same);
    CHECK(f.pairs[0].fold == 1);
    CHECK(f.pairs[0].line == 2);
    CHECK(f.pairs[3].second_name == "Dee");
    CHECK_FALSE(f.pairs[3].same);
    CHECK(f.pairs[4].fold == 2);
    CHECK(f.pairs[4].same);
    CHECK(f.pairs[7].second_number == 12);
    CHECK_FALSE(f.pairs[7].same);
    // select: the first matched and first mismatched pair of each fold.
    const auto some = lfw::select(f, 2, 1);
    REQUIRE(some.size() == 4);
    CHECK(some[0].first_name == "Ann");
    CHECK(some[1].first_name == "Ann");
    CHECK_FALSE(some[1].same);
    CHECK(some[2].first_name == "Eve");
    CHECK(some[3].second_name == "Fay");
    CHECK(lfw::select(f, 1, 0).size() == 4);
    CHECK(lfw::select(f, 2, 9).size() == 8);
    check_error([&] { lfw::select(f, 3, 1); }, {"asked for 3 LFW folds; the file has 2"});
    CHECK(lfw::image_path("/x", "Ann", 12) == fs::path("/x/images/Ann/Ann_0012.jpg"));

    check_error<IoError>([] { lfw::parse_pairs("", "p.txt"); }, {"p.txt: empty file"});
    // A header that announces 2^63 pairs: an IoError about the missing lines, not an unbounded reservation.
    check_error<IoError>([] { lfw::parse_pairs("2147483647 2147483647\nA 1 2\n", "p.txt"); }, {"p.txt"});
    check_error<IoError>([] { lfw::parse_pairs("10\n", "p.txt"); }, {"p.txt:1: expected 'folds pairs-per-fold'", "found '10'"});
    check_error<IoError>([] { lfw::parse_pairs("1 1\nA 1 2\n", "p.txt"); },
                         {"p.txt: ends after line 2; the first line announces 1 folds of 1 matched and 1 mismatched pairs (3 lines)"});
    check_error<IoError>([] { lfw::parse_pairs("1 1\nA 1 2\nA 1 B 2\nC 1 2\n", "p.txt"); },
                         {"p.txt:4: unexpected line after the last pair of fold 1 ('C 1 2')"});
    check_error<IoError>([] { lfw::parse_pairs("1 1\nA 1\nA 1 B 2\n", "p.txt"); },
                         {"p.txt:2: expected a matched pair 'name i j' of fold 1, found 2 fields: 'A 1'"});
    check_error<IoError>([] { lfw::parse_pairs("1 1\nA 1 2\nA 1 2\n", "p.txt"); },
                         {"p.txt:3: expected a mismatched pair 'name1 i name2 j' of fold 1, found 3 fields"});
    check_error<IoError>([] { lfw::parse_pairs("1 1\nA 1 x\nA 1 B 2\n", "p.txt"); },
                         {"p.txt:2: the second image number must be a positive integer, found 'x' in 'A 1 x'"});
    check_error<IoError>([] { lfw::parse_pairs("1 1\nA 1 2\n\nA 1 B 2\n", "p.txt"); },
                         {"p.txt:3: expected a mismatched pair", "found 0 fields"});
    check_error<IoError>([] { lfw::parse_pairs("1 1\nA 1 2\nA 1 B 0\n", "p.txt"); },
                         {"p.txt:3: the second image number must be a positive integer, found '0'"});
    test::TempDir dir;
    test::check_io_error([&] { lfw::read_pairs(dir / "none.txt"); }, dir / "none.txt", {"cannot open"});
  }

  TEST_CASE("lfw: the shared View 2 pairs.txt") {
    const fs::path file = test::shared_data() / "faces" / "lfw-deepfunneled-view2" / "pairs.txt";
    if (!fs::exists(file)) {
      MESSAGE("skipped: no LFW pairs.txt at ", file.string(), " (set TSGAN_SHARED_DATA)");
      return;
    }
    const auto f = lfw::read_pairs(file);
    CHECK(f.folds == 10);
    CHECK(f.per_fold == 300);
    REQUIRE(f.pairs.size() == 6000);
    int same = 0;
    std::set<int> folds;
    for (const auto& p : f.pairs) {
      same += p.same;
      folds.insert(p.fold);
      if (p.same) CHECK(p.first_name == p.second_name);
    }
    CHECK(same == 3000);
    CHECK(folds.size() == 10);
    // The first lines of the file: "Abel_Pacheco 1 4" and, at line 302, the first mismatched pair.
    CHECK(f.pairs[0].first_name == "Abel_Pacheco");
    CHECK(f.pairs[0].second_number == 4);
    CHECK(f.pairs[300].line == 302);
    CHECK(f.pairs[300].first_name == "Abdel_Madi_Shabneh");
    CHECK(f.pairs[300].second_name == "Dean_Barker");
    CHECK(f.pairs[5999].fold == 10);
    // Every image of the first fold exists.
    const fs::path root = file.parent_path();
    for (const auto& p : lfw::select(f, 1, 0)) {
      CHECK(fs::exists(lfw::image_path(root, p.first_name, p.first_number)));
      CHECK(fs::exists(lfw::image_path(root, p.second_name, p.second_number)));
    }
  }

  TEST_CASE("occlusion: keypoint rectangles are width x height as in TP-GAN, centred on the landmarks") {
    // The bounding box of each mask on a 128 crop: eyes 40 x 40, nose 40 wide x 32 tall, mouth 48 x 32.
    const data::Landmarks lm = data::mean_landmarks(128);
    struct Case { data::Occlusion kind; index_t w, h; double cx, cy; };
    for (const Case c : {Case{data::Occlusion::left_eye, 40, 40, lm[0].x, lm[0].y}, Case{data::Occlusion::nose, 40, 32, lm[2].x, lm[2].y},
                         Case{data::Occlusion::mouth, 48, 32, (lm[3].x + lm[4].x) / 2, (lm[3].y + lm[4].y) / 2}}) {
      CAPTURE(std::string(data::to_string(c.kind)));
      std::vector<float> mask(128 * 128);
      data::MaskCanvas canvas(mask.data(), 128, 128);
      random::Generator gen(1);
      data::draw_occlusion(canvas, c.kind, lm, gen);
      index_t x0 = 128, x1 = 0, y0 = 128, y1 = 0;
      for (index_t y = 0; y < 128; ++y)
        for (index_t x = 0; x < 128; ++x)
          if (mask[y * 128 + x] != 0.f) x0 = std::min(x0, x), x1 = std::max(x1, x + 1), y0 = std::min(y0, y), y1 = std::max(y1, y + 1);
      CHECK(x1 - x0 == c.w);
      CHECK(y1 - y0 == c.h);
      CHECK(std::abs((x0 + x1) / 2.0 - c.cx) <= 1.0);
      CHECK(std::abs((y0 + y1) / 2.0 - c.cy) <= 1.0);
    }
  }

  TEST_CASE("loader: explicit file pairs, preloaded or read per batch, give the same batches") {
    using C = config::Tiny;
    test::TempDir dir;
    // Four 8x8 images of distinct constant colours.
    std::vector<fs::path> files;
    for (int i = 0; i < 4; ++i) {
      files.push_back(dir / fmt::format("{}.png", i));
      io::write_png(files.back(), io::Image(8, 8, 3, static_cast<std::uint8_t>(40 * (i + 1))));
    }
    const std::vector<data::ImagePair> pairs{{files[1], files[0], 1, false, std::nullopt}, {files[3], files[2], 2, true, std::nullopt},
                                             {dir / "missing.png", files[0], 3, false, std::nullopt}};
    data::LoaderOptions lazy;
    lazy.preload = false;
    const data::PairLoader<C> a(pairs), b(pairs, lazy);
    CHECK(a.size() == 2);
    CHECK(b.size() == 2);
    REQUIRE(a.warnings().size() == 1);
    CHECK(a.warnings()[0].find("missing.png") != std::string::npos);
    REQUIRE(b.warnings().size() == 1);
    CHECK(b.warnings()[0].find("skipped a missing image") != std::string::npos);
    random::Generator ga(3), gb(3);
    for (int k = 0; k < 3; ++k) {
      const auto x = a.next(ga), y = b.next(gb);
      CHECK(std::equal(x.profile.data(), x.profile.data() + x.profile.size, y.profile.data()));
      CHECK(std::equal(x.mask.data(), x.mask.data() + x.mask.size, y.mask.data()));
      CHECK(x.identity == y.identity);
      for (index_t i = 0; i < C::batch; ++i)  // the target of identity 1 is image 0, of 2 image 2
        CHECK(x.frontal(i, 0, 0, 0) == doctest::Approx((x.identity[static_cast<std::size_t>(i)] == 1 ? 40 : 120) / 255.0));
    }
    // A file that disappears is an error naming it when a batch needs it (only without preloading).
    fs::remove(files[3]);
    random::Generator gc(3);
    bool threw = false;
    for (int k = 0; k < 8 && !threw; ++k) {
      try {
        (void)b.next(gc);
      } catch (const IoError& e) {
        threw = true;
        CHECK(std::string(e.what()).find("3.png") != std::string::npos);
      }
    }
    CHECK(threw);
  }

  TEST_CASE("landmarks.jsonl: lines round-trip, and each malformed line is an error naming the file and line") {
    data::LandmarksEntry e;
    e.file = "in \"q\"/a.jpg";
    e.box = std::array<double, 4>{1.5, 2, 30.25, 40};
    e.score = 0.875;
    align::Landmarks68 shape;
    for (std::size_t i = 0; i < 68; ++i) shape[i] = {0.1 * double(i), 100.0 / double(i + 1)};
    e.landmarks = shape;
    e.aligned = "out/a.png";
    const std::string line = data::write_landmarks_line(e);
    CHECK(line.starts_with(R"({"file":"in \"q\"/a.jpg","box":[1.5,2.0,30.25,40.0],"score":0.875,"landmarks":[[0.0,100.0],)"));
    CHECK(line.ends_with(R"(,"aligned":"out/a.png"})"));
    const data::LandmarksEntry back = data::parse_landmarks_line(line, "x.jsonl", 1);
    CHECK(back.file == e.file);
    CHECK(*back.box == *e.box);
    CHECK(*back.score == 0.875);
    CHECK(*back.landmarks == shape);
    CHECK(*back.aligned == "out/a.png");
    const data::LandmarksEntry none{"b.png", {}, {}, {}, {}};
    CHECK(data::write_landmarks_line(none) == R"({"file":"b.png","box":null,"score":null,"landmarks":null,"aligned":null})");
    CHECK(!data::parse_landmarks_line(data::write_landmarks_line(none), "x", 1).landmarks);

    test::TempDir dir;
    auto bad = [&](const std::string& text, std::initializer_list<std::string> parts) {
      write_text(dir / "landmarks.jsonl", data::write_landmarks_line(none) + "\n" + text + "\n");
      check_error<IoError>([&] { data::read_landmarks_file(dir / "landmarks.jsonl"); }, parts);
    };
    bad("{nope", {"landmarks.jsonl:2:", "not a JSON object"});
    bad(R"({"file":"a","box":null,"score":null,"aligned":null})", {":2:", "\"landmarks\" is missing"});
    bad(R"({"file":"a","box":[1,2,3],"score":null,"landmarks":null,"aligned":null})", {":2:", "[x, y, w, h]"});
    bad(R"({"file":"a","box":null,"score":"high","landmarks":null,"aligned":null})", {":2:", "\"score\" must be a number"});
    bad(R"({"file":"a","box":null,"score":null,"landmarks":[[1,2]],"aligned":null})", {":2:", "68 [x, y] pairs", "1 entries"});
    bad(R"({"file":"","box":null,"score":null,"landmarks":null,"aligned":null})", {":2:", "non-empty string"});
    // Regression (found by reading the loader after fuzzing safetensors): a box nested 200 000
    // deep crashed the error message, which printed it recursively.
    const std::size_t deep = 200'000;
    bad(R"({"file":"a","box":)" + std::string(deep, '[') + std::string(deep, ']') +
            R"(,"score":null,"landmarks":null,"aligned":null})",
        {":2:", "\"box\" must be [x, y, w, h] or null, found an array with 1 entries"});
    check_error<IoError>([&] { data::read_landmarks_file(dir / "absent.jsonl"); }, {"absent.jsonl", "cannot read"});
  }

  TEST_CASE("loader: keypoint occlusions sit on each image's own landmarks from the folder's landmarks.jsonl") {
    using C = config::Tiny;  // 32 x 32: an eye box is 10 x 10
    test::TempDir dir;
    for (const char* name : {"a_front.png", "a_left.png", "b_front.png", "b_left.png"})
      io::write_png(dir / name, io::Image(64, 48, 3, 90));
    write_text(dir / "index.csv", "path,identity,pose\na_front.png,a,forward\na_left.png,a,left\nb_front.png,b,forward\nb_left.png,b,left\n");
    // a_left: the image-left eye at (40, 30), the other at (50, 20) (pixels of the 64 x 48 image);
    // b_left is listed without a face.
    align::Landmarks68 shape;
    shape.fill({5, 5});
    for (std::size_t i = 36; i < 42; ++i) shape[i] = {40, 30};
    for (std::size_t i = 42; i < 48; ++i) shape[i] = {50, 20};
    write_text(dir / "landmarks.jsonl",
                     data::write_landmarks_line({"a_left.png", {}, {}, shape, {}}) + "\n" +
                         data::write_landmarks_line({"b_left.png", {}, {}, {}, {}}) + "\n");
    const auto index = data::FaceIndex::read(dir.path());
    REQUIRE(index.records()[1].landmarks);
    CHECK((*index.records()[1].landmarks)[0] == align::Point{40, 30});
    CHECK(!index.records()[3].landmarks);
    REQUIRE(index.warnings().size() == 1);
    CHECK(index.warnings()[0].find("3 of the 4 images have no landmarks") != std::string::npos);

    std::vector<std::string> warnings;
    const auto pairs = index.pairs(warnings);
    // The left-eye box's centre in each item's mask.
    auto centres = [&](bool mirror) {
      data::LoaderOptions options;
      options.occlusions = {data::Occlusion::left_eye};
      options.mirror_left = mirror;
      const data::PairLoader<C> loader(index, pairs, options);
      random::Generator gen(3);
      std::map<std::int64_t, std::pair<double, double>> out;
      for (int draw = 0; draw < 4; ++draw) {
        const auto batch = loader.next(gen);
        for (index_t b = 0; b < C::batch; ++b) {
          double x0 = 32, x1 = 0, y0 = 32, y1 = 0;
          for (index_t y = 0; y < 32; ++y)
            for (index_t x = 0; x < 32; ++x)
              if (batch.mask(b, 0, y, x) != 0.f) x0 = std::min<double>(x0, x), x1 = std::max<double>(x1, x + 1), y0 = std::min<double>(y0, y), y1 = std::max<double>(y1, y + 1);
          out[batch.identity[static_cast<std::size_t>(b)]] = {(x0 + x1) / 2, (y0 + y1) / 2};
        }
      }
      return out;
    };
    const data::Landmarks mean = data::mean_landmarks(32);
    auto plain = centres(false);
    REQUIRE(plain.size() == 2);
    CHECK(std::abs(plain[0].first - 40 * 0.5) <= 0.5);  // 64 -> 32
    CHECK(std::abs(plain[0].second - 30 * 32.0 / 48) <= 0.5);  // 48 -> 32
    CHECK(std::abs(plain[1].first - mean[0].x) <= 0.5);
    CHECK(std::abs(plain[1].second - mean[0].y) <= 0.5);
    // Mirrored, the image-left eye is the other eye: x = 32 - 50/2, y = 20 · 32/48.
    auto mirrored = centres(true);
    CHECK(std::abs(mirrored[0].first - 7) <= 0.5);
    CHECK(std::abs(mirrored[0].second - 20 * 32.0 / 48) <= 0.5);
  }

  TEST_CASE("loader: pose synthesis on the fly: same seed, same batch; yaws from the requested set; each item is PoseSynthesizer's pair, with the head mesh too") {
    using C = config::Tiny;  // 32 x 32
    const auto file = render::find_canonical_mesh();
    if (!file) {
      MESSAGE("skipped: no canonical face mesh (run scripts/fetch-face-mesh.sh or set TSGAN_MODELS_DIR)");
      return;
    }
    const render::CanonicalMesh mesh = render::read_canonical_mesh(*file);
    test::TempDir dir;
    // Two people, each a photo with its own pattern; c's photo does not fit; a_left is not a source.
    const int w = 160, h = 180;
    std::map<std::string, io::Image> photos;
    for (const auto& [name, phase] : {std::pair{"a_front.png", 0.0}, std::pair{"b_front.png", 1.7}, std::pair{"c_front.png", 0.5}}) {
      io::Image im(w, h, 3);
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
          for (int c = 0; c < 3; ++c)
            im.at(y, x, c) = static_cast<std::uint8_t>(128 + 100 * std::sin(0.17 * x + 0.11 * y * (c + 1) + phase));
      io::write_png(dir / name, im);
      photos[name] = im;
    }
    io::write_png(dir / "a_left.png", io::Image(w, h, 3, 7));
    write_text(dir / "index.csv", "path,identity,pose\na_front.png,a,forward\na_left.png,a,left\nb_front.png,b,forward\nc_front.png,c,forward\n");
    // The canonical face, 7 px per cm, in the middle of the photo (FaceMesh's axes: y down, z away).
    std::vector<render::Vec3> face;
    for (const render::Vec3& v : mesh.vertices) face.push_back({(w - 1) / 2.0 + 7 * v.x, h / 2.0 - 7 * v.y, -7 * v.z});
    int fits = 0;
    const auto fitter = [&](const io::Image& photo) -> std::optional<std::vector<render::Vec3>> {
      ++fits;
      if (photo.at(0, 0, 0) == photos["c_front.png"].at(0, 0, 0) && photo.at(5, 9, 1) == photos["c_front.png"].at(5, 9, 1)) return std::nullopt;
      return face;
    };
    data::PoseSynthesisOptions options;
    options.yaws = {30, 60};
    options.occlusions = {data::Occlusion::left_eye};
    const data::PoseSynthesisLoader<C> loader(data::FaceIndex::read(dir.path()), fitter, mesh.triangles, options);
    CHECK(fits == 3);  // each frontal photo once, the left one never
    CHECK(loader.size() == 2);
    REQUIRE(loader.warnings().size() == 1);
    CHECK(loader.warnings()[0].find("c_front.png: no face fitted") != std::string::npos);

    const data::PoseSynthesizer synth(mesh.triangles);
    random::Generator g1(11), g2(11);
    std::set<double> seen;
    for (int k = 0; k < 4; ++k) {
      std::array<double, C::batch> y1{}, y2{};
      const auto x = loader.next(g1, &y1), y = loader.next(g2, &y2);
      CHECK(std::equal(x.profile.data(), x.profile.data() + x.profile.size, y.profile.data()));
      CHECK(std::equal(x.frontal.data(), x.frontal.data() + x.frontal.size, y.frontal.data()));
      CHECK(std::equal(x.mask.data(), x.mask.data() + x.mask.size, y.mask.data()));
      CHECK(x.identity == y.identity);
      CHECK(y1 == y2);
      CHECK(fits == 3);  // nothing is fitted again
      for (index_t b = 0; b < C::batch; ++b) {
        const double yaw = y1[static_cast<std::size_t>(b)];
        seen.insert(yaw);
        CHECK((std::abs(yaw) == 30 || std::abs(yaw) == 60));
        // The item is the pair PoseSynthesizer makes of that person's photo at that yaw, and the
        // occlusion sits on the rendered face's left eye.
        const auto id = x.identity[static_cast<std::size_t>(b)];
        REQUIRE((id == 0 || id == 1));
        const data::PosePair want = synth.make(photos[id == 0 ? "a_front.png" : "b_front.png"], face, yaw, data::PoseMode::profile, 32);
        double worst = 0;
        for (index_t c = 0; c < 3; ++c)
          for (index_t yy = 0; yy < 32; ++yy)
            for (index_t xx = 0; xx < 32; ++xx) {
              worst = std::max(worst, std::abs(double(x.profile(b, c, yy, xx)) - want.input.at(int(yy), int(xx), int(c)) / 255.0));
              worst = std::max(worst, std::abs(double(x.frontal(b, c, yy, xx)) - want.target.at(int(yy), int(xx), int(c)) / 255.0));
            }
        CHECK(worst < 1e-6);
        double x0 = 32, x1 = 0, y0 = 32, y1m = 0;
        for (index_t yy = 0; yy < 32; ++yy)
          for (index_t xx = 0; xx < 32; ++xx)
            if (x.mask(b, 0, yy, xx) != 0.f)
              x0 = std::min<double>(x0, xx), x1 = std::max<double>(x1, xx + 1), y0 = std::min<double>(y0, yy), y1m = std::max<double>(y1m, yy + 1);
        CHECK(std::abs((x0 + x1) / 2 - want.input_points[0].x) <= 0.5);
        CHECK(std::abs((y0 + y1m) / 2 - want.input_points[0].y) <= 0.5);
      }
    }
    CHECK(seen.size() == 4);  // ±30 and ±60 all drawn
    random::Generator g3(12);
    std::array<double, C::batch> y3{};
    const auto z = loader.next(g3, &y3);
    random::Generator g4(11);
    const auto first = loader.next(g4);
    CHECK(!std::equal(z.profile.data(), z.profile.data() + z.profile.size, first.profile.data()));

    // Given the head mesh's synthesizer (tsgan-make-pairs --head), each item is that
    // synthesizer's pair, which turns the hair and outline too and so is not the face-only pair.
    const data::PoseSynthesizer head(render::HeadMesh{mesh});
    const data::PoseSynthesisLoader<C> head_loader(data::FaceIndex::read(dir.path()), fitter, head, options);
    random::Generator g5(11);
    std::array<double, C::batch> y5{};
    const auto with_head = head_loader.next(g5, &y5);
    for (index_t b = 0; b < C::batch; ++b) {
      const double yaw = y5[static_cast<std::size_t>(b)];
      const io::Image& photo = photos[with_head.identity[static_cast<std::size_t>(b)] == 0 ? "a_front.png" : "b_front.png"];
      const data::PosePair want = head.make(photo, face, yaw, data::PoseMode::profile, 32);
      const data::PosePair face_only = synth.make(photo, face, yaw, data::PoseMode::profile, 32);
      double worst = 0, from_face_only = 0;
      for (index_t c = 0; c < 3; ++c)
        for (index_t yy = 0; yy < 32; ++yy)
          for (index_t xx = 0; xx < 32; ++xx) {
            const double got = with_head.profile(b, c, yy, xx);
            worst = std::max(worst, std::abs(got - want.input.at(int(yy), int(xx), int(c)) / 255.0));
            from_face_only += std::abs(got - face_only.input.at(int(yy), int(xx), int(c)) / 255.0) / (3 * 32 * 32);
          }
      CHECK(worst < 1e-6);
      CHECK(from_face_only > 0.02);  // the head turned: a mean difference of 5 levels or more
    }
  }
}
