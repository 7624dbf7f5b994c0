// Every differentiable operation on Vars beyond the fused elementwise expressions and reductions
// (which come with autograd/): one header per op family.
#pragma once

#include "tsgan/ops/conv.hpp"
#include "tsgan/ops/dropout.hpp"
#include "tsgan/ops/layout.hpp"
#include "tsgan/ops/norm.hpp"
#include "tsgan/ops/pool.hpp"
#include "tsgan/ops/resize.hpp"
