// Every layer, for users who want one include.
#pragma once
#include "nn/layers/activation.h"
#include "nn/layers/basic.h"
#include "nn/layers/batch_norm.h"
#include "nn/layers/container.h"
#include "nn/layers/conv.h"
#include "nn/layers/dropout.h"
#include "nn/layers/linear.h"
#include "nn/layers/pooling.h"
