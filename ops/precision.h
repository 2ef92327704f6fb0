// The precision float32 inference convolutions compute in.
//
// bfloat16 keeps float32's exponent range with an 8-bit mantissa: on CPUs with AVX512-BF16 or
// AMX, oneDNN's bf16 convolutions run several times faster than float32 ones, at about 3
// significant digits per product (sums are accumulated in float32). It is a choice for inference
// only: the scope below switches the convolutions of conv2d_inference (ops/conv.h), which records
// no graph, so training, gradients and the float64 reference path never see it. Tensors stay
// float32 outside the convolutions; weights are converted to bf16 once and cached.
#pragma once

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

// oneDNN's name of the CPU instruction set it dispatches to ("avx512_core_amx", ...).
const char* cpu_isa_name();

}  // namespace cardinal
