#include "tsgan/io/tfjs_weights.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <unistd.h>
#include <vector>

#include "support.hpp"
#include "tsgan/io/model_path.hpp"

using namespace tsgan;
using namespace tsgan::io;
namespace fs = std::filesystem;

namespace {

using Bytes = std::vector<unsigned char>;

// A private folder for one test's manifest and .bin files, removed afterwards.
class Scratch {
 public:
  Scratch() {
    static int counter = 0;
    dir_ = fs::temp_directory_path() / fmt::format("tsgan-tfjs-{}-{}", ::getpid(), counter++);
    fs::create_directories(dir_);
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  const fs::path& dir() const { return dir_; }
  fs::path write(const std::string& name, const std::string& text) const {
    std::ofstream(dir_ / name, std::ios::binary) << text;
    return dir_ / name;
  }
  fs::path write(const std::string& name, const Bytes& bytes) const {
    std::ofstream(dir_ / name, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    return dir_ / name;
  }

 private:
  fs::path dir_;
};

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// The message of the IoError that loading `manifest` throws (fails the test if none is thrown).
std::string load_error(const fs::path& manifest) {
  try {
    tfjs::WeightsFile w(manifest);
  } catch (const IoError& e) {
    return e.what();
  }
  FAIL("loading ", manifest.string(), " did not throw an IoError");
  return {};
}

void check_mentions(const std::string& message, const std::vector<std::string>& parts) {
  for (const std::string& p : parts) {
    INFO("message: ", message);
    CHECK_MESSAGE(message.find(p) != std::string::npos, "missing '", p, "'");
  }
}

// ---- a synthetic model: every storage kind, two files in group 0, a second group -------------
//
// Group 0 ("a.bin" + "b.bin", split inside tensor u16):
//   u8   [2,3]  float32 uint8  scale 0.5 min -1   q = 0 1 2 3 254 255    -> -1 -0.5 0 0.5 126 126.5
//   u16  [3]    float32 uint16 scale 0.25 min 10  q = 0 1 65535          -> 10 10.25 16393.75
//   f16  [2,2]  float32 float16 bits 3c00 c000 3555 0001                 -> 1 -2 0.333251953125 2^-24
//   f32  [2]    float32 raw    1.5f = 3fc00000, -0.1f = bdcccccd         -> 1.5 -0.1f
//   i32  [2]    int32   raw    fffffff9, 000186a0                        -> -7 100000
//   i32q [3]    int32   uint8  scale 0.5 min -1   q = 1 3 4  (-0.5, 0.5, 1.0, Math.round) -> 0 1 1
//   s    []     float32 uint8  scale 2 min 1      q = 3                  -> 7
// Group 1 ("c.bin"):
//   g2   [1]    float32 uint8  scale 1 min 0      q = 42                 -> 42
const char* const synthetic_manifest = R"([
  {"paths": ["a.bin", "b.bin"], "weights": [
    {"name": "u8", "shape": [2, 3], "dtype": "float32",
     "quantization": {"dtype": "uint8", "scale": 0.5, "min": -1}},
    {"name": "u16", "shape": [3], "dtype": "float32",
     "quantization": {"dtype": "uint16", "scale": 0.25, "min": 10}},
    {"name": "f16", "shape": [2, 2], "dtype": "float32", "quantization": {"dtype": "float16"}},
    {"name": "f32", "shape": [2], "dtype": "float32"},
    {"name": "i32", "shape": [2], "dtype": "int32"},
    {"name": "i32q", "shape": [3], "dtype": "int32",
     "quantization": {"dtype": "uint8", "scale": 0.5, "min": -1}},
    {"name": "s", "shape": [], "dtype": "float32",
     "quantization": {"dtype": "uint8", "scale": 2, "min": 1}}
  ]},
  {"paths": ["c.bin"], "weights": [
    {"name": "g2", "shape": [1], "dtype": "float32",
     "quantization": {"dtype": "uint8", "scale": 1, "min": 0}}
  ]}
])";

const Bytes u8_bytes{0, 1, 2, 3, 254, 255};
const Bytes u16_bytes{0x00, 0x00, 0x01, 0x00, 0xff, 0xff};
const Bytes f16_bytes{0x00, 0x3c, 0x00, 0xc0, 0x55, 0x35, 0x01, 0x00};
const Bytes f32_bytes{0x00, 0x00, 0xc0, 0x3f, 0xcd, 0xcc, 0xcc, 0xbd};
const Bytes i32_bytes{0xf9, 0xff, 0xff, 0xff, 0xa0, 0x86, 0x01, 0x00};
const Bytes i32q_bytes{1, 3, 4};
const Bytes s_bytes{3};

void write_synthetic(const Scratch& s) {
  const Bytes group0 = cat({u8_bytes, u16_bytes, f16_bytes, f32_bytes, i32_bytes, i32q_bytes, s_bytes});
  s.write("a.bin", Bytes(group0.begin(), group0.begin() + 8));  // ends inside u16
  s.write("b.bin", Bytes(group0.begin() + 8, group0.end()));
  s.write("c.bin", Bytes{42});
}

// One group, one .bin, the given specs (a JSON array body) and bytes.
fs::path one_group(const Scratch& s, const std::string& weights, const Bytes& bin) {
  s.write("m.bin", bin);
  return s.write("m.json", R"([{"paths": ["m.bin"], "weights": [)" + weights + "]}]");
}

const std::string u8_spec =
    R"({"name": "w", "shape": [2], "dtype": "float32", "quantization": {"dtype": "uint8", "scale": 1, "min": 0}})";

}  // namespace

TEST_SUITE("io.tfjs") {
  TEST_CASE("a synthetic manifest: order, offsets and every storage kind, values computed by hand") {
    Scratch s;
    write_synthetic(s);
    const tfjs::WeightsFile w(s.write("model-weights_manifest.json", synthetic_manifest));

    CHECK(w.names() == std::vector<std::string>{"u8", "u16", "f16", "f32", "i32", "i32q", "s", "g2"});
    CHECK(w.size() == 8);
    CHECK(w.total_bytes() == 40 + 1);  // 6 + 6 + 8 + 8 + 8 + 3 + 1, and g2
    CHECK(w.contains("f16"));
    CHECK_FALSE(w.contains("nope"));

    const tfjs::WeightSpec& u16 = w.spec("u16");
    CHECK(u16.shape == std::vector<index_t>{3});
    CHECK(u16.dtype == tfjs::DType::float32);
    CHECK(u16.quantization == tfjs::Quantization::uint16);
    CHECK(u16.scale == 0.25);
    CHECK(u16.min == 10.0);
    CHECK(u16.group == 0);
    CHECK(u16.offset == 6);
    CHECK(u16.bytes == 6);
    CHECK(w.spec("f32").offset == 20);
    CHECK(w.spec("i32").dtype == tfjs::DType::int32);
    CHECK(w.spec("i32").quantization == tfjs::Quantization::none);
    CHECK(w.spec("s").shape.empty());
    CHECK(w.spec("s").offset == 39);
    CHECK(w.spec("g2").group == 1);
    CHECK(w.spec("g2").offset == 0);

    auto u8 = w.get<Shape<2, 3>>("u8");
    const float u8_want[] = {-1.f, -0.5f, 0.f, 0.5f, 126.f, 126.5f};
    for (index_t i = 0; i < 6; ++i) CHECK(u8[i] == u8_want[i]);
    CHECK(u8(1, 2) == 126.5f);

    CHECK(w.values("u16") == std::vector<float>{10.f, 10.25f, 16393.75f});
    CHECK(w.values("f16") == std::vector<float>{1.f, -2.f, 0.333251953125f, std::ldexp(1.f, -24)});
    CHECK(w.values("f32") == std::vector<float>{1.5f, -0.1f});
    CHECK(w.values("i32") == std::vector<float>{-7.f, 100000.f});
    // Math.round sends -0.5 up to 0 (std::round would give -1).
    CHECK(w.values("i32q") == std::vector<float>{0.f, 1.f, 1.f});
    CHECK(w.values("s") == std::vector<float>{7.f});
    CHECK(w.get<Shape<1>>("g2")[0] == 42.f);
  }

  TEST_CASE("malformed manifests and weight files are IoErrors naming the manifest and the tensor") {
    Scratch s;
    const Bytes two{1, 2};
    struct Case {
      const char* what;
      std::string weights;
      Bytes bin;
      std::vector<std::string> mentions;
    };
    const Case cases[] = {
        {"missing shape", R"({"name": "w", "dtype": "float32"})", {}, {"tensor 'w'", "\"shape\""}},
        {"negative dimension", R"({"name": "w", "shape": [2, -1], "dtype": "float32"})", {},
         {"tensor 'w'", "non-negative integer"}},
        {"fractional dimension", R"({"name": "w", "shape": [1.5], "dtype": "float32"})", {},
         {"tensor 'w'", "non-negative integer"}},
        {"missing dtype", R"({"name": "w", "shape": [2]})", two, {"tensor 'w'", "\"dtype\""}},
        {"unknown dtype", R"({"name": "w", "shape": [2], "dtype": "float64"})", {},
         {"tensor 'w'", "unsupported dtype 'float64'"}},
        {"unknown quantization dtype",
         R"({"name": "w", "shape": [2], "dtype": "float32", "quantization": {"dtype": "int4", "scale": 1, "min": 0}})",
         two, {"tensor 'w'", "unknown quantization dtype 'int4'"}},
        {"quantization without scale",
         R"({"name": "w", "shape": [2], "dtype": "float32", "quantization": {"dtype": "uint8", "min": 0}})",
         two, {"tensor 'w'", "\"scale\""}},
        {"quantization without dtype",
         R"({"name": "w", "shape": [2], "dtype": "float32", "quantization": {"scale": 1, "min": 0}})",
         two, {"tensor 'w'", "\"quantization\" has no \"dtype\""}},
        {"float16 for an int32 tensor",
         R"({"name": "w", "shape": [2], "dtype": "int32", "quantization": {"dtype": "float16"}})",
         Bytes(4), {"tensor 'w'", "float16 quantization needs dtype float32"}},
        {"duplicate name", u8_spec + "," + u8_spec, Bytes(4), {"tensor 'w'", "twice"}},
        {"spec without a name", R"({"shape": [2], "dtype": "float32"})", Bytes(8),
         {"weight group 0, weight 0", "\"name\""}},
        {"short .bin", u8_spec + R"(, {"name": "v", "shape": [3], "dtype": "float32"})", Bytes(2 + 11),
         {"tensor 'v'", "short", "13 bytes", "[2, 14)"}},
        {"extra bytes", u8_spec, Bytes(3), {"tensor 'w'", "1 extra bytes"}},
    };
    for (const Case& c : cases) {
      CAPTURE(c.what);
      const fs::path m = one_group(s, c.weights, c.bin);
      check_mentions(load_error(m), c.mentions);
      check_mentions(load_error(m), {m.string()});
    }

    // Defects of the file as a whole (no tensor to name).
    const fs::path bad_json = s.write("bad.json", "[{\"paths\": [\"m.bin\"], \"weights\": [");
    check_mentions(load_error(bad_json), {bad_json.string(), "not valid JSON"});
    // A number beyond double's range is nlohmann's out_of_range, not a parse_error: an IoError all the same.
    const fs::path huge = s.write("huge.json",
        "[{\"paths\": [\"m.bin\"], \"weights\": [{\"name\": \"a\", \"shape\": [1], \"dtype\": \"float32\", "
        "\"quantization\": {\"dtype\": \"uint8\", \"scale\": 1e400, \"min\": 0}}]}]");
    check_mentions(load_error(huge), {huge.string(), "not valid JSON"});
    const fs::path object = s.write("object.json", R"({"paths": ["m.bin"], "weights": []})");
    check_mentions(load_error(object), {object.string(), "JSON array"});
    const fs::path no_paths = s.write("nopaths.json", R"([{"weights": []}])");
    check_mentions(load_error(no_paths), {no_paths.string(), "\"paths\""});
    const fs::path no_weights = s.write("noweights.json", R"([{"paths": ["m.bin"]}])");
    check_mentions(load_error(no_weights), {no_weights.string(), "\"weights\""});
    const fs::path no_bin = s.write("nobin.json", R"([{"paths": ["absent.bin"], "weights": []}])");
    check_mentions(load_error(no_bin), {no_bin.string(), "absent.bin", "cannot read", "No such file"});
    // Regression: a `paths` entry naming a folder (".") was std::bad_alloc; it is the system's reason.
    const fs::path folder = s.write("folder.json", R"([{"paths": ["."], "weights": []}])");
    check_mentions(load_error(folder), {folder.string(), "weight group 0: cannot read weights file", "Is a directory"});
    const fs::path absent = s.dir() / "absent-manifest.json";
    check_mentions(load_error(absent), {"absent-manifest.json", "cannot read the manifest"});
  }

  TEST_CASE("get checks the shape the caller asks for and names both shapes") {
    Scratch s;
    write_synthetic(s);
    const fs::path m = s.write("model-weights_manifest.json", synthetic_manifest);
    const tfjs::WeightsFile w(m);
    auto message = [&](auto&& call) -> std::string {
      try {
        call();
      } catch (const IoError& e) {
        return e.what();
      }
      return "(no error)";
    };
    check_mentions(message([&] { (void)w.get<Shape<3, 2>>("u8"); }),
                   {m.string(), "tensor 'u8'", "[2, 3] in the manifest", "[3, 2] was asked for"});
    check_mentions(message([&] { (void)w.get<Shape<6>>("u8"); }), {"[2, 3]", "[6]"});
    check_mentions(message([&] { (void)w.get<Shape<2>>("missing"); }),
                   {m.string(), "no tensor named 'missing'"});
  }

  TEST_CASE("HWIO filters become OIHW: W[o][i][y][x] = H[y][x][i][o]") {
    // H [1, 2, 2, 3] holds its own flat index, ((y*2 + x)*2 + i)*3 + o. Read in OIHW order
    // (o, i, x) that is: o=0: 0 6 3 9, o=1: 1 7 4 10, o=2: 2 8 5 11.
    Tensor<float, Shape<1, 2, 2, 3>> h;
    for (index_t k = 0; k < h.size; ++k) h[k] = static_cast<float>(k);
    const auto w = tfjs::hwio_to_oihw(h);
    static_assert(std::is_same_v<std::remove_cvref_t<decltype(w)>, Tensor<float, Shape<3, 2, 1, 2>>>);
    const float want[] = {0, 6, 3, 9, 1, 7, 4, 10, 2, 8, 5, 11};
    for (index_t k = 0; k < w.size; ++k) CHECK(w[k] == want[k]);

    // One input and one output channel: the spatial order is kept ([2, 3] rows stay rows).
    Tensor<float, Shape<2, 3, 1, 1>> g;
    for (index_t k = 0; k < g.size; ++k) g[k] = static_cast<float>(k);
    const auto v = tfjs::hwio_to_oihw(g);
    static_assert(std::is_same_v<std::remove_cvref_t<decltype(v)>, Tensor<float, Shape<1, 1, 2, 3>>>);
    for (index_t k = 0; k < v.size; ++k) CHECK(v[k] == static_cast<float>(k));
  }

  TEST_CASE("depthwise filters become grouped-conv OIHW: W[c][0][y][x] = D[y][x][c][0]") {
    // D [2, 2, 3, 1] holds (y*2 + x)*3 + c; per channel c the 2x2 window reads c, c+3, c+6, c+9.
    Tensor<float, Shape<2, 2, 3, 1>> d;
    for (index_t k = 0; k < d.size; ++k) d[k] = static_cast<float>(k);
    const auto w = tfjs::depthwise_to_oihw(d);
    static_assert(std::is_same_v<std::remove_cvref_t<decltype(w)>, Tensor<float, Shape<3, 1, 2, 2>>>);
    const float want[] = {0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11};
    for (index_t k = 0; k < w.size; ++k) CHECK(w[k] == want[k]);
  }

  TEST_CASE("face_models_dir follows TSGAN_MODELS_DIR and needs the recognizer's two files") {
    Scratch s;
    const char* saved = std::getenv("TSGAN_MODELS_DIR");
    const std::string restore = saved ? saved : "";
    const fs::path& dir = s.dir();
    ::setenv("TSGAN_MODELS_DIR", dir.c_str(), 1);
    CHECK(face_models_search_dir() == dir);
    CHECK_FALSE(face_models_dir().has_value());
    s.write("face_recognition_model-weights_manifest.json", "[]");
    CHECK_FALSE(face_models_dir().has_value());  // the .bin is still missing
    s.write("face_recognition_model.bin", "");
    REQUIRE(face_models_dir().has_value());
    CHECK(*face_models_dir() == dir);
    CHECK(face_model_manifest(dir, face_recognition_model) ==
          dir / "face_recognition_model-weights_manifest.json");
    if (saved) ::setenv("TSGAN_MODELS_DIR", restore.c_str(), 1);
    else ::unsetenv("TSGAN_MODELS_DIR");
  }

  TEST_CASE("the real face_recognition_model (skipped without scripts/fetch-face-models.sh)") {
    const auto dir = face_models_dir();
    if (!dir) {
      MESSAGE("face models not found in ", face_models_search_dir().string(),
              "; run scripts/fetch-face-models.sh to include this test");
      return;
    }
    const tfjs::WeightsFile w(face_model_manifest(*dir, face_recognition_model));
    CHECK(w.size() == 117);
    CHECK(w.total_bytes() == 6'444'032);
    CHECK(w.names().front() == "conv32_down/conv/filters");
    CHECK(w.names().back() == "fc");

    // 109 uint8 tensors; the 8 raw float32 ones are exactly the conv64 filters (spec §2.1).
    std::vector<std::string> raw;
    int uint8 = 0;
    for (const std::string& n : w.names()) {
      const auto& s = w.spec(n);
      CHECK(s.dtype == tfjs::DType::float32);
      if (s.quantization == tfjs::Quantization::uint8) ++uint8;
      if (s.quantization == tfjs::Quantization::none) raw.push_back(n);
    }
    CHECK(uint8 == 109);
    CHECK(raw == std::vector<std::string>{
                     "conv64_down/conv1/conv/filters", "conv64_down/conv2/conv/filters",
                     "conv64_1/conv1/conv/filters", "conv64_1/conv2/conv/filters",
                     "conv64_2/conv1/conv/filters", "conv64_2/conv2/conv/filters",
                     "conv64_3/conv1/conv/filters", "conv64_3/conv2/conv/filters"});

    // Shapes of every block (spec §2.4): [3,3,N,N] filters, [3,3,N/2,N] for a down block's conv1
    // (conv256_down_out keeps 256), and [N] biases and scales.
    for (const std::string& n : w.names()) {
      if (n == "fc" || n.starts_with("conv32_down/")) continue;
      CAPTURE(n);
      const index_t c = std::stoi(n.substr(4));
      const bool halves = n.find("_down/conv1/") != std::string::npos;
      const std::vector<index_t> want = n.ends_with("/filters")
                                            ? std::vector<index_t>{3, 3, halves ? c / 2 : c, c}
                                            : std::vector<index_t>{c};
      CHECK(w.spec(n).shape == want);
    }
    const auto stem = w.get<Shape<7, 7, 3, 32>>("conv32_down/conv/filters");
    const auto fc = w.get<Shape<256, 128>>("fc");
    CHECK(w.spec("conv32_down/conv/bias").shape == std::vector<index_t>{32});

    // The conv biases are tiny but present (spec §2.2).
    int biases = 0;
    for (const std::string& n : w.names()) {
      if (!n.ends_with("/conv/bias")) continue;
      ++biases;
      const std::vector<float> b = w.values(n);
      const float largest = std::abs(*std::max_element(
          b.begin(), b.end(), [](float x, float y) { return std::abs(x) < std::abs(y); }));
      CAPTURE(n);
      CHECK(largest < 2e-4f);
      CHECK(largest > 0.f);
    }
    CHECK(biases == 29);  // one per conv layer

    // Values from tfjs's own decodeWeights: tools/face-api-crosscheck/decode-weights.mjs prints
    // them (first four, last, and the sum in double, first to last).
    struct Reference {
      const char* name;
      float first[4];
      float last;
      double sum;
    };
    const Reference refs[] = {
        {"conv32_down/conv/filters", {-0.029459637f, -0.008417039f, 0.0068388446f, -0.0015781949f},
         0.0057867146f, -1.0253005779813975},
        {"conv32_down/conv/bias", {0.000019484325f, 0.000022025759f, -0.00006184156f, 0.0000067771566f},
         0.000048287242f, -0.00032784496539761676},
        {"conv64_1/conv1/conv/filters", {-0.003271524f, -0.0052341106f, -0.007564416f, -0.007717815f},
         -0.0032222352f, -21.448913141263347},
        {"conv256_down_out/conv2/scale/weights", {12.67409f, 9.889249f, 9.584658f, 7.104408f},
         7.8441315f, 2294.2400860786438},
        {"fc", {-0.0067960704f, -0.010015261f, 0.0053653186f, -0.0003576879f}, 0.0064383824f,
         -0.091925696819089353},
    };
    for (const Reference& r : refs) {
      CAPTURE(r.name);
      const std::vector<float> v = w.values(r.name);
      for (int i = 0; i < 4; ++i) CHECK(v[static_cast<std::size_t>(i)] == r.first[i]);
      CHECK(v.back() == r.last);
      double sum = 0;
      for (float x : v) sum += x;
      CHECK(sum == doctest::Approx(r.sum).epsilon(1e-12));
    }
    CHECK(stem[0] == refs[0].first[0]);
    CHECK(fc(255, 127) == refs[4].last);
    CHECK(fc(0, 3) == refs[4].first[3]);
  }

  TEST_CASE("the landmark68 and tiny-detector weights load and fill their .bin exactly") {
    const auto dir = face_models_dir();
    if (!dir || !fs::exists(face_model_manifest(*dir, "face_landmark_68_model")) ||
        !fs::exists(face_model_manifest(*dir, "tiny_face_detector_model"))) {
      MESSAGE("alignment models not found; run scripts/fetch-face-models.sh to include this test");
      return;
    }
    const tfjs::WeightsFile landmarks(face_model_manifest(*dir, "face_landmark_68_model"));
    const tfjs::WeightsFile detector(face_model_manifest(*dir, "tiny_face_detector_model"));
    CHECK(landmarks.total_bytes() == 356'840);
    CHECK(detector.total_bytes() == 193'321);
    for (const tfjs::WeightsFile* f : {&landmarks, &detector})
      for (const std::string& n : f->names()) {
        CAPTURE(n);
        CHECK(f->spec(n).quantization == tfjs::Quantization::uint8);
      }
    CHECK(landmarks.spec("fc/weights").shape == std::vector<index_t>{256, 136});
    CHECK(landmarks.spec("fc/bias").shape == std::vector<index_t>{136});
  }
}
