// Adding tensors whose shapes do not broadcast is a compile error that names both shapes.
// expect: cannot be broadcast together
// expect: Shape<2, 3>, tsgan::Shape<4, 3>
#include <tsgan/tsgan.hpp>

int main() {
  tsgan::Tensor<float, tsgan::Shape<2, 3>> a;
#ifdef TSGAN_EXPECT_OK
  tsgan::Tensor<float, tsgan::Shape<1, 3>> b;
#else
  tsgan::Tensor<float, tsgan::Shape<4, 3>> b;
#endif
  auto c = a + b;
  (void)c;
}
