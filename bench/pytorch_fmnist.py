#!/usr/bin/python3
"""The same model and recipe in PyTorch, for a side-by-side with `cardinal train`.

The model is bench/torch_resnet.py's (written from the configs, no timm): the small-image ResNeSt
(`resnest_small`) or ResNeXt (`resnext_small`) with timm's parameter names, trained with the
recipe of bench/fmnist_recipe.json (SGD nesterov, warmup + cosine per step, label
smoothing 0.1, random crop (pad 0 here: the recipe's padding) + flip). Uses Debian's python3-torch
(PyTorch 1.13); run with /usr/bin/python3. Prints one line per epoch and a JSON summary.

    /usr/bin/python3 bench/pytorch_fmnist.py --model resnest_small --epochs 6 --threads 2
"""
import argparse
import gzip
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_resnet import ResNet  # noqa: E402  (the model code shared with compare_torch.py)


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, n = struct.unpack(">II", data[:8])
    if magic == 0x803:
        rows, cols = struct.unpack(">II", data[8:16])
        return np.frombuffer(data, np.uint8, offset=16).reshape(n, rows, cols)
    return np.frombuffer(data, np.uint8, offset=8).astype(np.int64)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="resnest_small")
    ap.add_argument("--recipe", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "fmnist_recipe.json"))
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit-train", type=int, default=0)
    ap.add_argument("--channels-last", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    recipe = json.load(open(args.recipe))
    kw = recipe["kwargs"] if args.model == "resnest_small" else recipe["also_measured"][args.model]["kwargs"]
    model = ResNet(kw)
    fmt = torch.channels_last if args.channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    xtr = read_idx(f"{args.data}/train-images-idx3-ubyte.gz")
    ytr = read_idx(f"{args.data}/train-labels-idx1-ubyte.gz")
    xte = read_idx(f"{args.data}/t10k-images-idx3-ubyte.gz")
    yte = read_idx(f"{args.data}/t10k-labels-idx1-ubyte.gz")
    if args.limit_train:
        xtr, ytr = xtr[: args.limit_train], ytr[: args.limit_train]
    mean, std = recipe["normalize"]["mean"], recipe["normalize"]["std"]
    norm = lambda a: (torch.from_numpy(a.astype(np.float32) / 255.0) - mean) / std
    xte_t, yte_t = norm(xte).unsqueeze(1), torch.from_numpy(yte)
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    o = recipe["optimizer"]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": o["weight_decay"]}, {"params": no_decay, "weight_decay": 0}],
                          lr=o["lr"], momentum=o["momentum"], nesterov=o["nesterov"])
    bs = recipe["batch_size"]
    steps = len(xtr) // bs
    total, warm = steps * args.epochs, steps
    lr_at = lambda s: o["lr"] * (s + 1) / warm if s < warm else 0.5 * o["lr"] * (1 + math.cos(math.pi * (s - warm) / (total - warm)))
    g = torch.Generator().manual_seed(0)
    t0, step, history = time.time(), 0, []
    for epoch in range(1, args.epochs + 1):
        model.train()
        perm = torch.randperm(len(xtr), generator=g)
        correct = seen = 0
        for b in range(steps):
            idx = perm[b * bs:(b + 1) * bs]
            x = norm(xtr[idx.numpy()]).unsqueeze(1)
            flip = torch.rand(bs, generator=g) < 0.5
            x[flip] = x[flip].flip(3)
            x = x.contiguous(memory_format=fmt)
            y = torch.from_numpy(ytr[idx.numpy()])
            for grp in opt.param_groups:
                grp["lr"] = lr_at(step)
            out = model(x)
            loss = F.cross_entropy(out, y, label_smoothing=recipe["loss"]["label_smoothing"])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            correct += (out.argmax(1) == y).sum().item()
            seen += bs
        model.eval()
        with torch.no_grad():
            pred = torch.cat([model(xte_t[i:i + 1000].contiguous(memory_format=fmt)).argmax(1) for i in range(0, len(xte_t), 1000)])
        acc = (pred == yte_t).float().mean().item()
        history.append({"epoch": epoch, "cum_s": round(time.time() - t0, 1), "test_acc": acc, "train_acc": correct / seen})
        print(json.dumps(history[-1]), flush=True)
    print(json.dumps({"model": args.model, "threads": args.threads, "history": history}))


if __name__ == "__main__":
    main()
