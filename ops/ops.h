// Every differentiable op, for users who want one include.
#pragma once
#include "ops/activation.h"
#include "ops/arithmetic.h"
#include "ops/batch_norm.h"
#include "ops/conv.h"
#include "ops/dropout.h"
#include "ops/linear.h"
#include "ops/loss.h"
#include "ops/math.h"
#include "ops/pooling.h"
#include "ops/reduction.h"
#include "ops/shape_ops.h"
