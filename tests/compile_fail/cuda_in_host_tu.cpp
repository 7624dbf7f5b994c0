// Naming the cuda device in a file the host compiler builds stops with a sentence saying what to do.
// expect: is used in a translation unit that is not compiled as CUDA
// expect: Compile this file with nvcc
#include <tsgan/tsgan.hpp>

int main() {
#ifdef TSGAN_EXPECT_OK
  tsgan::Tensor<float, tsgan::Shape<4>, tsgan::cpu> t;
#else
  tsgan::Tensor<float, tsgan::Shape<4>, tsgan::cuda> t;
#endif
  (void)t;
}
