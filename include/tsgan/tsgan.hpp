// The umbrella header: everything tsgan offers on the CPU (and on the GPU under nvcc).
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
#if defined(__CUDACC__)
#include "tsgan/kernels/cuda/graph.cuh"
#endif
