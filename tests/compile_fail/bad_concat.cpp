// Concatenating shapes that differ off the concatenation axis does not compile.
// expect: cannot concatenate these shapes
// expect: Shape<2, 3, 4>, tsgan::Shape<3, 5, 4>
#include <tsgan/tsgan.hpp>

int main() {
#ifdef TSGAN_EXPECT_OK
  using Joined = tsgan::concat_t<1, tsgan::Shape<2, 3, 4>, tsgan::Shape<2, 5, 4>>;
#else
  using Joined = tsgan::concat_t<1, tsgan::Shape<2, 3, 4>, tsgan::Shape<3, 5, 4>>;
#endif
  tsgan::Tensor<float, Joined> t;
  (void)t;
}
