// The precision float32 inference convolutions compute in.
//
// bfloat16 keeps float32's exponent range with an 8-bit mantissa: on CPUs with AVX512-BF16 or
// AMX, oneDNN's bf16 convolutions run several times faster than float32 ones, at about 3
// significant digits per product (sums are accumulated in float32). It is a choice for inference
// only: the scope below switches the convolutions of conv2d_inference (ops/conv.h), which records
// no graph, so training, gradients and the float64 reference path never see it. Weights are
// converted to bf16 once and cached.
//
// Inside the scope the activations stay bf16 between the convolutions: conv2d_inference writes a
// bfloat16 tensor (DType::BFloat16, storage only) and reads one without a conversion, including
// the residual of its add post-op. Why: converting each convolution's float32 source to bf16 and
// writing a float32 output took about a fifth of the bf16 primitive time (docs/performance.md).
// The inference ops that follow convolutions read bf16 too: the attention gates (pool_sum and
// gated_sum, ops/channel_gates.h: float32 sums, gated_sum writes bf16 again), and the pools
// (max, average, global), which convert to float32 once and write float32; the head (global
// pool, fc) is float32.
#pragma once

#include "tensor/tensor.h"

namespace cardinal {

enum class ConvPrecision { Float32, BFloat16 };

// The calling thread's setting (Float32 unless a ConvPrecisionScope is alive on it).
ConvPrecision conv_precision();

// Sets the calling thread's inference convolution precision until the scope ends.
// BFloat16 throws ValueError on a CPU without native bf16 (bfloat16_supported()).
class ConvPrecisionScope {
public:
    explicit ConvPrecisionScope(ConvPrecision precision);
    ~ConvPrecisionScope();
    ConvPrecisionScope(const ConvPrecisionScope&) = delete;
    ConvPrecisionScope& operator=(const ConvPrecisionScope&) = delete;

private:
    ConvPrecision previous_;
};

// This CPU runs bf16 convolutions natively (oneDNN sees AVX512-BF16 or AMX). Elsewhere oneDNN
// would emulate them, slower than float32, so the scope refuses.
bool bfloat16_supported();

// t itself unless it is bfloat16; then a float32 copy in the same layout (channels-last stays
// channels-last). Counted as a reorder (ops/dnnl/reorder_stats.h): the float32 ops that read a bf16
// activation (the pools) pay this one pass.
Tensor float32_activation(const Tensor& t);

// oneDNN's name of the CPU instruction set it dispatches to ("avx512_core_amx", ...).
const char* cpu_isa_name();

}  // namespace cardinal
