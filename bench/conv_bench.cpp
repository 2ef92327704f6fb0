// GFLOP/s of the oneDNN convolution passes on the ResNeXt-50 32x4d layer shapes (batch 8),
// in both layouts (Plain: NCHW straight into oneDNN; Blocked: format_tag::any plus the reorders
// in and out), on 1 and 2 threads, with dnnl_sgemm 2048^3 for scale. Times are whole calls of
// ops/dnnl/conv_dnnl.h (reorders, scratchpad and output allocation included), primitives
// cached. Prints markdown tables (docs/performance.md).
//   bench_conv_bench [reps=7]            NCHW tensors: Plain against Blocked
//   bench_conv_bench [reps=7] nhwc       channels-last tensors (what training and inference run):
//                                        oneDNN's NHWC kernels against our own (Grouped or Gemm)
//                                        where choose_layout has one, and the chosen pass's share
//                                        of the sgemm peak
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "bench/timing.h"
#include "ops/dnnl/conv_dnnl.h"
#include "ops/grouped_conv_cl.h"
#include "tensor/memory_format.h"
#include "tensor/parallel.h"
#include "tensor/random.h"

using namespace cardinal;
using bench::best_seconds;
using onednn::ConvLayout;
using onednn::ConvPass;

namespace {

struct Layer {
    const char* name;
    int64_t C, O, HW, K, G, stride;
};

// Per stage of ResNeXt-50 32x4d: conv1 (1x1 reduce), conv2 (3x3, 32 groups), conv3 (1x1 expand), stride-1 blocks;
// plus the strided grouped conv that opens layer2.
const Layer kLayers[] = {
    {"layer1 conv1 1x1 256->128 @56", 256, 128, 56, 1, 1, 1},
    {"layer1 conv2 3x3 g32 128 @56", 128, 128, 56, 3, 32, 1},
    {"layer1 conv3 1x1 128->256 @56", 128, 256, 56, 1, 1, 1},
    {"layer2 conv2 3x3 g32 256 s2 56->28", 256, 256, 56, 3, 32, 2},
    {"layer2 conv1 1x1 512->256 @28", 512, 256, 28, 1, 1, 1},
    {"layer2 conv2 3x3 g32 256 @28", 256, 256, 28, 3, 32, 1},
    {"layer2 conv3 1x1 256->512 @28", 256, 512, 28, 1, 1, 1},
    {"layer3 conv1 1x1 1024->512 @14", 1024, 512, 14, 1, 1, 1},
    {"layer3 conv2 3x3 g32 512 @14", 512, 512, 14, 3, 32, 1},
    {"layer3 conv3 1x1 512->1024 @14", 512, 1024, 14, 1, 1, 1},
    {"layer4 conv1 1x1 2048->1024 @7", 2048, 1024, 7, 1, 1, 1},
    {"layer4 conv2 3x3 g32 1024 @7", 1024, 1024, 7, 3, 32, 1},
    {"layer4 conv3 1x1 1024->2048 @7", 1024, 2048, 7, 1, 1, 1},
    // Other members of the family: the stem, a dense 3x3 (SK / ResNeSt) and a depthwise 3x3.
    {"stem 7x7 3->64 s2 @224", 3, 64, 224, 7, 1, 2},
    {"dense 3x3 64->64 @56", 64, 64, 56, 3, 1, 1},
    {"depthwise 3x3 128 @56", 128, 128, 56, 3, 128, 1},
};

double sgemm_gflops(int reps) {
    const int64_t n = 2048;
    std::vector<float> a(n * n, 0.5f), b(n * n, 0.25f), c(n * n);
    double s = best_seconds(
        [&] { dnnl_sgemm('N', 'N', n, n, n, 1.f, a.data(), n, b.data(), n, 0.f, c.data(), n); },
        reps);
    return 2.0 * n * n * n / s * 1e-9;
}

const char* pass_name(ConvPass pass) {
    return pass == ConvPass::Forward ? "fwd" : pass == ConvPass::BackwardData ? "bwd_d" : "bwd_w";
}

// Channels-last tables: per pass, oneDNN NHWC and ours (where we have a kernel for the shape),
// GFLOP/s, the chosen one in bold, then the chosen one as a share of the sgemm peak.
void channels_last_tables(int reps, int64_t N, Generator& gen) {
    for (int threads : {1, 2}) {
        set_num_threads(threads);
        const double peak = sgemm_gflops(reps);
        std::printf("\n### channels-last, %d thread%s (dnnl_sgemm 2048^3: %.0f GFLOP/s)\n\n", threads,
                    threads > 1 ? "s" : "", peak);
        std::printf("| layer | GFLOP | fwd oneDNN | fwd ours | bwd_d oneDNN | bwd_d ours | bwd_w oneDNN | "
                    "bwd_w ours | chosen fwd / bwd_d / bwd_w, %% of peak |\n|---|---|---|---|---|---|---|---|---|\n");
        for (const Layer& l : kLayers) {
            Conv2dParams p;
            p.stride = {l.stride, l.stride};
            p.padding = {l.K / 2, l.K / 2};
            p.groups = l.G;
            ConvGeometry g = make_conv_geometry({N, l.C, l.HW, l.HW}, {l.O, l.C / l.G, l.K, l.K}, p);
            g.channels_last = true;
            Tensor x = to_memory_format(randn(g.input_shape(), DType::Float32, &gen), MemoryFormat::ChannelsLast);
            Tensor w = randn(g.weight_shape(), DType::Float32, &gen);
            Tensor gy = to_memory_format(randn(g.output_shape(), DType::Float32, &gen), MemoryFormat::ChannelsLast);
            std::printf("| %s | %.2f |", l.name, g.flops() * 1e-9);
            std::string shares;
            for (ConvPass pass : {ConvPass::Forward, ConvPass::BackwardData, ConvPass::BackwardWeights}) {
                const ConvLayout chosen = onednn::choose_layout(g, pass);
                // Our alternative where there is one: sgemm for pointwise convs, the grouped kernels.
                const bool pointwise = l.K == 1 && l.stride == 1;
                ConvLayout ours = chosen;
                if (chosen == ConvLayout::ChannelsLast)
                    ours = pointwise ? ConvLayout::Gemm
                                     : grouped_conv_cl::supports(g) ? ConvLayout::Grouped : ConvLayout::Auto;
                double chosen_gflops = 0;
                for (ConvLayout layout : {ConvLayout::ChannelsLast, ours}) {
                    if (layout == ConvLayout::Auto) {
                        std::printf(" - |");
                        continue;
                    }
                    std::function<void()> fn;
                    if (pass == ConvPass::Forward)
                        fn = [&] { onednn::conv2d_forward(x, w, Tensor(), g, true, layout); };
                    else if (pass == ConvPass::BackwardData)
                        fn = [&] { onednn::conv2d_backward_data(gy, w, g, layout); };
                    else
                        fn = [&] { onednn::conv2d_backward_weights(gy, x, g, false, layout); };
                    const double gflops = g.flops() / best_seconds(fn, reps) * 1e-9;
                    if (layout == chosen) chosen_gflops = gflops;
                    std::printf(layout == chosen ? " **%.0f** |" : " %.0f |", gflops);
                }
                char buf[32];
                std::snprintf(buf, sizeof buf, "%s%.0f", shares.empty() ? "" : " / ", 100 * chosen_gflops / peak);
                shares += buf;
            }
            std::printf(" %s |\n", shares.c_str());
            std::fflush(stdout);
        }
    }
    std::printf("\nImplementations chosen (channels-last), per pass:\n\n");
    for (const Layer& l : kLayers) {
        Conv2dParams p;
        p.stride = {l.stride, l.stride};
        p.padding = {l.K / 2, l.K / 2};
        p.groups = l.G;
        ConvGeometry g = make_conv_geometry({N, l.C, l.HW, l.HW}, {l.O, l.C / l.G, l.K, l.K}, p);
        g.channels_last = true;
        std::printf("- %s:", l.name);
        for (ConvPass pass : {ConvPass::Forward, ConvPass::BackwardData, ConvPass::BackwardWeights})
            std::printf(" %s %s;", pass_name(pass), onednn::conv_impl_info(g, pass, ConvLayout::Auto).c_str());
        std::printf("\n");
    }
}

}  // namespace

int main(int argc, char** argv) {
    const int reps = argc > 1 ? std::atoi(argv[1]) : 7;
    const int64_t N = 8;
    Generator gen(1);
    if (argc > 2 && std::string(argv[2]) == "nhwc") {
        channels_last_tables(reps, N, gen);
        return 0;
    }
    for (int threads : {1, 2}) {
        set_num_threads(threads);
        std::printf("\n### %d thread%s (dnnl_sgemm 2048^3: %.0f GFLOP/s)\n\n", threads,
                    threads > 1 ? "s" : "", sgemm_gflops(reps));
        std::printf("| layer | GFLOP | fwd plain | fwd blocked | bwd_d plain | bwd_d blocked | "
                    "bwd_w plain | bwd_w blocked |\n|---|---|---|---|---|---|---|---|\n");
        for (const Layer& l : kLayers) {
            Conv2dParams p;
            p.stride = {l.stride, l.stride};
            p.padding = {l.K / 2, l.K / 2};
            p.groups = l.G;
            const ConvGeometry g = make_conv_geometry({N, l.C, l.HW, l.HW},
                                                      {l.O, l.C / l.G, l.K, l.K}, p);
            Tensor x = randn(g.input_shape(), DType::Float32, &gen);
            Tensor w = randn(g.weight_shape(), DType::Float32, &gen);
            Tensor gy = randn(g.output_shape(), DType::Float32, &gen);
            std::printf("| %s | %.2f |", l.name, g.flops() * 1e-9);
            for (ConvPass pass : {ConvPass::Forward, ConvPass::BackwardData,
                                  ConvPass::BackwardWeights}) {
                const ConvLayout chosen = onednn::choose_layout(g, pass);
                for (ConvLayout layout : {ConvLayout::Plain, ConvLayout::Blocked}) {
                    std::function<void()> fn;
                    if (pass == ConvPass::Forward)
                        fn = [&] { onednn::conv2d_forward(x, w, Tensor(), g, true, layout); };
                    else if (pass == ConvPass::BackwardData)
                        fn = [&] { onednn::conv2d_backward_data(gy, w, g, layout); };
                    else
                        fn = [&] { onednn::conv2d_backward_weights(gy, x, g, false, layout); };
                    const double gflops = g.flops() / best_seconds(fn, reps) * 1e-9;
                    std::printf(layout == chosen ? " **%.0f** |" : " %.0f |", gflops);
                }
            }
            std::printf("\n");
            std::fflush(stdout);
        }
    }
    std::printf("\nImplementations (oneDNN impl_info_str), per pass plain / blocked:\n\n");
    for (const Layer& l : kLayers) {
        Conv2dParams p;
        p.stride = {l.stride, l.stride};
        p.padding = {l.K / 2, l.K / 2};
        p.groups = l.G;
        const ConvGeometry g = make_conv_geometry({N, l.C, l.HW, l.HW}, {l.O, l.C / l.G, l.K, l.K}, p);
        std::printf("- %s:", l.name);
        for (ConvPass pass : {ConvPass::Forward, ConvPass::BackwardData, ConvPass::BackwardWeights})
            std::printf(" %s / %s;", onednn::conv_impl_info(g, pass, ConvLayout::Plain).c_str(),
                        onednn::conv_impl_info(g, pass, ConvLayout::Blocked).c_str());
        std::printf("\n");
    }
    return 0;
}
