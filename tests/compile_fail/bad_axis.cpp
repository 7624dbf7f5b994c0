// Reducing over an axis the shape does not have does not compile.
// expect: axis out of range for this shape
// expect: CheckAxis<tsgan::Shape<2, 3, 4, 5>, 4>
#include <tsgan/tsgan.hpp>

int main() {
  tsgan::Tensor<float, tsgan::Shape<2, 3, 4, 5>> t;
#ifdef TSGAN_EXPECT_OK
  auto s = tsgan::sum<tsgan::Axes<3>>(t);
#else
  auto s = tsgan::sum<tsgan::Axes<4>>(t);
#endif
  (void)s;
}
