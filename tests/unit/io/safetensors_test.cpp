#include "tsgan/io/safetensors.hpp"

#include <doctest/doctest.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <bit>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "support.hpp"

using namespace tsgan;
namespace st = tsgan::io::safetensors;
using tsgan::test::check_io_error;
using tsgan::test::TempDir;
using Bytes = std::vector<unsigned char>;

namespace {

// A file made of a header text and data bytes, with the length prefix computed here.
Bytes make_file(const std::string& header, const Bytes& data = {}) {
  Bytes out;
  out.reserve(8 + header.size() + data.size());
  const std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<unsigned char>(n >> (8 * i)));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

template <class T>
std::vector<T> values_of(std::span<const std::byte> bytes) {
  std::vector<T> out(bytes.size() / sizeof(T));
  std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

std::vector<std::uint16_t> bits_of(std::span<const std::byte> bytes) {
  return values_of<std::uint16_t>(bytes);
}

// A valid file with two tensors and metadata, the base of the corruption tests.
Bytes valid_file() {
  Tensor<float, Shape<2, 3>> alpha;
  for (index_t i = 0; i < alpha.size; ++i) alpha[i] = static_cast<float>(i) - 2.5f;
  Tensor<std::int64_t, Shape<4>> beta;
  for (index_t i = 0; i < beta.size; ++i) beta[i] = i * 1000;
  st::Writer w;
  w.add("alpha", alpha).add("beta", beta).set_metadata("epoch", "3");
  const std::vector<std::byte> b = w.bytes();
  return Bytes(reinterpret_cast<const unsigned char*>(b.data()),
               reinterpret_cast<const unsigned char*>(b.data()) + b.size());
}

}  // namespace

TEST_SUITE("io.safetensors") {
  TEST_CASE("every dtype round-trips through a file bit for bit") {
    TempDir dir;
    Tensor<float, Shape<2, 3>> f32;
    Tensor<double, Shape<5>> f64;
    Tensor<half, Shape<2, 4>> f16;
    Tensor<bfloat16, Shape<8>> bf16;
    Tensor<std::int64_t, Shape<3>> i64;
    Tensor<std::int32_t, Shape<2, 2>> i32;
    Tensor<std::uint8_t, Shape<256>> u8;
    for (index_t i = 0; i < 6; ++i) f32[i] = static_cast<float>(i) * 0.37f - 1.f;
    f32[5] = -0.f;
    for (index_t i = 0; i < 5; ++i) f64[i] = 1.0 / static_cast<double>(i + 3);
    const std::uint16_t half_bits[8] = {0x0000, 0x8000, 0x0001, 0x03ff, 0x3c00, 0x7bff, 0x7c00, 0xfc00};
    const std::uint16_t bf16_bits[8] = {0x0000, 0x3f80, 0xc2f7, 0x0001, 0x7f7f, 0x7f80, 0x4049, 0x8080};
    for (index_t i = 0; i < 8; ++i) {
      f16[i] = half::from_bits(half_bits[i]);
      bf16[i] = bfloat16::from_bits(bf16_bits[i]);
    }
    i64[0] = std::numeric_limits<std::int64_t>::min();
    i64[1] = -1;
    i64[2] = std::numeric_limits<std::int64_t>::max();
    const std::int32_t i32v[4] = {std::numeric_limits<std::int32_t>::min(), -7, 0,
                                  std::numeric_limits<std::int32_t>::max()};
    for (index_t i = 0; i < 4; ++i) i32[i] = i32v[i];
    for (index_t i = 0; i < 256; ++i) u8[i] = static_cast<std::uint8_t>(255 - i);

    st::Writer w;
    Tensor<std::int64_t, Shape<>> steps(123);  // a 0-d tensor, like BatchNorm's num_batches_tracked
    w.add("f32", f32)
        .add("f64", f64)
        .add("f16", f16)
        .add("bf16", bf16)
        .add("i64", i64)
        .add("i32", i32)
        .add("u8", u8);
    w.add("steps", steps);
    const auto path = dir / "all.safetensors";
    w.write(path);

    const st::Reader r(path);
    CHECK(r.names() == std::vector<std::string>{"bf16", "f16", "f32", "f64", "i32", "i64", "steps", "u8"});
    CHECK(r.info("steps").shape.empty());
    CHECK(r.read<std::int64_t, Shape<>>("steps")[0] == 123);
    CHECK(r.info("f16").dtype == st::Dtype::F16);
    CHECK(r.info("i32").shape == std::vector<std::int64_t>{2, 2});
    CHECK(r.info("u8").shape == std::vector<std::int64_t>{256});
    // Every tensor starts at a multiple of its element size (the writer puts wide elements first).
    for (const std::string& name : r.names())
      CHECK(r.info(name).begin % st::dtype_size(r.info(name).dtype) == 0);

    const auto f32b = r.read<float, Shape<2, 3>>("f32");
    for (index_t i = 0; i < 6; ++i)
      CHECK(std::bit_cast<std::uint32_t>(f32b[i]) == std::bit_cast<std::uint32_t>(f32[i]));
    const auto f64b = r.read<double, Shape<5>>("f64");
    for (index_t i = 0; i < 5; ++i) CHECK(f64b[i] == 1.0 / static_cast<double>(i + 3));
    const auto f16b = r.read<half, Shape<2, 4>>("f16");
    const auto bf16b = r.read<bfloat16, Shape<8>>("bf16");
    for (index_t i = 0; i < 8; ++i) {
      CHECK(f16b[i].bits == half_bits[i]);
      CHECK(bf16b[i].bits == bf16_bits[i]);
    }
    const auto i64b = r.read<std::int64_t, Shape<3>>("i64");
    for (index_t i = 0; i < 3; ++i) CHECK(i64b[i] == i64[i]);
    const auto i32b = r.read<std::int32_t, Shape<2, 2>>("i32");
    for (index_t i = 0; i < 4; ++i) CHECK(i32b[i] == i32v[i]);
    const auto u8b = r.read<std::uint8_t, Shape<256>>("u8");
    for (index_t i = 0; i < 256; ++i) CHECK(u8b[i] == 255 - i);
  }

  TEST_CASE(
      "float stored as F16 and BF16: IEEE bit patterns, round to nearest even, exact values read back") {
    TempDir dir;
    // Values and their hand-derived encodings: F16 has 10 mantissa bits and exponent bias 15,
    // BF16 is the top half of a float32.
    Tensor<float, Shape<8>> x;
    const float xs[8] = {1.f, -2.f, 0.5f, 3.25f, 65504.f, 0x1p-24f, 1.f + 0x1p-11f, 1.f + 0x1.8p-11f};
    const std::uint16_t want_f16[8] = {0x3c00, 0xc000, 0x3800, 0x4280, 0x7bff, 0x0001, 0x3c00, 0x3c01};
    Tensor<float, Shape<6>> y;
    const float ys[6] = {1.f, -2.f, 0.5f, 0x1p100f, 1.f + 0x1p-8f, 1.f + 0x1.8p-8f};
    const std::uint16_t want_bf16[6] = {0x3f80, 0xc000, 0x3f00, 0x7180, 0x3f80, 0x3f81};
    for (index_t i = 0; i < 8; ++i) x[i] = xs[i];
    for (index_t i = 0; i < 6; ++i) y[i] = ys[i];
    Tensor<double, Shape<1>> third(1.0 / 3.0);
    Tensor<half, Shape<2>> h;
    h[0] = half::from_bits(0x3555);  // 0x1.554p-2
    h[1] = half::from_bits(0x8001);  // -2^-24

    st::Writer w;
    w.add("x16", x, st::Dtype::F16).add("y16", y, st::Dtype::BF16).add("third", third, st::Dtype::F32);
    w.add("h32", h, st::Dtype::F32).add("x64", x, st::Dtype::F64);
    const auto path = dir / "conv.safetensors";
    w.write(path);
    const st::Reader r(path);

    CHECK(r.info("x16").dtype == st::Dtype::F16);
    const auto b16 = bits_of(r.bytes("x16"));
    for (int i = 0; i < 8; ++i) CHECK_MESSAGE(b16[i] == want_f16[i], "F16 element ", i);
    const auto bb = bits_of(r.bytes("y16"));
    for (int i = 0; i < 6; ++i) CHECK_MESSAGE(bb[i] == want_bf16[i], "BF16 element ", i);
    CHECK(values_of<std::uint32_t>(r.bytes("third"))[0] == 0x3eaaaaabu);  // float(1/3), round to nearest
    const auto h32 = values_of<float>(r.bytes("h32"));
    CHECK(h32[0] == 0x1.554p-2f);
    CHECK(h32[1] == -0x1p-24f);
    const auto x64 = values_of<double>(r.bytes("x64"));
    for (int i = 0; i < 8; ++i) CHECK(x64[i] == static_cast<double>(xs[i]));

    // Reading converts back into float or double: the six exact values stay exact.
    const auto xf = r.read<float, Shape<8>>("x16");
    for (int i = 0; i < 6; ++i) CHECK(xf[i] == xs[i]);
    CHECK(xf[6] == 1.f);
    CHECK(xf[7] == 1.f + 0x1p-10f);
    const auto yd = r.read<double, Shape<6>>("y16");
    for (int i = 0; i < 4; ++i) CHECK(yd[i] == static_cast<double>(ys[i]));
    CHECK(yd[5] == 1.0 + 0x1p-7);
    CHECK(r.read<float, Shape<1>>("third")[0] == static_cast<float>(1.0 / 3.0));
  }

  TEST_CASE("metadata round-trips; a file without metadata has no __metadata__ entry") {
    TempDir dir;
    Tensor<float, Shape<1>> t(1.f);
    st::Writer w;
    w.add("t", t).set_metadata("tsgan.version", "0.1.0").set_metadata("config", "{\"ngf\": 64}");
    w.set_metadata("note", "ünïcödé ✓").set_metadata("empty", "").set_metadata("note2", "first");
    w.set_metadata("note2", "replaced");
    w.write(dir / "m.safetensors");
    const st::Reader r(dir / "m.safetensors");
    CHECK(r.metadata().size() == 5);
    CHECK(r.metadata("tsgan.version") == "0.1.0");
    CHECK(r.metadata("config") == "{\"ngf\": 64}");
    CHECK(r.metadata("note") == "ünïcödé ✓");
    CHECK(r.metadata("empty") == "");
    CHECK(r.metadata("note2") == "replaced");
    CHECK_FALSE(r.metadata("absent").has_value());

    st::Writer plain;
    plain.add("t", t);
    const std::vector<std::byte> b = plain.bytes();
    const std::string text(reinterpret_cast<const char*>(b.data()), b.size());
    CHECK(text.find("__metadata__") == std::string::npos);
    plain.write(dir / "p.safetensors");
    CHECK(st::Reader(dir / "p.safetensors").metadata().empty());
  }

  TEST_CASE("a file written byte by byte is read correctly") {
    TempDir dir;
    // 140 bytes of JSON and 4 spaces of padding: N = 144 = 0x90. The buffer holds b (I32 1, -2)
    // then a (F32 1.5, -0.25), the reverse of the names' order.
    const std::string header =
        R"({"b":{"dtype":"I32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[1,2],)"
        R"("data_offsets":[8,16]},"__metadata__":{"who":"hand"}}    )";
    REQUIRE(header.size() == 144);
    Bytes file = {0x90, 0, 0, 0, 0, 0, 0, 0};
    file.insert(file.end(), header.begin(), header.end());
    const Bytes data = {0x01, 0x00, 0x00, 0x00, 0xfe, 0xff, 0xff, 0xff,   // I32 1, -2
                        0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x80, 0xbe};  // F32 1.5, -0.25
    file.insert(file.end(), data.begin(), data.end());
    test::write_bytes(dir / "hand.safetensors", file);

    const st::Reader r(dir / "hand.safetensors");
    CHECK(r.names() == std::vector<std::string>{"a", "b"});
    CHECK(r.metadata("who") == "hand");
    const auto a = r.read<float, Shape<1, 2>>("a");
    CHECK(a(0, 0) == 1.5f);
    CHECK(a(0, 1) == -0.25f);
    const auto b = r.read<std::int32_t, Shape<2>>("b");
    CHECK(b[0] == 1);
    CHECK(b[1] == -2);
  }

  TEST_CASE("the writer's bytes are exactly the format: length, compact sorted JSON padded to 8, data") {
    Tensor<std::int32_t, Shape<2>> x;
    x[0] = 1;
    x[1] = -2;
    st::Writer w;
    w.add("x", x).set_metadata("k", "v");
    const std::string header =
        R"({"__metadata__":{"k":"v"},"x":{"data_offsets":[0,8],"dtype":"I32","shape":[2]}} )";
    Bytes want = {0x50, 0, 0, 0, 0, 0, 0, 0};  // 79 bytes of JSON + 1 space = 80
    want.insert(want.end(), header.begin(), header.end());
    want.insert(want.end(), {0x01, 0x00, 0x00, 0x00, 0xfe, 0xff, 0xff, 0xff});
    const std::vector<std::byte> got = w.bytes();
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i)
      CHECK_MESSAGE(static_cast<unsigned char>(got[i]) == want[i], "byte ", i);
  }

  TEST_CASE("regression: a tensor with no elements is written and read back (its null buffer reached memcpy)") {
    // Every TSGAN checkpoint has one: the running centres [0, E] of a model that keeps none.
    // UndefinedBehaviorSanitizer stopped the writer on memcpy(dst, nullptr, 0).
    st::Writer w;
    w.add_bytes("none", st::Dtype::F32, {0, 4}, {});
    const std::vector<std::byte> b = w.bytes();
    const std::string header = R"({"none":{"data_offsets":[0,0],"dtype":"F32","shape":[0,4]}}     )";  // 59 + 5 = 64
    REQUIRE(b.size() == 8 + header.size());
    CHECK(std::string(reinterpret_cast<const char*>(b.data()) + 8, header.size()) == header);

    TempDir dir;
    Tensor<float, Shape<2>> x;
    x[0] = 1.5f;
    x[1] = -3.f;
    st::Writer both;
    both.add_bytes("none", st::Dtype::F32, {0, 4}, {}).add("x", x);
    both.write(dir / "e.safetensors");
    const st::Reader r(dir / "e.safetensors");
    CHECK(r.info("none").shape == std::vector<std::int64_t>{0, 4});
    CHECK(r.bytes("none").empty());
    const auto back = r.read<float, Shape<2>>("x");
    CHECK(back[0] == 1.5f);
    CHECK(back[1] == -3.f);
  }

  TEST_CASE("a truncated file is an IoError naming the file, and the tensor when the data is cut") {
    TempDir dir;
    const Bytes good = valid_file();
    const std::uint64_t n = good[0] | (std::uint64_t{good[1]} << 8);
    const auto path = dir / "cut.safetensors";
    for (std::size_t len : {std::size_t{0}, std::size_t{1}, std::size_t{7}}) {
      test::write_bytes(path, Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(len)));
      check_io_error([&] { st::Reader r(path); }, path, {fmt::format("file is {} bytes, shorter than", len)});
    }
    for (std::size_t len : {std::size_t{8}, std::size_t{9}, std::size_t{8 + n - 1}}) {
      test::write_bytes(path, Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(len)));
      check_io_error([&] { st::Reader r(path); }, path,
                     {fmt::format("header length {} runs past the end", n)});
    }
    // beta (I64, wider) comes first in the buffer, alpha last: cutting the data cuts alpha.
    for (std::size_t cut : {std::size_t{1}, std::size_t{23}}) {
      test::write_bytes(path, Bytes(good.begin(), good.end() - static_cast<std::ptrdiff_t>(cut)));
      check_io_error([&] { st::Reader r(path); }, path, {"tensor 'alpha'", "run past the end of the"});
    }
    test::write_bytes(path, Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(8 + n)));
    check_io_error([&] { st::Reader r(path); }, path, {"run past the end of the 0-byte data buffer"});
    check_io_error([&] { st::Reader r(dir / "absent.safetensors"); }, dir / "absent.safetensors",
                   {"cannot open", "No such file"});
  }

  TEST_CASE("flipping any byte of the length or header gives an IoError naming the file, or a valid file") {
    TempDir dir;
    const Bytes good = valid_file();
    const std::size_t header_end = 8 + (good[0] | (std::size_t{good[1]} << 8));
    const auto path = dir / "flip.safetensors";
    int errors = 0, still_valid = 0;
    for (std::size_t i = 0; i < header_end; ++i) {
      Bytes bad = good;
      bad[i] ^= 0x5a;
      test::write_bytes(path, bad);
      try {
        const st::Reader r(path);
        // A flip inside a name or a metadata value can leave a valid file; it must then be whole.
        for (const std::string& name : r.names()) (void)r.bytes(name);
        ++still_valid;
      } catch (const IoError& e) {
        CHECK(std::string(e.what()).starts_with(path.string() + ": "));
        ++errors;
      }
    }
    CHECK(errors + still_valid == static_cast<int>(header_end));
    CHECK(errors > still_valid);
  }

  TEST_CASE("every malformed header is an IoError naming the file and the tensor at fault") {
    TempDir dir;
    const auto path = dir / "bad.safetensors";
    const Bytes data24(24, 0);
    auto check = [&](const std::string& header, const Bytes& data, std::initializer_list<std::string> parts) {
      test::write_bytes(path, make_file(header, data));
      check_io_error([&] { st::Reader r(path); }, path, parts);
    };
    check(R"({"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24])", data24,
          {"header is not valid JSON"});
    check("", {}, {"header is not valid JSON"});
    check(R"([1, 2])", {}, {"header is a JSON array, not an object"});
    check(R"({"w": [1]})", data24, {"tensor 'w'", "entry is a JSON array"});
    check(R"({"w": {"shape": [2, 3], "data_offsets": [0, 24]}})", data24, {"tensor 'w'", "no \"dtype\""});
    check(R"({"w": {"dtype": "F32", "data_offsets": [0, 24]}})", data24, {"tensor 'w'", "no \"shape\""});
    check(R"({"w": {"dtype": "F32", "shape": [2, 3]}})", data24, {"tensor 'w'", "no \"data_offsets\""});
    check(R"({"w": {"dtype": "F8_E4M3", "shape": [24], "data_offsets": [0, 24]}})", data24,
          {"tensor 'w'", "dtype 'F8_E4M3' is not supported"});
    check(R"({"w": {"dtype": 32, "shape": [6], "data_offsets": [0, 24]}})", data24,
          {"tensor 'w'", "\"dtype\" is a JSON number"});
    check(R"({"w": {"dtype": "F32", "shape": [-2, 3], "data_offsets": [0, 24]}})", data24,
          {"tensor 'w'", "non-negative integer"});
    check(R"({"w": {"dtype": "F32", "shape": [2.0, 3], "data_offsets": [0, 24]}})", data24,
          {"tensor 'w'", "non-negative integer"});
    check(R"({"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0]}})", data24,
          {"tensor 'w'", "is not a pair of non-negative integers"});
    check(R"({"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 1000]}})", data24,
          {"tensor 'w'", "data_offsets [0, 1000] run past the end of the 24-byte data buffer"});
    check(R"({"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [24, 0]}})", data24,
          {"tensor 'w'", "end before they begin"});
    check(R"({"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 20]}})", data24,
          {"tensor 'w'", "hold 20 bytes, but a F32 tensor of shape [2, 3] needs 24"});
    check(R"({"w": {"dtype": "F64", "shape": [4294967296, 4294967296], "data_offsets": [0, 24]}})", data24,
          {"tensor 'w'", "needs more than 2^64"});
    check(R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
              "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}})",
          data24, {"tensor 'b'", "overlap those of tensor 'a'"});
    check(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
              "b": {"dtype": "F32", "shape": [2], "data_offsets": [16, 24]}})",
          data24, {"tensor 'b'", "bytes [8, 16) of the data buffer before it belong to no tensor"});
    check(R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", data24,
          {"the last 8 bytes of the data buffer belong to no tensor"});
    check(R"({"a": {"dtype": "F32", "shape": [6], "data_offsets": [0, 24]},
              "a": {"dtype": "F32", "shape": [6], "data_offsets": [0, 24]}})",
          data24, {"tensor 'a'", "names it twice"});
    check(R"({"__metadata__": {"epoch": 3}, "a": {"dtype": "F32", "shape": [6], "data_offsets": [0, 24]}})",
          data24, {"metadata 'epoch' is a JSON number, not a string"});
    check(R"({"__metadata__": ["x"]})", {}, {"__metadata__ is a JSON array, not an object"});

    Bytes huge = valid_file();
    for (int i = 0; i < 8; ++i) huge[i] = 0xff;
    test::write_bytes(path, huge);
    check_io_error([&] { st::Reader r(path); }, path,
                   {"header length 18446744073709551615 runs past the end"});

    // Padding with spaces after the JSON is allowed, and a zero-sized tensor takes no bytes.
    test::write_bytes(path, make_file(R"({"e": {"dtype": "F32", "shape": [0, 3], "data_offsets": [0, 0]},
                                          "w": {"dtype": "U8", "shape": [24], "data_offsets": [0, 24]}}      )",
                                      data24));
    const st::Reader ok(path);
    CHECK(ok.info("e").numel() == 0);
    CHECK(ok.bytes("w").size() == 24);
  }

  TEST_CASE("regression: a header nested 200 000 deep is an error, not a stack overflow") {
    TempDir dir;
    const auto path = dir / "deep.safetensors";
    auto nested = [](std::size_t depth) {
      return R"({"w": {"dtype": "F32", "shape": )" + std::string(depth, '[') + std::string(depth, ']') +
             R"(, "data_offsets": [0, 0]}})";
    };
    test::write_bytes(path, make_file(nested(200'000)));
    check_io_error([&] { st::Reader r(path); }, path, {"header nests arrays or objects more than 16 deep"});
    // The limit is exact: the object, the entry and 14 arrays are 16 levels (a malformed shape);
    // one array more is too deep.
    test::write_bytes(path, make_file(nested(14)));
    check_io_error([&] { st::Reader r(path); }, path, {"tensor 'w'", "non-negative integer"});
    test::write_bytes(path, make_file(nested(15)));
    check_io_error([&] { st::Reader r(path); }, path, {"more than 16 deep"});
  }

  TEST_CASE("regression: 20 000 tensors parse in work linear in their number (49 s when it was quadratic)") {
    // n one-byte tensors; the scan before nlohmann's parse takes 14 JSON events per tensor entry
    // and 2 for the enclosing object, and nothing else visits earlier entries again.
    auto header_of = [](int n) {
      std::string h = "{";
      for (int i = 0; i < n; ++i)
        h += fmt::format(R"({}"t{}": {{"dtype": "U8", "shape": [1], "data_offsets": [{}, {}]}})", i ? "," : "", i,
                         i, i + 1);
      return h + "}";
    };
    for (int n : {2'000, 20'000}) {
      const std::string h = header_of(n);
      st::detail::HeaderScan scan;
      REQUIRE(nlohmann::json::sax_parse(h, &scan));
      CHECK(scan.events == 14u * static_cast<unsigned>(n) + 2u);
    }
    const Bytes file = make_file(header_of(20'000), Bytes(20'000, 7));
    const st::Reader r("many.safetensors", std::vector<std::byte>(reinterpret_cast<const std::byte*>(file.data()),
                                                                  reinterpret_cast<const std::byte*>(file.data()) + file.size()));
    CHECK(r.names().size() == 20'000);
    CHECK(r.info("t19999").begin == 19'999);
    CHECK(r.bytes("t12345").size() == 1);
  }

  TEST_CASE("read checks shape and dtype and names the tensor, both shapes and both dtypes") {
    TempDir dir;
    Tensor<float, Shape<2, 3>> a(1.5f);
    Tensor<std::int64_t, Shape<4>> b(7);
    st::Writer w;
    w.add("a", a).add("a16", a, st::Dtype::BF16).add("b", b);
    const auto path = dir / "r.safetensors";
    w.write(path);
    const st::Reader r(path);

    Tensor<float, Shape<3, 2>> wrong_shape;
    check_io_error([&] { r.read("a", wrong_shape); }, path,
                   {"tensor 'a': shape [2, 3] in the file, [3, 2] expected"});
    Tensor<float, Shape<4>> into_float;
    check_io_error([&] { r.read("b", into_float); }, path,
                   {"tensor 'b': dtype I64 in the file cannot be read into a tensor of F32"});
    Tensor<std::int32_t, Shape<4>> narrower;
    check_io_error([&] { r.read("b", narrower); }, path, {"tensor 'b': dtype I64", "tensor of I32"});
    Tensor<std::int64_t, Shape<2, 3>> from_float;
    check_io_error([&] { r.read("a", from_float); }, path, {"tensor 'a': dtype F32", "tensor of I64"});
    Tensor<half, Shape<2, 3>> into_half;
    check_io_error([&] { r.read("a16", into_half); }, path, {"tensor 'a16': dtype BF16", "tensor of F16"});
    check_io_error([&] { (void)r.info("nope"); }, path, {"no tensor 'nope'"});
    check_io_error([&] { r.read("nope", into_float); }, path, {"no tensor 'nope'"});
    for (index_t i = 0; i < 4; ++i) CHECK(into_float[i] == 0.f);  // untouched by the failed reads

    const auto d = r.read<double, Shape<2, 3>>("a16");
    for (index_t i = 0; i < 6; ++i) CHECK(d[i] == 1.5);
    const auto bf = r.read<bfloat16, Shape<2, 3>>("a16");
    CHECK(bf[0].bits == 0x3fc0);
  }

  TEST_CASE("a load plan reports every mismatch in one error and fills nothing unless all match") {
    TempDir dir;
    Tensor<float, Shape<2, 2>> enc_w(1.f), dec_w(2.f);
    Tensor<std::int64_t, Shape<1>> step(100);
    Tensor<float, Shape<3>> extra(3.f);
    st::Writer w;
    w.add("enc.weight", enc_w).add("dec.weight", dec_w).add("step", step).add("ema.weight", extra);
    const auto path = dir / "ckpt.safetensors";
    w.write(path);
    const st::Reader r(path);

    Tensor<float, Shape<2, 2>> enc(-1.f);
    Tensor<float, Shape<4>> dec(-1.f);   // wrong shape
    Tensor<float, Shape<1>> stp(-1.f);   // I64 cannot become float
    Tensor<float, Shape<5>> bias(-1.f);  // not in the file
    st::LoadPlan plan;
    plan.add("enc.weight", enc).add("dec.weight", dec).add("step", stp).add("head.bias", bias);
    CHECK(plan.expectations().size() == 4);
    CHECK(
        plan.mismatches(r) ==
        std::vector<std::string>{"tensor 'dec.weight': shape [2, 2] in the file, [4] expected",
                                 "unexpected tensor 'ema.weight' (F32 [3] in the file)",
                                 "missing tensor 'head.bias' (F32 [5] expected)",
                                 "tensor 'step': dtype I64 in the file cannot be read into a tensor of F32"});
    check_io_error(
        [&] { plan.apply(r); }, path,
        {"4 problems loading 4 tensors:\n  tensor 'dec.weight'", "'ema.weight'", "'head.bias'", "'step'"});
    for (index_t i = 0; i < 4; ++i) CHECK(enc[i] == -1.f);  // all or nothing: even the good one is untouched

    Tensor<double, Shape<2, 2>> enc2(-1.0);
    Tensor<float, Shape<2, 2>> dec2(-1.f);
    Tensor<std::int64_t, Shape<1>> step2(-1);
    st::LoadPlan fixed(st::Unexpected::ignore);
    fixed.add("enc.weight", enc2).add("dec.weight", dec2).add("step", step2);
    CHECK(fixed.mismatches(r).empty());
    fixed.apply(r);
    for (index_t i = 0; i < 4; ++i) {
      CHECK(enc2[i] == 1.0);
      CHECK(dec2[i] == 2.f);
    }
    CHECK(step2[0] == 100);

    st::LoadPlan strict;
    strict.add("enc.weight", enc2).add("dec.weight", dec2).add("step", step2);
    check_io_error([&] { strict.apply(r); }, path,
                   {"1 problem loading 3 tensors", "unexpected tensor 'ema.weight'"});
    CHECK_THROWS_WITH_AS(strict.add("step", step2), "tsgan: LoadPlan: tensor 'step' was added twice", Error);

    // The free function takes plain expectations (name, destination dtype, shape).
    const std::vector<st::Expectation> expected{{"enc.weight", st::Dtype::F64, {2, 2}},
                                                {"step", st::Dtype::I32, {1}}};
    CHECK(
        st::mismatches(r, expected, st::Unexpected::ignore) ==
        std::vector<std::string>{"tensor 'step': dtype I64 in the file cannot be read into a tensor of I32"});
  }

  TEST_CASE("writer misuse is an error naming the tensor") {
    Tensor<float, Shape<2>> t;
    Tensor<std::int32_t, Shape<2>> i;
    st::Writer w;
    w.add("t", t);
    CHECK_THROWS_WITH_AS(w.add("t", t), "tsgan: safetensors: tensor 't' was added twice", Error);
    CHECK_THROWS_WITH_AS(w.add("__metadata__", t), doctest::Contains("'__metadata__' is reserved"), Error);
    CHECK_THROWS_WITH_AS(w.add("i", i, st::Dtype::F32),
                         "tsgan: safetensors: tensor 'i' holds I32 values, which can only be stored as I32",
                         Error);
    CHECK_THROWS_WITH_AS(w.add(std::string("bad\xff"), t), doctest::Contains("is not valid UTF-8"), Error);
    const std::vector<std::byte> six(6);
    CHECK_THROWS_WITH_AS(w.add_bytes("raw", st::Dtype::F32, {2}, six),
                         "tsgan: safetensors: tensor 'raw' (F32 [2]) needs 8 bytes, 6 given", Error);
    w.add_bytes("raw", st::Dtype::U8, {2, 3}, six);  // the same bytes are right for six U8 values
  }

  TEST_CASE("write is atomic: no temporary file stays, and an existing file is replaced by a rename") {
    TempDir dir;
    const auto path = dir / "model.safetensors";
    Tensor<float, Shape<4>> one(1.f), two(2.f);
    st::Writer first;
    first.add("w", one);
    first.write(path);
    CHECK(dir.entries() == std::set<std::string>{"model.safetensors"});

    std::ifstream old(path, std::ios::binary);  // holds the first file open
    struct stat before {};
    REQUIRE(::stat(path.c_str(), &before) == 0);
    st::Writer second;
    second.add("w", two);
    second.write(path);
    CHECK(dir.entries() == std::set<std::string>{"model.safetensors"});
    struct stat after {};
    REQUIRE(::stat(path.c_str(), &after) == 0);
    CHECK(after.st_ino != before.st_ino);  // a new file took the name; the old one was not rewritten
    const Bytes old_contents((std::istreambuf_iterator<char>(old)), std::istreambuf_iterator<char>());
    CHECK(old_contents.size() == first.bytes().size());
    CHECK(std::memcmp(old_contents.data(), first.bytes().data(), old_contents.size()) == 0);
    CHECK(st::Reader(path).read<float, Shape<4>>("w")[3] == 2.f);
  }

  TEST_CASE("a failed write leaves the target and its directory as they were") {
    TempDir dir;
    Tensor<float, Shape<4>> t(1.f);
    st::Writer w;
    w.add("w", t);

    const auto nowhere = dir / "missing" / "model.safetensors";
    check_io_error([&] { w.write(nowhere); }, nowhere, {"cannot create a temporary file", "No such file"});
    CHECK_FALSE(std::filesystem::exists(dir / "missing"));
    CHECK(dir.entries().empty());

    std::filesystem::create_directory(dir / "taken");  // a directory cannot be renamed over
    check_io_error([&] { w.write(dir / "taken"); }, dir / "taken",
                   {"cannot rename the temporary file over it"});
    CHECK(dir.entries() == std::set<std::string>{"taken"});
    CHECK(std::filesystem::is_empty(dir / "taken"));

#if defined(__linux__)
    // A write that fails half way (the file-size limit makes write() fail with EFBIG) must not
    // replace the existing file.
    const auto path = dir / "model.safetensors";
    Tensor<float, Shape<1>> small(5.f);
    st::Writer prior;
    prior.add("w", small);
    prior.write(path);
    Tensor<float, Shape<4096>> big(9.f);
    st::Writer large;
    large.add("w", big);
    rlimit saved{};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
    const auto saved_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit limited = saved;
    limited.rlim_cur = 4096;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &limited) == 0);
    std::string message;
    try {
      large.write(path);
    } catch (const IoError& e) {
      message = e.what();
    }
    ::setrlimit(RLIMIT_FSIZE, &saved);
    std::signal(SIGXFSZ, saved_handler);
    CHECK(message.starts_with(path.string() + ": cannot write"));
    CHECK(dir.entries() == std::set<std::string>{"model.safetensors", "taken"});
    CHECK(st::Reader(path).read<float, Shape<1>>("w")[0] == 5.f);
#endif
  }
}
