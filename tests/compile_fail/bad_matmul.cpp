// A matrix product whose inner dimensions differ does not compile; the message names both shapes.
// expect: matmul operands do not fit
// expect: MatmulPlan<tsgan::Shape<3, 4>, tsgan::Shape<3, 4>, false, false>
#include <tsgan/tsgan.hpp>
#include <tsgan/ops/linear.hpp>

int main() {
  tsgan::Graph g;
  tsgan::Tensor<float, tsgan::Shape<3, 4>> a;
#ifdef TSGAN_EXPECT_OK
  tsgan::Tensor<float, tsgan::Shape<4, 3>> b;
#else
  tsgan::Tensor<float, tsgan::Shape<3, 4>> b;
#endif
  auto c = tsgan::matmul(g.input(a), g.input(b));
  (void)c;
}
