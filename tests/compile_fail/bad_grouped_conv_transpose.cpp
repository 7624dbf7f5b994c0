// A grouped transposed convolution whose input channels do not divide by the groups does not
// compile; the message names the input and weight shapes and the groups.
// expect: conv_transpose2d expects an input .N, Cin, H, W. and a weight .Cin, Cout / groups, kh, kw.
// expect: CheckConvTransposeWeight<tsgan::Shape<1, 6, 4, 4>, tsgan::Shape<6, 2, 3, 3>, 4>
#include <tsgan/tsgan.hpp>
#include <tsgan/ops/conv.hpp>

#ifdef TSGAN_EXPECT_OK
constexpr tsgan::index_t groups = 3;
#else
constexpr tsgan::index_t groups = 4;  // 6 input channels
#endif

int main() {
  tsgan::Graph g;
  tsgan::Tensor<float, tsgan::Shape<1, 6, 4, 4>> x;
  tsgan::Tensor<float, tsgan::Shape<6, 2, 3, 3>> w;
  auto y = tsgan::conv_transpose2d<tsgan::ConvTransposeOptions{.stride = 2, .groups = groups}>(g.input(x), g.input(w));
  (void)y;
}
