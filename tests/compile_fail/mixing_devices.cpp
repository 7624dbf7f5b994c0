// An expression over tensors on different devices does not compile.
// expect: operands live on different devices
// expect: CheckSameDevice<tsgan::cpu, tsgan::cuda>
#include <tsgan/tsgan.hpp>

int main() {
  tsgan::Tensor<float, tsgan::Shape<8>> a;
#ifdef TSGAN_EXPECT_OK
  tsgan::Tensor<float, tsgan::Shape<8>> b;
#else
  tsgan::Tensor<float, tsgan::Shape<8>, tsgan::cuda> b;
#endif
  auto c = a * b;
  (void)c;
}
