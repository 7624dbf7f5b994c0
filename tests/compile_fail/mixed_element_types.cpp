// float and double tensors do not mix silently.
// expect: operands have different element types
// expect: CheckSameValueType<float, double>
#include <tsgan/tsgan.hpp>

int main() {
  tsgan::Tensor<float, tsgan::Shape<3>> a;
#ifdef TSGAN_EXPECT_OK
  tsgan::Tensor<float, tsgan::Shape<3>> b;
#else
  tsgan::Tensor<double, tsgan::Shape<3>> b;
#endif
  auto c = a - b;
  (void)c;
}
