// Parameter initialisers. Each fills an existing tensor in place (never recorded for backward)
// from a Generator (the default one when null), so a seeded model build is reproducible.
//
// The defaults of the layers follow timm's ResNet family (docs/timm-configs.md section 8):
//   conv weight   N(0, sqrt(2 / (out * kh * kw)))   kaiming_normal_(fan_out, relu); groups ignored
//   conv bias     U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in/groups * kh * kw
//   BN            weight 1, bias 0, running_mean 0, running_var 1
//   Linear        weight U(+-1/sqrt(in)) (kaiming_uniform a=sqrt(5)), bias U(+-1/sqrt(in))
#pragma once
#include "tensor/random.h"
#include "tensor/tensor.h"

namespace cardinal::init {

enum class FanMode { FanIn, FanOut };

// fan_in = size(1) * receptive field, fan_out = size(0) * receptive field (PyTorch's rule; for a
// grouped conv weight [O, C/g, kh, kw] the group count does not enter).
int64_t fan_in(const Tensor& w);
int64_t fan_out(const Tensor& w);

void uniform_(const Tensor& t, double low, double high, Generator* gen = nullptr);
void normal_(const Tensor& t, double mean, double std, Generator* gen = nullptr);
void constant_(const Tensor& t, double value);
void ones_(const Tensor& t);
void zeros_(const Tensor& t);

// N(0, gain / sqrt(fan)), gain = sqrt(2 / (1 + a^2)) (a = 0: ReLU).
void kaiming_normal_(const Tensor& w, FanMode mode = FanMode::FanOut, double a = 0.0,
                     Generator* gen = nullptr);
// U(-b, b), b = gain * sqrt(3 / fan). a = sqrt(5) gives b = 1/sqrt(fan_in) (PyTorch's default).
void kaiming_uniform_(const Tensor& w, FanMode mode = FanMode::FanIn, double a = 0.0,
                      Generator* gen = nullptr);

// The layer defaults listed above.
void conv_weight_(const Tensor& w, Generator* gen = nullptr);
void conv_bias_(const Tensor& b, const Tensor& w, Generator* gen = nullptr);
void linear_weight_(const Tensor& w, Generator* gen = nullptr);
void linear_bias_(const Tensor& b, const Tensor& w, Generator* gen = nullptr);

}  // namespace cardinal::init
