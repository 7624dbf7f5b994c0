// A reshape that changes the number of elements does not compile.
// expect: reshape must preserve the number of elements
// expect: Shape<2, 3>, tsgan::Shape<5, 5>
#include <tsgan/tsgan.hpp>

int main() {
  tsgan::Tensor<float, tsgan::Shape<2, 3>> t;
#ifdef TSGAN_EXPECT_OK
  auto v = t.view_as<tsgan::Shape<3, 2>>();
#else
  auto v = t.view_as<tsgan::Shape<5, 5>>();
#endif
  (void)v;
}
