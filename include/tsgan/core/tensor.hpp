// Tensor<T, Shape, Device>: an owning, move-only array whose shape is part of its type, and
// TensorView: a non-owning window into one (a batch slice, a channel slice, a reshape).
//
// Copies are explicit (`clone()`, `copy_from()`); moving is a pointer swap. Memory comes from the
// device's caching allocator. A tensor is also the leaf of the expression templates in
// expr/expr.hpp: `Tensor<float, S> z = tanh(2.f * x + 1.f);` evaluates in one pass.
#pragma once

#include <algorithm>
#include <array>
#include <concepts>
#include <cstring>
#include <type_traits>
#include <utility>

#include "tsgan/core/allocator.hpp"
#include "tsgan/core/device.hpp"
#include "tsgan/core/error.hpp"
#include "tsgan/core/half.hpp"
#include "tsgan/core/shape.hpp"

namespace tsgan {

// Element types a tensor may hold. float and double compute everywhere; half and bfloat16 are
// storage types (checkpoints now, mixed precision on the GPU).
template <class T>
concept Element = std::same_as<T, float> || std::same_as<T, double> || std::same_as<T, half> ||
                  std::same_as<T, bfloat16> || std::same_as<T, std::int64_t> ||
                  std::same_as<T, std::int32_t> || std::same_as<T, std::uint8_t>;

// Compile-time strides of a view, in elements.
template <index_t... S>
struct Strides {
  static constexpr std::size_t rank = sizeof...(S);
  static constexpr std::array<index_t, rank> values{S...};
};

namespace detail {
template <class Shp, std::size_t... I>
auto default_strides(std::index_sequence<I...>) -> Strides<Shp::strides[I]...>;
}  // namespace detail

template <ShapeType S>
using default_strides_t = decltype(detail::default_strides<S>(std::make_index_sequence<S::rank>{}));

// Marks the constructors that leave memory uninitialised (the caller writes every element).
struct uninitialized_t {
  explicit uninitialized_t() = default;
};
inline constexpr uninitialized_t uninitialized{};

template <class T, class D>
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(std::size_t count)
      : data_(static_cast<T*>(allocator<D>().allocate(count * sizeof(T)))), count_(count) {}
  Buffer(Buffer&& o) noexcept : data_(std::exchange(o.data_, nullptr)), count_(std::exchange(o.count_, 0)) {}
  Buffer& operator=(Buffer&& o) noexcept {
    if (this != &o) {
      release();
      data_ = std::exchange(o.data_, nullptr);
      count_ = std::exchange(o.count_, 0);
    }
    return *this;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { release(); }

  T* data() const { return data_; }
  std::size_t count() const { return count_; }

 private:
  void release() noexcept {
    if (data_) allocator<D>().deallocate(data_, count_ * sizeof(T));
    data_ = nullptr;
    count_ = 0;
  }
  T* data_ = nullptr;
  std::size_t count_ = 0;
};

template <class T, ShapeType S, class D = cpu>
class Tensor;
template <class T, ShapeType S, class D = cpu, class St = default_strides_t<S>>
class TensorView;

template <class X>
struct is_tensor : std::false_type {};
template <class T, class S, class D>
struct is_tensor<Tensor<T, S, D>> : std::true_type {};
template <class X>
struct is_tensor_view : std::false_type {};
template <class T, class S, class D, class St>
struct is_tensor_view<TensorView<T, S, D, St>> : std::true_type {};

// Anything the expression templates can read: a tensor, a view, or an expression node.
template <class E>
concept Expression = requires {
  typename std::remove_cvref_t<E>::value_type;
  typename std::remove_cvref_t<E>::shape;
  typename std::remove_cvref_t<E>::device;
  requires std::remove_cvref_t<E>::is_expression;
};


template <class T, ShapeType S, class D>
class Tensor {
  static_assert(CheckDeviceAvailable<D>::value);
  static_assert(Element<T>, "tsgan: unsupported tensor element type");

 public:
  using value_type = T;
  using shape = S;
  using device = D;
  using strides = default_strides_t<S>;
  static constexpr bool is_expression = true;
  static constexpr std::size_t rank = S::rank;
  static constexpr index_t size = S::size;

  // Zero-filled.
  Tensor() : buffer_(S::size) { fill(T{}); }
  explicit Tensor(uninitialized_t) : buffer_(S::size) {}
  explicit Tensor(T value) : buffer_(S::size) { fill(value); }

  // Evaluates an expression of the same shape in one pass. `assign` is defined by each device's
  // evaluator (expr/eval_cpu.hpp, expr/eval_cuda.cuh) and found by argument-dependent lookup.
  template <Expression E>
    requires(!is_tensor<std::remove_cvref_t<E>>::value)
  Tensor(const E& e) : buffer_(S::size) {  // NOLINT: implicit, like Eigen's evaluation
    assign(*this, e);
  }
  template <Expression E>
    requires(!is_tensor<std::remove_cvref_t<E>>::value)
  Tensor& operator=(const E& e) {
    assign(*this, e);
    return *this;
  }

  Tensor(Tensor&&) noexcept = default;
  Tensor& operator=(Tensor&&) noexcept = default;
  explicit Tensor(const Tensor& other) : buffer_(S::size) { copy_from(other); }
  Tensor& operator=(const Tensor&) = delete;  // use copy_from() or clone()

  Tensor clone() const { return Tensor(*this); }

  void copy_from(const Tensor& other) {
    if constexpr (std::is_same_v<D, cpu>) std::memcpy(data(), other.data(), sizeof(T) * S::size);
    else copy_bytes(D{}, data(), D{}, other.data(), sizeof(T) * S::size);  // kernels/cuda/copy.cuh
  }

  // A copy of this tensor on device D2 (on the same device, a clone). Between the host and the GPU
  // it goes through kernels/cuda/copy.cuh, found by argument-dependent lookup.
  template <class D2>
  Tensor<T, S, D2> to() const;

  T* data() { return buffer_.data(); }
  const T* data() const { return buffer_.data(); }
  // False only for a moved-from tensor.
  bool valid() const { return buffer_.data() != nullptr; }

  // Element access by index pack (host tensors only).
  template <std::integral... I>
    requires(sizeof...(I) == S::rank)
  T& operator()(I... idx) {
    static_assert(std::is_same_v<D, cpu>, "tsgan: element access is for host tensors");
    return data()[S::offset(idx...)];
  }
  template <std::integral... I>
    requires(sizeof...(I) == S::rank)
  const T& operator()(I... idx) const {
    static_assert(std::is_same_v<D, cpu>, "tsgan: element access is for host tensors");
    return data()[S::offset(idx...)];
  }
  T& operator[](index_t i) {
    static_assert(std::is_same_v<D, cpu>, "tsgan: element access is for host tensors; copy with to<cpu>() first");
    return data()[i];
  }
  const T& operator[](index_t i) const {
    static_assert(std::is_same_v<D, cpu>, "tsgan: element access is for host tensors; copy with to<cpu>() first");
    return data()[i];
  }

  void fill(T value);

  // Views. `batch<Count>(start)` is items [start, start + Count) of axis 0; `channels<Count>(start)`
  // is channels [start, start + Count) of axis 1 for every item. Both check the range.
  template <index_t Count>
  auto batch(index_t start);
  template <index_t Count>
  auto batch(index_t start) const;
  template <index_t Count>
  auto channels(index_t start);
  template <index_t Count>
  auto channels(index_t start) const;

  // The same memory read with another shape of the same size.
  template <ShapeType To>
  TensorView<T, To, D> view_as() {
    static_assert(CheckReshape<S, To>::value);
    return TensorView<T, To, D>(data());
  }
  template <ShapeType To>
  TensorView<const T, To, D> view_as() const {
    static_assert(CheckReshape<S, To>::value);
    return TensorView<const T, To, D>(data());
  }
  // Moves the buffer into a tensor of another shape of the same size (no copy).
  template <ShapeType To>
  Tensor<T, To, D> reshape() && {
    static_assert(CheckReshape<S, To>::value);
    return Tensor<T, To, D>(std::move(buffer_));
  }

  TensorView<T, S, D> view() { return TensorView<T, S, D>(data()); }
  TensorView<const T, S, D> view() const { return TensorView<const T, S, D>(data()); }

 private:
  template <class, ShapeType, class>
  friend class Tensor;
  explicit Tensor(Buffer<T, D>&& b) : buffer_(std::move(b)) {}

  Buffer<T, D> buffer_;
};

template <class T, ShapeType S, class D, class St>
class TensorView {
  static_assert(CheckDeviceAvailable<D>::value);
  static_assert(St::rank == S::rank, "tsgan: a view needs one stride per dimension");

 public:
  using value_type = std::remove_const_t<T>;
  using shape = S;
  using device = D;
  using strides = St;
  static constexpr bool is_expression = true;
  static constexpr std::size_t rank = S::rank;
  static constexpr index_t size = S::size;
  // True when the elements are consecutive in memory in row-major order.
  static constexpr bool contiguous = std::is_same_v<St, default_strides_t<S>>;

  explicit TensorView(T* data) : data_(data) {}
  // A view of a mutable tensor converts to a view of a const one.
  template <class U>
    requires(std::is_same_v<const U, T> && !std::is_same_v<U, T>)
  TensorView(const TensorView<U, S, D, St>& v) : data_(v.data()) {}  // NOLINT

  template <Expression E>
  const TensorView& operator=(const E& e) const {
    static_assert(!std::is_const_v<T>, "tsgan: cannot assign through a view of a const tensor");
    assign(*this, e);
    return *this;
  }
  const TensorView& operator=(const TensorView& v) const {
    return this->template operator=<TensorView>(v);
  }
  TensorView(const TensorView&) = default;

  T* data() const { return data_; }

  // A tensor on device D2 holding the viewed elements (strided views are made contiguous first,
  // on their own device).
  template <class D2>
  Tensor<value_type, S, D2> to() const;

  template <std::integral... I>
    requires(sizeof...(I) == S::rank)
  T& operator()(I... idx) const {
    static_assert(std::is_same_v<D, cpu>, "tsgan: element access is for host tensors");
    index_t off = 0;
    std::size_t axis = 0;
    ((off += static_cast<index_t>(idx) * St::values[axis++]), ...);
    return data_[off];
  }

 private:
  T* data_;
};

namespace detail {
[[noreturn]] inline void bad_slice(const char* what, index_t start, index_t count, index_t extent) {
  fail("tsgan: {} slice [{}, {}) is out of range for a dimension of size {}", what, start,
       start + count, extent);
}

template <class T, class S, class D, index_t Count, std::size_t... I>
auto batch_view(T* base, index_t start, std::index_sequence<I...>) {
  static_assert(S::rank >= 1 && Count >= 1 && Count <= S::dims[0],
                "tsgan: batch slice larger than the batch");
  using Out = Shape<Count, S::dims[I + 1]...>;
  if (start < 0 || start + Count > S::dims[0]) bad_slice("batch", start, Count, S::dims[0]);
  return TensorView<T, Out, D>(base + start * S::strides[0]);
}

template <class T, class S, class D, index_t Count, std::size_t... I>
auto channel_view(T* base, index_t start, std::index_sequence<I...>) {
  static_assert(S::rank >= 2 && Count >= 1 && Count <= S::dims[1],
                "tsgan: channel slice larger than the number of channels");
  using Out = Shape<S::dims[0], Count, S::dims[I + 2]...>;
  using St = Strides<S::strides[0], S::strides[1], S::strides[I + 2]...>;
  if (start < 0 || start + Count > S::dims[1]) bad_slice("channel", start, Count, S::dims[1]);
  return TensorView<T, Out, D, St>(base + start * S::strides[1]);
}
}  // namespace detail

template <class T, ShapeType S, class D>
template <index_t Count>
auto Tensor<T, S, D>::batch(index_t start) {
  return detail::batch_view<T, S, D, Count>(data(), start, std::make_index_sequence<S::rank - 1>{});
}
template <class T, ShapeType S, class D>
template <index_t Count>
auto Tensor<T, S, D>::batch(index_t start) const {
  return detail::batch_view<const T, S, D, Count>(data(), start,
                                                  std::make_index_sequence<S::rank - 1>{});
}
template <class T, ShapeType S, class D>
template <index_t Count>
auto Tensor<T, S, D>::channels(index_t start) {
  return detail::channel_view<T, S, D, Count>(data(), start, std::make_index_sequence<S::rank - 2>{});
}
template <class T, ShapeType S, class D>
template <index_t Count>
auto Tensor<T, S, D>::channels(index_t start) const {
  return detail::channel_view<const T, S, D, Count>(data(), start,
                                                    std::make_index_sequence<S::rank - 2>{});
}

// Host to host; the other pairs of devices are in kernels/cuda/copy.cuh.
inline void copy_bytes(cpu, void* dst, cpu, const void* src, std::size_t bytes) {
  if (bytes) std::memcpy(dst, src, bytes);
}

template <class T, ShapeType S, class D>
template <class D2>
Tensor<T, S, D2> Tensor<T, S, D>::to() const {
  if constexpr (std::is_same_v<D2, D>) {
    return clone();
  } else {
    Tensor<T, S, D2> out(uninitialized);
    copy_bytes(D2{}, out.data(), D{}, data(), sizeof(T) * S::size);
    return out;
  }
}

template <class T, ShapeType S, class D, class St>
template <class D2>
Tensor<typename TensorView<T, S, D, St>::value_type, S, D2> TensorView<T, S, D, St>::to() const {
  if constexpr (contiguous) {
    Tensor<value_type, S, D2> out(uninitialized);
    copy_bytes(D2{}, out.data(), D{}, data(), sizeof(value_type) * S::size);
    return out;
  } else {
    Tensor<value_type, S, D> dense = *this;  // one pass over the strided elements
    if constexpr (std::is_same_v<D2, D>) return dense;
    else return dense.template to<D2>();
  }
}

template <class T, ShapeType S, class D>
void Tensor<T, S, D>::fill(T value) {
  if constexpr (std::is_same_v<D, cpu>) {
    std::fill_n(data(), S::size, value);
  } else {
    fill_device(*this, value);  // kernels/cuda/fill.cuh, found by argument-dependent lookup
  }
}

}  // namespace tsgan

// Under nvcc: GPU tensors' fill and copies (the expression kernels come with expr/expr.hpp).
#if defined(__CUDACC__)
#include "tsgan/kernels/cuda/copy.cuh"
#include "tsgan/kernels/cuda/fill.cuh"
#endif
