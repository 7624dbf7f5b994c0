// Assigning an expression whose shape does not broadcast to the destination does not compile.
// expect: cannot assign an expression of this shape
// expect: CheckAssignable<tsgan::Shape<2, 3>, tsgan::Shape<3, 2> ?>
#include <tsgan/tsgan.hpp>

int main() {
#ifdef TSGAN_EXPECT_OK
  tsgan::Tensor<float, tsgan::Shape<1, 3>> src;
#else
  tsgan::Tensor<float, tsgan::Shape<3, 2>> src;
#endif
  tsgan::Tensor<float, tsgan::Shape<2, 3>> dst = src * 2.f;
  (void)dst;
}
