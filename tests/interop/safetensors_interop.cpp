// The C++ half of the safetensors exchange with PyTorch (driven by run_safetensors_torch.cmake):
//   safetensors_interop write FILE   writes the tensors safetensors_torch.py `check` expects;
//   safetensors_interop check FILE   checks the file safetensors_torch.py `write` made.
// Both sides spell the values out independently; conversions to F16 and BF16 are compared with
// the other side's own conversion of the same float32 inputs, stored in the file beside them.
#include <tsgan/io/safetensors.hpp>

#include <fmt/format.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

using namespace tsgan;
namespace st = tsgan::io::safetensors;

namespace {

int failures = 0;

void expect(bool ok, const std::string& what) {
  if (!ok) {
    fmt::print(stderr, "mismatch: {}\n", what);
    ++failures;
  }
}

// Inputs whose rounding to F16 and BF16 exercises ties, subnormals, overflow and large exponents.
const std::vector<float> rounding_inputs = {
    1.f / 3.f, 0.1f,        1e-5f, 7e4f,     1.f + 0x1p-11f, 1.f + 0x1.8p-11f,
    -65504.f,  3.14159265f, 1e-8f, -2.5e38f, 1.f + 0x1p-8f,  1.f + 0x1.8p-9f,
    6e-8f,     -0.f};

void write(const std::string& path) {
  Tensor<float, Shape<2, 3, 4>> f32;
  for (index_t i = 0; i < f32.size; ++i) f32[i] = static_cast<float>(i) * 0.25f - 2.5f;
  Tensor<double, Shape<5>> f64;
  for (index_t i = 0; i < f64.size; ++i) f64[i] = 1.0 / static_cast<double>(i + 3);
  Tensor<float, Shape<14>> src;
  for (index_t i = 0; i < src.size; ++i) src[i] = rounding_inputs[static_cast<std::size_t>(i)];
  Tensor<half, Shape<4>> f16;
  Tensor<bfloat16, Shape<4>> bf16;
  const std::uint16_t half_bits[4] = {0x3c00, 0x0001, 0x7bff, 0xc500};  // 1, 2^-24, 65504, -5
  const std::uint16_t bf16_bits[4] = {0x3f80, 0xc2f7, 0x7f7f, 0x0001};  // 1, -123.5, max, min subnormal
  for (index_t i = 0; i < 4; ++i) {
    f16[i] = half::from_bits(half_bits[i]);
    bf16[i] = bfloat16::from_bits(bf16_bits[i]);
  }
  Tensor<std::int64_t, Shape<4>> i64;
  i64[0] = -(std::int64_t{1} << 40);
  i64[1] = -1;
  i64[2] = 0;
  i64[3] = (std::int64_t{1} << 62) + 7;
  Tensor<std::int32_t, Shape<2, 2>> i32;
  i32[0] = std::numeric_limits<std::int32_t>::min();
  i32[1] = -1;
  i32[2] = 7;
  i32[3] = std::numeric_limits<std::int32_t>::max();
  Tensor<std::uint8_t, Shape<6>> u8;
  const std::uint8_t u8v[6] = {0, 1, 127, 128, 254, 255};
  for (index_t i = 0; i < 6; ++i) u8[i] = u8v[i];
  Tensor<std::int64_t, Shape<>> steps(123456789);

  st::Writer w;
  w.add("f32", f32).add("f64", f64).add("src", src);
  w.add("src_as_f16", src, st::Dtype::F16).add("src_as_bf16", src, st::Dtype::BF16);
  w.add("f16", f16).add("bf16", bf16).add("i64", i64).add("i32", i32).add("u8", u8).add("steps", steps);
  w.set_metadata("format", "pt").set_metadata("producer", "tsgan").set_metadata("note", "ünïcödé ✓");
  w.write(path);
}

void check(const std::string& path) {
  const st::Reader r(path);
  expect(r.metadata("format") == "pt", "metadata format");
  expect(r.metadata("source") == "torch", "metadata source");

  // Every tensor, through one load plan (which also rejects any tensor not listed here).
  Tensor<float, Shape<3, 2>> w_f32;
  Tensor<double, Shape<2, 2>> w_f64;
  Tensor<float, Shape<9>> w_src;
  Tensor<half, Shape<9>> w_f16;
  Tensor<bfloat16, Shape<9>> w_bf16;
  Tensor<float, Shape<9>> w_bf16_as_float;
  Tensor<std::int64_t, Shape<3>> w_i64;
  Tensor<std::int32_t, Shape<2>> w_i32;
  Tensor<std::uint8_t, Shape<4>> w_u8;
  Tensor<std::int64_t, Shape<>> w_scalar;
  st::LoadPlan plan;
  plan.add("w_f32", w_f32).add("w_f64", w_f64).add("w_src", w_src).add("w_f16", w_f16).add("w_bf16", w_bf16);
  plan.add("w_i64", w_i64).add("w_i32", w_i32).add("w_u8", w_u8).add("num_batches_tracked", w_scalar);
  plan.apply(r);
  r.read("w_bf16", w_bf16_as_float);

  for (index_t i = 0; i < 6; ++i)
    expect(w_f32[i] == static_cast<float>(i) * 0.5f - 1.f, fmt::format("w_f32[{}]", i));
  expect(w_f64[0] == 1.0 / 3.0 && w_f64[1] == -2.0 / 7.0 && w_f64[2] == 1e-300 && w_f64[3] == 1e300, "w_f64");
  for (index_t i = 0; i < 9; ++i) {
    // torch rounded w_src to F16 and BF16; tsgan's own rounding must give the same bits.
    expect(w_f16[i].bits == half(w_src[i]).bits,
           fmt::format("w_f16[{}]: torch {:#06x}, tsgan {:#06x} for {}", i, w_f16[i].bits,
                       half(w_src[i]).bits, w_src[i]));
    expect(
        w_bf16[i].bits == bfloat16(w_src[i]).bits,
        fmt::format("w_bf16[{}]: torch {:#06x}, tsgan {:#06x}", i, w_bf16[i].bits, bfloat16(w_src[i]).bits));
    expect(w_bf16_as_float[i] == static_cast<float>(w_bf16[i]), fmt::format("w_bf16 read as float [{}]", i));
  }
  expect(w_src[0] == 0.1f && w_src[1] == -2.5f && w_src[2] == 65504.f, "w_src");
  expect(w_i64[0] == std::numeric_limits<std::int64_t>::min() && w_i64[1] == 12345678901234 &&
             w_i64[2] == std::numeric_limits<std::int64_t>::max(),
         "w_i64");
  expect(w_i32[0] == -5 && w_i32[1] == std::numeric_limits<std::int32_t>::max(), "w_i32");
  expect(w_u8[0] == 0 && w_u8[1] == 17 && w_u8[2] == 200 && w_u8[3] == 255, "w_u8");
  expect(w_scalar[0] == 42, "num_batches_tracked");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || (std::string(argv[1]) != "write" && std::string(argv[1]) != "check")) {
    fmt::print(stderr, "usage: {} write|check FILE\n", argv[0]);
    return 2;
  }
  try {
    if (std::string(argv[1]) == "write")
      write(argv[2]);
    else
      check(argv[2]);
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}\n", e.what());
    return 1;
  }
  if (failures) return 1;
  fmt::print("{} {}: ok\n", argv[1], argv[2]);
  return 0;
}
