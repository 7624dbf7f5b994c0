// Concatenating Vars whose shapes differ off the concatenation axis does not compile, and the
// message names both shapes.
// expect: cannot concatenate these shapes
// expect: ConcatShapes<1, tsgan::Shape<2, 3, 4, 4>, tsgan::Shape<2, 5, 3, 4> ?>
#include <tsgan/ops/layout.hpp>
#include <tsgan/tsgan.hpp>

int main() {
  tsgan::Graph g;
  auto a = g.input(tsgan::Tensor<float, tsgan::Shape<2, 3, 4, 4>>());
#ifdef TSGAN_EXPECT_OK
  auto b = g.input(tsgan::Tensor<float, tsgan::Shape<2, 5, 4, 4>>());
#else
  auto b = g.input(tsgan::Tensor<float, tsgan::Shape<2, 5, 3, 4>>());
#endif
  auto c = tsgan::concat<1>(a, b);
  (void)c;
}
