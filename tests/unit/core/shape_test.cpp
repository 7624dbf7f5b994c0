#include <doctest/doctest.h>

#include "tsgan/core/shape.hpp"

using namespace tsgan;

TEST_SUITE("core.shape") {
  TEST_CASE("rank, size, dims and row-major strides") {
    using S = Shape<2, 3, 4>;
    static_assert(S::rank == 3 && S::size == 24);
    static_assert(S::dims == std::array<index_t, 3>{2, 3, 4});
    static_assert(S::strides == std::array<index_t, 3>{12, 4, 1});
    static_assert(S::offset(1, 2, 3) == 23);
    static_assert(Shape<>::rank == 0 && Shape<>::size == 1);
    static_assert(Shape<7>::strides[0] == 1);
    CHECK(S::dim(1) == 3);
  }

  TEST_CASE("numpy broadcasting") {
    static_assert(std::is_same_v<broadcast_t<Shape<2, 3>, Shape<2, 3>>, Shape<2, 3>>);
    static_assert(std::is_same_v<broadcast_t<Shape<2, 3>, Shape<3>>, Shape<2, 3>>);
    static_assert(std::is_same_v<broadcast_t<Shape<4, 1, 5>, Shape<3, 1>>, Shape<4, 3, 5>>);
    static_assert(std::is_same_v<broadcast_t<Shape<>, Shape<6, 2>>, Shape<6, 2>>);
    static_assert(std::is_same_v<broadcast_t<Shape<1, 3, 1, 1>, Shape<2, 3, 8, 8>>, Shape<2, 3, 8, 8>>);
    static_assert(!broadcastable_v<Shape<2, 3>, Shape<4, 3>>);
    static_assert(!broadcastable_v<Shape<3>, Shape<4>>);
    static_assert(broadcasts_to_v<Shape<3, 1>, Shape<2, 3, 5>>);
    static_assert(!broadcasts_to_v<Shape<2, 3, 5>, Shape<3, 5>>);
  }

  TEST_CASE("reductions, with and without kept dimensions") {
    using S = Shape<2, 3, 4, 5>;
    static_assert(std::is_same_v<reduce_t<S, Axes<>>, Shape<>>);
    static_assert(std::is_same_v<reduce_t<S, Axes<>, true>, Shape<1, 1, 1, 1>>);
    static_assert(std::is_same_v<reduce_t<S, Axes<0, 2, 3>>, Shape<3>>);
    static_assert(std::is_same_v<reduce_t<S, Axes<0, 2, 3>, true>, Shape<1, 3, 1, 1>>);
    static_assert(std::is_same_v<reduce_t<S, Axes<-1>>, Shape<2, 3, 4>>);
    static_assert(std::is_same_v<reduce_t<S, Axes<1, -2>>, Shape<2, 5>>);
    static_assert(CheckAxis<S, -4>::index == 0 && CheckAxis<S, 3>::index == 3);
  }

  TEST_CASE("concatenation along an axis") {
    static_assert(std::is_same_v<concat_t<1, Shape<2, 3, 8>, Shape<2, 5, 8>>, Shape<2, 8, 8>>);
    static_assert(std::is_same_v<concat_t<0, Shape<1, 4>, Shape<3, 4>>, Shape<4, 4>>);
    static_assert(std::is_same_v<concat_t<-1, Shape<2, 2>, Shape<2, 7>>, Shape<2, 9>>);
  }

  TEST_CASE("reshape and permute") {
    static_assert(CheckReshape<Shape<2, 3, 4>, Shape<6, 4>>::value);
    static_assert(CheckReshape<Shape<24>, Shape<2, 2, 2, 3>>::value);
    static_assert(std::is_same_v<permute_t<Shape<2, 3, 4>, 2, 0, 1>, Shape<4, 2, 3>>);
    static_assert(std::is_same_v<permute_t<Shape<2, 3, 4, 5>, 0, 2, 3, 1>, Shape<2, 4, 5, 3>>);
    static_assert(PermuteShape<Shape<2, 3>, -1, 0>::perm == std::array<int, 2>{1, 0});
  }

  TEST_CASE("convolution output sizes") {
    // PyTorch: Conv2d(k=4, s=2, p=1) halves; ConvTranspose2d(k=4, s=2, p=1) doubles.
    static_assert(conv_out_size(128, 4, 2, 1, 1) == 64);
    static_assert(conv_out_size(150, 7, 2, 0, 0) == 72);  // the recognizer's first conv
    static_assert(conv_out_size(72, 3, 2, 0, 0) == 35);   // its max-pool
    static_assert(conv_out_size(10, 3, 1, 2, 2, 2) == 10);  // dilation 2, padding 2
    static_assert(conv_transpose_out_size(64, 4, 2, 1) == 128);
    static_assert(conv_transpose_out_size(7, 3, 2, 1, 1) == 14);
    static_assert(conv_transpose_out_size(5, 3, 1, 0, 0, 2) == 9);
    // TF 'same': a 3x3 stride-2 conv on 112 pads 0 on top and 1 at the bottom.
    static_assert(tf_same_padding(112, 3, 2).begin == 0 && tf_same_padding(112, 3, 2).end == 1);
    static_assert(tf_same_padding(35, 3, 1).begin == 1 && tf_same_padding(35, 3, 1).end == 1);
    static_assert(tf_same_padding(8, 4, 2).begin == 1 && tf_same_padding(8, 4, 2).end == 1);
    static_assert(tf_same_padding(4, 1, 1).begin == 0 && tf_same_padding(4, 1, 1).end == 0);
    CHECK(conv_out_size(35, 3, 1, 1, 1) == 35);
  }
}
