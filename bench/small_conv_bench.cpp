// Milliseconds per call of each convolution pass of resnest_small (batch 128, 28x28 Fashion-MNIST
// input) in each layout: oneDNN on NCHW (plain), oneDNN blocked with reorders (blocked), and
// im2col + dnnl_sgemm per image (gemm). Best of reps; the chosen layout is starred.
//   bench_small_conv_bench [reps=5] [threads=1]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#include "bench/timing.h"
#include "ops/dnnl/conv_dnnl.h"
#include "tensor/parallel.h"
#include "tensor/random.h"

using namespace cardinal;
using onednn::ConvLayout;
using onednn::ConvPass;

namespace {

struct Layer {
    const char* name;
    int64_t C, O, HW, K, G;
};

// Every conv shape of resnest_small at batch 128 (stride 1 everywhere: avd and avg_down pool).
const Layer kLayers[] = {
    {"stem 3x3 1->8 @28", 1, 8, 28, 3, 1},
    {"stem 3x3 8->8 @28", 8, 8, 28, 3, 1},
    {"stem 3x3 8->16 @28", 8, 16, 28, 3, 1},
    {"1x1 16->8 @28", 16, 8, 28, 1, 1},
    {"3x3 g2 8->16 @28", 8, 16, 28, 3, 2},
    {"1x1 8->32 @28", 8, 32, 28, 1, 1},
    {"1x1 16->32 @28", 16, 32, 28, 1, 1},
    {"1x1 32->16 @28", 32, 16, 28, 1, 1},
    {"3x3 g2 16->32 @28", 16, 32, 28, 3, 2},
    {"1x1 16->64 @14", 16, 64, 14, 1, 1},
    {"1x1 32->64 @14", 32, 64, 14, 1, 1},
    {"1x1 64->32 @14", 64, 32, 14, 1, 1},
    {"3x3 g2 32->64 @14", 32, 64, 14, 3, 2},
    {"1x1 32->128 @7", 32, 128, 7, 1, 1},
    {"1x1 64->128 @7", 64, 128, 7, 1, 1},
    {"1x1 128->64 @7", 128, 64, 7, 1, 1},
    {"3x3 g2 64->128 @7", 64, 128, 7, 3, 2},
    {"1x1 64->256 @4", 64, 256, 4, 1, 1},
    {"1x1 128->256 @4", 128, 256, 4, 1, 1},
    {"fc 1x1 32->32 @1", 32, 32, 1, 1, 1},
    {"fc 1x1 64->128 @1", 64, 128, 1, 1, 1},
};

}  // namespace

int main(int argc, char** argv) {
    const int reps = argc > 1 ? std::atoi(argv[1]) : 5;
    set_num_threads(argc > 2 ? std::atoi(argv[2]) : 1);
    const int64_t N = 128;
    Generator gen(1);
    std::printf("### %d thread(s), ms per call, batch %ld\n\n", get_num_threads(), (long)N);
    std::printf("| layer | fwd plain | fwd blocked | fwd gemm | bwd_d plain | bwd_d blocked | "
                "bwd_d gemm | bwd_w plain | bwd_w blocked | bwd_w gemm |\n"
                "|---|---|---|---|---|---|---|---|---|---|\n");
    double total[3] = {0, 0, 0}, chosen_total = 0;
    for (const Layer& l : kLayers) {
        Conv2dParams p;
        p.padding = {l.K / 2, l.K / 2};
        p.groups = l.G;
        const ConvGeometry g =
            make_conv_geometry({N, l.C, l.HW, l.HW}, {l.O, l.C / l.G, l.K, l.K}, p);
        Tensor x = randn(g.input_shape(), DType::Float32, &gen);
        Tensor w = randn(g.weight_shape(), DType::Float32, &gen);
        Tensor gy = randn(g.output_shape(), DType::Float32, &gen);
        std::printf("| %s |", l.name);
        for (ConvPass pass : {ConvPass::Forward, ConvPass::BackwardData,
                              ConvPass::BackwardWeights}) {
            const ConvLayout chosen = onednn::choose_layout(g, pass);
            int i = 0;
            for (ConvLayout layout : {ConvLayout::Plain, ConvLayout::Blocked, ConvLayout::Gemm}) {
                std::function<void()> fn;
                if (pass == ConvPass::Forward)
                    fn = [&] { onednn::conv2d_forward(x, w, Tensor(), g, true, layout); };
                else if (pass == ConvPass::BackwardData)
                    fn = [&] { onednn::conv2d_backward_data(gy, w, g, layout); };
                else
                    fn = [&] { onednn::conv2d_backward_weights(gy, x, g, false, layout); };
                const double ms = 1e3 * bench::best_seconds(fn, reps);
                total[i++] += ms;
                if (layout == chosen) chosen_total += ms;
                std::printf(layout == chosen ? " **%.2f** |" : " %.2f |", ms);
            }
        }
        std::printf("\n");
        std::fflush(stdout);
    }
    std::printf("\nsum of all passes: plain %.1f ms, blocked %.1f ms, gemm %.1f ms, chosen %.1f ms\n",
                total[0], total[1], total[2], chosen_total);
    return 0;
}
