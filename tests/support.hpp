// Helpers shared by the tests: random inputs, closeness checks with readable failures, temporary
// directories and checks of the errors about files.
#pragma once

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>
#include <tuple>
#include <type_traits>
#include <utility>

#include "tsgan/nn/module.hpp"
#include "tsgan/tsgan.hpp"

// The devices a test templated over the device runs on: the CPU in the host compiler's binary
// (tsgan_tests), the GPU when nvcc compiles the same source (tsgan_tests_cuda). The CPU instances
// are tsgan_tests' own; compiling them again under nvcc cost a fifth of its time.
#if defined(__CUDACC__)
#define TSGAN_TEST_DEVICES ::tsgan::cuda
TYPE_TO_STRING_AS("cuda", tsgan::cuda);
#else
#define TSGAN_TEST_DEVICES ::tsgan::cpu
#endif
TYPE_TO_STRING_AS("cpu", tsgan::cpu);

// First line of a test templated over the device: without a GPU, the cuda instance passes with a
// message instead of failing.
#define TSGAN_SKIP_UNAVAILABLE(D)                              \
  do {                                                         \
    if (!::tsgan::test::device_available<D>()) {               \
      MESSAGE("no CUDA device: skipped");                      \
      return;                                                  \
    }                                                          \
  } while (0)

namespace tsgan::test {

template <class D>
bool device_available() {
#if defined(__CUDACC__)
  if constexpr (std::is_same_v<D, cuda>) return cuda_available();
#endif
  return true;
}

template <class D>
inline constexpr bool is_gpu = !std::is_same_v<D, cpu>;

// More bytes than device D could ever give (and a size class of its own).
template <class D>
std::size_t impossible_bytes() {
#if defined(__CUDACC__)
  if constexpr (is_gpu<D>) {
    std::size_t free_bytes = 0, total_bytes = 0;
    TSGAN_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
    return size_class(4 * total_bytes);
  }
#endif
  return std::size_t{1} << 62;  // beyond any machine's address space
}

// Uniform in [lo, hi), made on device D (Philox: the same values on every device).
template <class T, ShapeType S, class D = cpu>
Tensor<T, S, D> random_tensor(std::uint64_t seed, T lo = T(-1), T hi = T(1)) {
  random::Generator gen(seed);
  return Tensor<T, S, D>(random::uniform<S, T, D>(gen, lo, hi));
}

// A host tensor with the elements of x: x itself when it is already a host tensor or view.
template <class X>
decltype(auto) to_host(const X& x) {
  if constexpr (std::is_same_v<typename X::device, cpu>) return (x);
  else return x.template to<cpu>();
}

// An expression (or a tensor) as a tensor on its own device.
template <class X>
auto materialize(X&& x) {
  using R = std::remove_cvref_t<X>;
  if constexpr (is_tensor<R>::value) return R(std::forward<X>(x));
  else return Tensor<typename R::value_type, typename R::shape, typename R::device>(x);
}

inline bool close(double got, double want, double rtol, double atol) {
  if (std::isnan(want)) return std::isnan(got);
  if (std::isinf(want)) return got == want;
  return std::abs(got - want) <= atol + rtol * std::abs(want);
}

// Checks every element of `got` against want(i); reports the first mismatch with its index.
template <class X, class F>
void check_all(const X& got, F&& want, double rtol, double atol, const std::string& what = "") {
  for (index_t i = 0; i < X::size; ++i) {
    const double g = static_cast<double>(got.data()[i]);
    const double w = static_cast<double>(want(i));
    if (!close(g, w, rtol, atol)) {
      FAIL(fmt::format("{} element {}: got {:.9g}, want {:.9g}", what, i, g, w));
      return;
    }
  }
}

// Parity of a GPU result with the CPU's: relative error 1e-5 in float (1e-12 in double), with an
// absolute floor for values near zero, where a fused multiply-add shows as a large relative error.
template <class X, class Y>
void check_parity(const X& gpu_on_host, const Y& cpu, const std::string& what = "") {
  using T = typename X::value_type;
  constexpr double rtol = std::is_same_v<T, double> ? 1e-12 : 1e-5;
  constexpr double atol = std::is_same_v<T, double> ? 1e-13 : 1e-6;
  check_all(gpu_on_host, [&](index_t i) { return cpu.data()[i]; }, rtol, atol, what + " (GPU against CPU)");
}

// Parity of a GPU gradient (or any result of a long sum) with the CPU's: the relative tolerance
// of check_parity, and an absolute one scaled by the largest value, since rounding errors of a
// sum scale with the magnitude of its terms, not of its result. `relax` multiplies both (TF32).
template <class X, class Y>
void check_parity_scaled(const X& gpu_on_host, const Y& cpu, const std::string& what = "", double relax = 1) {
  using T = typename X::value_type;
  double largest = 1;
  for (index_t i = 0; i < Y::size; ++i) largest = std::max(largest, std::abs(static_cast<double>(cpu.data()[i])));
  const double rtol = (std::is_same_v<T, double> ? 1e-12 : 1e-5) * relax;
  const double atol = (std::is_same_v<T, double> ? 1e-13 : 1e-6) * relax * largest;
  check_all(gpu_on_host, [&](index_t i) { return cpu.data()[i]; }, rtol, atol, what + " (GPU against CPU)");
}

// Norm-wise relative error: max |got − want| / max |want| <= tol. For results of reduced
// precision (TF32), whose error is relative to the terms of each sum rather than to its result,
// so an element that cancels to near zero cannot be held to a relative bound of its own.
template <class X, class Y>
void check_relative_error(const X& got, const Y& want, double tol, const std::string& what = "") {
  double largest = 0, worst = 0;
  index_t at = 0;
  for (index_t i = 0; i < Y::size; ++i) {
    largest = std::max(largest, std::abs(static_cast<double>(want.data()[i])));
    const double e = std::abs(static_cast<double>(got.data()[i]) - static_cast<double>(want.data()[i]));
    if (!(e <= worst)) {
      worst = e;
      at = i;
    }
  }
  const double rel = worst / std::max(largest, 1e-30);
  if (!(rel <= tol))
    FAIL(fmt::format("{}: max |error| / max |value| = {:.3g} > {:.3g} (element {}: got {:.9g}, want {:.9g})", what, rel,
                     tol, at, static_cast<double>(got.data()[at]), static_cast<double>(want.data()[at])));
}

// f's value at the inputs (host tensors, copied to device D as graph variables) and the gradients
// of Σ r ⊙ f(...) for a fixed random r with respect to each input, all copied to the host.
template <class D, class F, class... X>
auto value_and_gradients(F& f, const X&... inputs) {
  Graph g;
  auto vars = std::make_tuple(g.variable(inputs.template to<D>())...);
  auto y = std::apply([&](auto&... v) { return eval(f(v...)); }, vars);
  using Y = decltype(y);
  using T = typename Y::value_type;
  random::Generator gen(987);
  Tensor<T, typename Y::shape, D> r = random::uniform<typename Y::shape, T, D>(gen, T(-1), T(1));
  sum(y * std::move(r)).backward();
  auto value = y.value().template to<cpu>();
  return std::apply([&](auto&... v) { return std::make_tuple(std::move(value), v.grad().template to<cpu>()...); }, vars);
}

// On a GPU: f's value and its gradients with respect to every input agree with the CPU's
// (check_parity_scaled). On the CPU there is nothing to compare: it returns at once.
template <class D, class F, class... X>
void check_gradient_parity(F f, const X&... inputs) {
  if constexpr (is_gpu<D>) {
    auto got = value_and_gradients<D>(f, inputs...);
    auto want = value_and_gradients<cpu>(f, inputs...);
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (check_parity_scaled(std::get<I>(got), std::get<I>(want), I == 0 ? std::string("value") : fmt::format("gradient {}", I - 1)),
       ...);
    }(std::make_index_sequence<sizeof...(X) + 1>{});
  } else {
    (void)f;
    ((void)inputs, ...);
  }
}

// check_parity_scaled for values gathered on the host as doubles (a module's value and gradients).
inline void check_parity_scaled(const std::vector<double>& got, const std::vector<double>& want, bool double_precision,
                                const std::string& what) {
  if (got.size() != want.size()) {
    FAIL(fmt::format("{}: {} values on the GPU, {} on the CPU", what, got.size(), want.size()));
    return;
  }
  double largest = 1;
  for (double w : want) largest = std::max(largest, std::abs(w));
  const double rtol = double_precision ? 1e-12 : 1e-5;
  const double atol = (double_precision ? 1e-13 : 1e-6) * largest;
  for (std::size_t i = 0; i < want.size(); ++i)
    if (!close(got[i], want[i], rtol, atol)) {
      FAIL(fmt::format("{} (GPU against CPU) element {}: got {:.9g}, want {:.9g}", what, i, got[i], want[i]));
      return;
    }
}

// The elements of a tensor on any device, as doubles on the host.
template <class X>
std::vector<double> host_values(const X& x) {
  const auto& h = to_host(x);
  return std::vector<double>(h.data(), h.data() + X::size);
}

// f(m, inputs...) of module m on device Dv (the inputs are host tensors, copied over as graph
// variables), and the gradients of Σ r ⊙ f for a fixed random r with respect to every input and
// every parameter of m, as named host values: "value", "input 0", ..., then the parameters' names.
template <class Dv, class M, class F, class... X>
std::vector<std::pair<std::string, std::vector<double>>> module_value_and_gradients(M& m, F& f, const X&... inputs) {
  nn::zero_grad(m);
  Graph g;
  auto vars = std::make_tuple(g.variable(inputs.template to<Dv>())...);
  auto y = std::apply([&](auto&... v) { return eval(f(m, v...)); }, vars);
  using Y = decltype(y);
  using T = typename Y::value_type;
  random::Generator gen(987);
  Tensor<T, typename Y::shape, Dv> r = random::uniform<typename Y::shape, T, Dv>(gen, T(-1), T(1));
  sum(y * std::move(r)).backward();
  std::vector<std::pair<std::string, std::vector<double>>> out;
  out.emplace_back("value", host_values(y.value()));
  std::size_t i = 0;
  std::apply([&](auto&... v) { (out.emplace_back(fmt::format("input {}", i++), host_values(v.grad())), ...); }, vars);
  nn::for_each_parameter(m, [&](const std::string& name, auto& p) {
    if (p.has_grad()) out.emplace_back(name, host_values(p.grad()));
    else out.emplace_back(name + " (no gradient)", std::vector<double>{});
  });
  return out;
}

// On a GPU: the module make(std::type_identity<D>{}) and the module make(std::type_identity<cpu>{})
// (made with the same seed, so with the same weights) compute the same f(m, inputs...) and the same
// gradients with respect to every input and every parameter (check_parity_scaled). On the CPU there
// is nothing to compare: it returns at once.
template <class D, class Make, class F, class... X>
void check_module_parity(Make make, F f, const X&... inputs) {
  if constexpr (is_gpu<D>) {
    using T = typename std::tuple_element_t<0, std::tuple<X...>>::value_type;
    auto on_gpu = make(std::type_identity<D>{});
    auto on_cpu = make(std::type_identity<cpu>{});
    const auto got = module_value_and_gradients<D>(on_gpu, f, inputs...);
    const auto want = module_value_and_gradients<cpu>(on_cpu, f, inputs...);
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      CHECK(got[i].first == want[i].first);
      check_parity_scaled(got[i].second, want[i].second, std::is_same_v<T, double>, got[i].first);
    }
  } else {
    (void)make;
    (void)f;
    ((void)inputs, ...);
  }
}

// make(inputs...) computed on the inputs' device, as a tensor. On the GPU it is computed again on
// the CPU from host copies of the same inputs, the two results must agree (check_parity), and the
// CPU's is returned: a test's own checks then read the same numbers on both devices.
template <class Make, class... X>
auto evaluate(Make&& make, const X&... inputs) {
  auto got = materialize(make(inputs...));
  if constexpr (std::is_same_v<typename decltype(got)::device, cpu>) {
    return got;
  } else {
    auto want = materialize(make(inputs.template to<cpu>()...));
    check_parity(got.template to<cpu>(), want);
    return want;
  }
}

// The checkout's root (defined in tests/main.cpp).
extern const char* const source_dir;

// The shared data folder (../shared/data beside the checkout, or $TSGAN_SHARED_DATA).
inline std::filesystem::path shared_data() {
  if (const char* env = std::getenv("TSGAN_SHARED_DATA")) return env;
  return std::filesystem::path(source_dir) / ".." / "shared" / "data";
}

// A new, empty directory under the system's temporary directory, removed with its contents.
class TempDir {
 public:
  TempDir() {
    std::string name = (std::filesystem::temp_directory_path() / "tsgan-test-XXXXXX").string();
    if (!::mkdtemp(name.data())) throw std::runtime_error("cannot create a temporary directory");
    path_ = name;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

  // The names directly inside the directory.
  std::set<std::string> entries() const {
    std::set<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(path_)) out.insert(e.path().filename().string());
    return out;
  }

 private:
  std::filesystem::path path_;
};

// Writes bytes as they are (no atomic rename: tests use this to make broken files).
template <class Byte>
void write_bytes(const std::filesystem::path& path, const std::vector<Byte>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

inline std::vector<unsigned char> read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<unsigned char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Runs f, which must throw an IoError whose message starts with `path` and contains every one of
// `parts`; reports the message otherwise.
template <class F>
void check_io_error(F&& f, const std::filesystem::path& path, std::initializer_list<std::string> parts) {
  try {
    f();
  } catch (const IoError& e) {
    const std::string msg = e.what();
    INFO("message: ", msg);
    CHECK(msg.starts_with(path.string() + ": "));
    for (const std::string& p : parts) CHECK_MESSAGE(msg.find(p) != std::string::npos, "missing: ", p);
    return;
  } catch (const std::exception& e) {
    FAIL("expected an IoError, got another exception: ", e.what());
    return;
  }
  FAIL("expected an IoError naming ", path.string(), ", nothing was thrown");
}

}  // namespace tsgan::test
