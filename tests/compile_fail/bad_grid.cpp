// Grid columns whose batch size or image size differ do not compile: each row of the grid is one
// batch item, and every tile of a row has the same size.
// expect: every column must have the same N
// expect: CheckGridColumns<tsgan::Shape<2, 3, 8, 8>, tsgan::Shape<2, 1, 4, 8> ?>
#include <tsgan/io/image.hpp>

int main() {
  tsgan::Tensor<float, tsgan::Shape<2, 3, 8, 8>> photo;
#ifdef TSGAN_EXPECT_OK
  tsgan::Tensor<float, tsgan::Shape<2, 1, 8, 8>> mask;
#else
  tsgan::Tensor<float, tsgan::Shape<2, 1, 4, 8>> mask;
#endif
  return tsgan::io::make_grid(photo, mask).width;
}
