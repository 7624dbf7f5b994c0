// The umbrella header of tensors and autograd: tensors, expressions, Vars and their reductions,
// the losses and softmax, modules (parameter walking, train/eval, zero_grad) and the optimizers,
// on the CPU (and on the GPU under nvcc). For networks, include tsgan/nn.hpp, which adds every
// other op (convolutions, products, pooling, normalisation, layout), the layers, initialisation
// and checkpoints. They are two headers because those ops include the BLAS's cblas.h, which
// declares a global `bfloat16` that clashes with tsgan::bfloat16 under `using namespace tsgan`.
// docs/api.md lists every header; docs/performance.md states what each umbrella costs to compile.
#pragma once

#include "tsgan/core/config.hpp"
#include "tsgan/core/shape.hpp"
#include "tsgan/core/device.hpp"
#include "tsgan/core/allocator.hpp"
#include "tsgan/core/tensor.hpp"
#include "tsgan/core/random.hpp"
#include "tsgan/core/parallel.hpp"
#include "tsgan/core/settings.hpp"
#include "tsgan/core/format.hpp"
#include "tsgan/expr/expr.hpp"
#include "tsgan/expr/reduce.hpp"
#include "tsgan/expr/random_expr.hpp"
#include "tsgan/autograd/graph.hpp"
#include "tsgan/autograd/var.hpp"
#include "tsgan/autograd/reduce.hpp"
#include "tsgan/autograd/gradcheck.hpp"
#include "tsgan/ops/losses.hpp"
#include "tsgan/ops/softmax.hpp"
#include "tsgan/nn/module.hpp"
#include "tsgan/optim/sgd.hpp"
#include "tsgan/optim/adam.hpp"
#if defined(__CUDACC__)
#include "tsgan/kernels/cuda/graph.cuh"
#endif
