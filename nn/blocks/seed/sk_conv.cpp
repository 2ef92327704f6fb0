// SKConv forward. The backward comes from the engine: the softmax over the M paths couples
// the branches, so dL/dbranch_m = w_m * g + (terms through GAP(U) -> fc1 -> fc2 -> softmax).
#include "nn/blocks/seed/sk_conv.h"

#include <algorithm>
#include <string>

#include "nn/layers/activation.h"
#include "nn/layers/batch_norm.h"
#include "nn/layers/conv.h"
#include "ops/activation.h"
#include "ops/arithmetic.h"
#include "ops/pooling.h"
#include "ops/shape_ops.h"

namespace cardinal::seed {

namespace {
constexpr int64_t kGroups = 32;  // hard-coded in the document
}

SKConv::SKConv(int64_t in_channels, int64_t out_channels, int64_t stride, int64_t M, int64_t r,
               int64_t L, Generator* gen)
    : in_(in_channels), out_(out_channels), stride_(stride), M_(M), r_(r), L_(L) {
    check<ValueError>(in_channels > 0 && out_channels > 0 && in_channels % kGroups == 0 &&
                          out_channels % kGroups == 0,
                      "SKConv: in_channels and out_channels must be positive multiples of 32 "
                      "(the branch convs use 32 groups), got ", in_channels, " and ", out_channels);
    check<ValueError>(stride > 0, "SKConv: stride must be positive, got ", stride);
    check<ValueError>(M >= 1, "SKConv: M (the number of branches) must be at least 1, got ", M);
    check<ValueError>(r >= 1, "SKConv: r (the reduction) must be at least 1, got ", r);
    check<ValueError>(L >= 1, "SKConv: L (the minimum attention width) must be at least 1, got ", L);
    d_ = std::max(in_channels / r, L);

    conv_ = register_module("conv", std::make_shared<ModuleList>());
    for (int64_t i = 0; i < M; ++i) {
        conv_->push_back(std::shared_ptr<Sequential>(new Sequential{
            std::make_shared<Conv2d>(Conv2dOptions(in_channels, out_channels, 3)
                                         .stride(stride)
                                         .padding(1 + i)
                                         .dilation(1 + i)
                                         .groups(kGroups)
                                         .bias(false),
                                     gen),
            std::make_shared<BatchNorm2d>(out_channels), std::make_shared<ReLU>()}));
    }
    fc1_ = register_module(
        "fc1", std::shared_ptr<Sequential>(new Sequential{
                   std::make_shared<Conv2d>(Conv2dOptions(out_channels, d_, 1).bias(false), gen),
                   std::make_shared<BatchNorm2d>(d_), std::make_shared<ReLU>()}));
    fc2_ = register_module(
        "fc2", std::make_shared<Conv2d>(Conv2dOptions(d_, M * out_channels, 1).bias(false), gen));
}

Tensor SKConv::forward(const Tensor& x) {
    check<ShapeError>(x.dim() == 4 && x.size(1) == in_, "SKConv: expected input [N, ", in_,
                      ", H, W], got ", describe(x));
    const int64_t B = x.size(0), C = out_;
    std::vector<Tensor> branches;
    for (size_t i = 0; i < conv_->size(); ++i) branches.push_back((*conv_)[i]->forward(x));
    Tensor U = branches[0];
    for (size_t i = 1; i < branches.size(); ++i) U = add(U, branches[i]);

    Tensor z = fc1_->forward(global_avg_pool2d(U));
    Tensor logits = reshape(fc2_->forward(z), {B, M_, C});  // path-major: (m, c) <- m*C + c
    Tensor w = softmax(logits, 1);

    Tensor V;
    for (int64_t m = 0; m < M_; ++m) {
        Tensor wm = reshape(narrow(w, 1, m, 1), {B, C, 1, 1});
        Tensor term = mul(branches[m], wm);
        V = m == 0 ? term : add(V, term);
    }
    return V;
}

std::string SKConv::extra_repr() const {
    return std::to_string(in_) + ", " + std::to_string(out_) + ", stride=" + std::to_string(stride_) +
           ", M=" + std::to_string(M_) + ", r=" + std::to_string(r_) + ", L=" + std::to_string(L_) +
           ", d=" + std::to_string(d_);
}

}  // namespace cardinal::seed
