// The grid of convolution configurations the conv tests share (each small enough that a full
// float64 gradcheck takes milliseconds).
#pragma once
#include <string>
#include <vector>

#include "ops/conv.h"
#include "tensor/shape.h"

namespace conv_test {

struct ConvCase {
    int64_t N, C, O, H, W, K, groups, stride, pad, dil;
    bool bias;
    int rectify;  // 0 plain conv, 1 rectified (sum mode), 2 rectified (average mode)

    cardinal::Conv2dParams params() const {
        cardinal::Conv2dParams p;
        p.stride = {stride, stride};
        p.padding = {pad, pad};
        p.dilation = {dil, dil};
        p.groups = groups;
        return p;
    }
    cardinal::Shape x_shape() const { return {N, C, H, W}; }
    cardinal::Shape w_shape() const { return {O, C / groups, K, K}; }
    std::string str() const {
        return "N" + std::to_string(N) + " C" + std::to_string(C) + " O" + std::to_string(O) +
               " " + std::to_string(H) + "x" + std::to_string(W) + " k" + std::to_string(K) +
               " g" + std::to_string(groups) + " s" + std::to_string(stride) + " p" +
               std::to_string(pad) + " d" + std::to_string(dil) + (bias ? " bias" : "") +
               (rectify == 1 ? " rectify" : rectify == 2 ? " rectify_avg" : "");
    }
};

// Every (channels/groups, kernel, stride, padding, dilation) with a non-square 5x7 input; batch,
// bias and rectify mode cycle through their values so that each appears with every geometry
// value. Configurations whose dilated kernel does not fit the padded input are left out, and
// rectify only where every output sees at least one input pixel (not k1 with padding).
inline std::vector<ConvCase> conv_grid(int64_t kernel) {
    struct Channels { int64_t C, O, G; };
    const Channels channels[] = {{4, 4, 1}, {4, 6, 2}, {4, 8, 4}, {6, 6, 6}};  // last: G = C
    std::vector<ConvCase> cases;
    int i = 0;
    for (const Channels& ch : channels)
        for (int64_t stride : {1, 2})
            for (int64_t pad : {0, 1, 2})
                for (int64_t dil : {1, 2}) {
                    const int64_t H = 5, W = 7, extent = dil * (kernel - 1) + 1;
                    if (extent > H + 2 * pad) continue;
                    ++i;
                    int rectify = i % 3;
                    if (kernel == 1 && pad > 0) rectify = 0;
                    cases.push_back({i % 2 ? 3 : 1, ch.C, ch.O, H, W, kernel, ch.G, stride, pad,
                                     dil, (i / 2) % 2 == 0, rectify});
                }
    return cases;
}

// Larger shapes from ResNeXt-50 32x4d stages (scaled down in batch and size).
inline std::vector<ConvCase> resnext_cases() {
    return {
        {2, 64, 64, 14, 14, 3, 32, 1, 1, 1, false, 0},    // grouped 3x3, 2 channels/group
        {2, 128, 128, 14, 14, 3, 32, 2, 1, 1, false, 0},  // grouped 3x3, stride 2
        {2, 64, 128, 14, 14, 1, 1, 1, 0, 1, true, 0},     // 1x1 expand with bias
        {2, 128, 64, 14, 14, 1, 1, 2, 0, 1, false, 0},    // 1x1 stride-2 projection
        {2, 64, 64, 14, 14, 3, 1, 1, 1, 1, true, 1},      // dense 3x3, rectified
        {2, 32, 32, 14, 14, 3, 32, 1, 1, 1, false, 2},    // depthwise, rectified average
    };
}

// Shapes of resnest_small (scaled down in batch and size), where the Gemm layout is chosen.
inline std::vector<ConvCase> small_model_cases() {
    return {
        {3, 1, 8, 11, 9, 3, 1, 1, 1, 1, false, 0},   // stem 3x3 from one channel
        {3, 8, 16, 11, 9, 3, 1, 1, 1, 1, false, 0},  // stem 3x3 on 8 channels
        {3, 8, 16, 11, 9, 3, 2, 1, 1, 1, false, 0},  // radix-2 grouped 3x3, 4 channels/group
        {3, 16, 32, 12, 12, 1, 1, 1, 0, 1, true, 0}, // 1x1 on a large map, with bias
        {5, 16, 32, 1, 1, 1, 1, 1, 0, 1, true, 0},   // attention fc1 on a 1x1 map
        {5, 32, 64, 1, 1, 1, 2, 1, 0, 1, true, 0},   // grouped attention fc2
        {2, 6, 4, 7, 7, 3, 1, 2, 1, 1, true, 0},     // stem-like, stride 2 (im2col strides)
    };
}

}  // namespace conv_test
