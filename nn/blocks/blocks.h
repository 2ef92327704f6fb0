// Every block of the ResNeXt / SE / SK / ResNeSt family, for users who want one include.
#pragma once
#include "nn/blocks/basic_block.h"
#include "nn/blocks/bottleneck.h"
#include "nn/blocks/channels.h"
#include "nn/blocks/conv_norm_act.h"
#include "nn/blocks/downsample.h"
#include "nn/blocks/resnest.h"
#include "nn/blocks/se.h"
#include "nn/blocks/selective_kernel.h"
#include "nn/blocks/sk_blocks.h"
#include "nn/blocks/split_attn.h"
