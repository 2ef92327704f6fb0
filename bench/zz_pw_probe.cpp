#include <cstdio>
#include <cstdlib>
#include "bench/timing.h"
#include "ops/dnnl/conv_dnnl.h"
#include "tensor/memory_format.h"
#include "tensor/parallel.h"
#include "tensor/random.h"
using namespace cardinal;
using onednn::ConvLayout;
int main(int argc, char** argv) {
    set_num_threads(2);
    Generator gen(1);
    struct L { int64_t N, C, O, HW; } ls[] = {{128,16,8,28},{128,8,32,28},{128,16,32,28},{128,32,16,28},{128,16,64,14},{128,32,64,14},{128,64,32,14},{128,32,128,7},{128,64,128,7},{128,128,64,7},
      {1,64,128,56},{1,128,256,56},{1,256,128,56},{1,256,256,28},{1,512,256,28},{1,512,512,14},{1,1024,512,14},{1,1024,1024,7},{1,2048,1024,7},
      {16,64,128,32},{16,256,128,32},{16,256,256,16},{16,512,256,16},{16,1024,512,8},{16,512,1024,8},{16,2048,1024,4},{16,1024,2048,4}};
    for (auto l : ls) {
        Conv2dParams p;
        ConvGeometry g = make_conv_geometry({l.N, l.C, l.HW, l.HW}, {l.O, l.C, 1, 1}, p);
        g.channels_last = true;
        Tensor x = to_memory_format(randn(g.input_shape(), DType::Float32, &gen), MemoryFormat::ChannelsLast);
        Tensor w = randn(g.weight_shape(), DType::Float32, &gen);
        Tensor gy = to_memory_format(randn(g.output_shape(), DType::Float32, &gen), MemoryFormat::ChannelsLast);
        double t[2][3];
        int i = 0;
        for (ConvLayout lay : {ConvLayout::ChannelsLast, ConvLayout::Gemm}) {
            t[i][0] = 1e3*bench::best_seconds([&]{ onednn::conv2d_forward(x, w, Tensor(), g, true, lay); }, 5);
            t[i][1] = 1e3*bench::best_seconds([&]{ onednn::conv2d_backward_data(gy, w, g, lay); }, 5);
            t[i][2] = 1e3*bench::best_seconds([&]{ onednn::conv2d_backward_weights(gy, x, g, false, lay); }, 5);
            ++i;
        }
        std::printf("N%-3ld %4ld->%-4ld @%-2ld  fwd %.3f/%.3f  bwd_d %.3f/%.3f  bwd_w %.3f/%.3f   (dnnl/gemm)\n", l.N, l.C, l.O, l.HW,
            t[0][0], t[1][0], t[0][1], t[1][1], t[0][2], t[1][2]);
        // correctness spot check
        Tensor a = onednn::conv2d_forward(x, w, Tensor(), g, true, ConvLayout::ChannelsLast), b = onednn::conv2d_forward(x, w, Tensor(), g, true, ConvLayout::Gemm);
        if (max_abs_diff(a, b) > 1e-3) std::printf("MISMATCH %g\n", max_abs_diff(a,b));
    }
}
