#!/usr/bin/python3
"""PyTorch side of bench/conv_bench.cpp: the same conv shapes (batch 8), GFLOP/s of forward,
backward-data (grad of input only) and backward-weights (grad of weight only), best of N calls,
NCHW and channels_last, 1 and 2 threads.

Run with Debian's torch: GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:\
glibc.malloc.trim_threshold=1073741824 /usr/bin/python3 bench/conv_torch.py [reps]
"""
import sys
import time

import torch
import torch.nn.functional as F

LAYERS = [  # name, C, O, HW, K, groups, stride (same list as conv_bench.cpp)
    ("layer1 conv1 1x1 256->128 @56", 256, 128, 56, 1, 1, 1),
    ("layer1 conv2 3x3 g32 128 @56", 128, 128, 56, 3, 32, 1),
    ("layer1 conv3 1x1 128->256 @56", 128, 256, 56, 1, 1, 1),
    ("layer2 conv2 3x3 g32 256 s2 56->28", 256, 256, 56, 3, 32, 2),
    ("layer2 conv1 1x1 512->256 @28", 512, 256, 28, 1, 1, 1),
    ("layer2 conv2 3x3 g32 256 @28", 256, 256, 28, 3, 32, 1),
    ("layer2 conv3 1x1 256->512 @28", 256, 512, 28, 1, 1, 1),
    ("layer3 conv1 1x1 1024->512 @14", 1024, 512, 14, 1, 1, 1),
    ("layer3 conv2 3x3 g32 512 @14", 512, 512, 14, 3, 32, 1),
    ("layer3 conv3 1x1 512->1024 @14", 512, 1024, 14, 1, 1, 1),
    ("layer4 conv1 1x1 2048->1024 @7", 2048, 1024, 7, 1, 1, 1),
    ("layer4 conv2 3x3 g32 1024 @7", 1024, 1024, 7, 3, 32, 1),
    ("layer4 conv3 1x1 1024->2048 @7", 1024, 2048, 7, 1, 1, 1),
    ("stem 7x7 3->64 s2 @224", 3, 64, 224, 7, 1, 2),
    ("dense 3x3 64->64 @56", 64, 64, 56, 3, 1, 1),
    ("depthwise 3x3 128 @56", 128, 128, 56, 3, 128, 1),
]


def best_seconds(fn, reps):
    fn()
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    n = 8
    torch.manual_seed(0)
    for threads in (1, 2):
        torch.set_num_threads(threads)
        print(f"\n### PyTorch {torch.__version__}, {threads} thread{'s' if threads > 1 else ''}\n")
        print("| layer | fwd nchw | fwd cl | bwd_d nchw | bwd_d cl | bwd_w nchw | bwd_w cl |")
        print("|---|---|---|---|---|---|---|")
        for name, c, o, hw, k, g, s in LAYERS:
            pad = k // 2
            oh = (hw + 2 * pad - k) // s + 1
            flops = 2.0 * n * o * oh * oh * (c // g) * k * k
            cells = {}
            for fmt in (torch.contiguous_format, torch.channels_last):
                x = torch.randn(n, c, hw, hw).to(memory_format=fmt)
                w = torch.randn(o, c // g, k, k).to(memory_format=fmt)
                gy = torch.randn(n, o, oh, oh).to(memory_format=fmt)

                def fwd():
                    with torch.no_grad():
                        F.conv2d(x, w, None, s, pad, 1, g)

                xr = x.clone().requires_grad_(True)
                y_d = F.conv2d(xr, w, None, s, pad, 1, g)
                wr = w.clone().requires_grad_(True)
                y_w = F.conv2d(x, wr, None, s, pad, 1, g)

                def bwd_d():
                    torch.autograd.grad(y_d, xr, gy, retain_graph=True)

                def bwd_w():
                    torch.autograd.grad(y_w, wr, gy, retain_graph=True)

                key = "nchw" if fmt == torch.contiguous_format else "cl"
                for pass_name, fn in (("fwd", fwd), ("bwd_d", bwd_d), ("bwd_w", bwd_w)):
                    cells[(pass_name, key)] = flops / best_seconds(fn, reps) * 1e-9
            row = " | ".join(f"{cells[(p, f)]:.0f}" for p in ("fwd", "bwd_d", "bwd_w")
                             for f in ("nchw", "cl"))
            print(f"| {name} | {row} |", flush=True)


if __name__ == "__main__":
    main()
