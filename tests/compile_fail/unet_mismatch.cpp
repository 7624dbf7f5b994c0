// A U-Net decoder only takes the skips of an encoder with the same spec: an encoder level without
// its decoder partner does not compile, and the message names both specs.
// expect: a UNetDecoder takes the skips of an encoder with the same UNetSpec
// expect: CheckSameUNet<tsgan::blocks::UNetSpec<3, 3, 32, 5, 8
#include <tsgan/blocks/unet.hpp>

using Decoder = tsgan::blocks::UNetSpec<3, 3, 32, 5, 8>;
#ifdef TSGAN_EXPECT_OK
using Encoder = Decoder;
#else
using Encoder = tsgan::blocks::UNetSpec<3, 3, 32, 4, 8>;  // one level fewer
#endif

int main() {
  tsgan::blocks::UNetEncoder<Encoder> enc;
  tsgan::blocks::UNetDecoder<Decoder> dec;
  tsgan::Graph g;
  tsgan::Tensor<float, tsgan::Shape<1, 3, 32, 32>> x;
  auto y = dec(enc(g.input(x)));
  (void)y;
}
