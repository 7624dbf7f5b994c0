// The umbrella header for writing and training networks of your own: everything of tsgan/tsgan.hpp
// (tensors, autograd, losses, modules, optimizers) and every op on Vars (convolutions, matrix
// products, pooling, normalisation, layout, resizing), the layers, initialisation and module
// checkpoints. Not included: image files (tsgan/io/image.hpp, which compiles stb into the
// translation unit), data sets, the face models and the TSGAN blocks.
//
// The ops include the BLAS's cblas.h, whose global `typedef uint16_t bfloat16` makes a plain
// `bfloat16` ambiguous under `using namespace tsgan`: write tsgan::bfloat16.
#pragma once

#include "tsgan/tsgan.hpp"
#include "tsgan/ops/ops.hpp"
#include "tsgan/ops/linear.hpp"
#include "tsgan/nn/layers.hpp"
#include "tsgan/nn/norm.hpp"
#include "tsgan/nn/init.hpp"
#include "tsgan/nn/checkpoint.hpp"
