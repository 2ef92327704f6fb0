#!/usr/bin/python3
"""The same model and recipe in PyTorch, for a side-by-side with `cardinal train`.

The model is written here from shared/reference/configs.md (no timm): the small-image ResNeSt
(`resnest_small`) or ResNeXt (`resnext_small`) with timm's parameter names, trained with the
recipe of shared/reference/fmnist_recipe.json (SGD nesterov, warmup + cosine per step, label
smoothing 0.1, random crop (pad 0 here: the recipe's padding) + flip). Uses Debian's python3-torch
(PyTorch 1.13); run with /usr/bin/python3. Prints one line per epoch and a JSON summary.

    /usr/bin/python3 bench/pytorch_fmnist.py --model resnest_small --epochs 6 --threads 2
"""
import argparse
import gzip
import json
import math
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def make_divisible(v, divisor=8, min_value=None, round_limit=0.9):
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < round_limit * v:
        new_v += divisor
    return new_v


class SplitAttn(nn.Module):
    def __init__(self, ch, radix, groups):
        super().__init__()
        self.radix = radix
        mid = ch * radix
        attn = make_divisible(ch * radix * 0.25, 8, min_value=32)
        self.conv = nn.Conv2d(ch, mid, 3, 1, 1, groups=groups * radix, bias=False)
        self.bn0 = nn.BatchNorm2d(mid)
        self.fc1 = nn.Conv2d(ch, attn, 1, groups=groups)
        self.bn1 = nn.BatchNorm2d(attn)
        self.fc2 = nn.Conv2d(attn, mid, 1, groups=groups)
        self.card = groups

    def forward(self, x):
        x = F.relu(self.bn0(self.conv(x)))
        B, RC, H, W = x.shape
        if self.radix > 1:
            xs = x.reshape(B, self.radix, RC // self.radix, H, W)
            gap = xs.sum(1)
        else:
            gap = x
        gap = gap.mean((2, 3), keepdim=True)
        a = self.fc2(F.relu(self.bn1(self.fc1(gap))))
        if self.radix > 1:
            a = a.view(B, self.card, self.radix, -1).transpose(1, 2).softmax(1).reshape(B, -1)
            a = a.view(B, self.radix, RC // self.radix, 1, 1)
            return (xs * a).sum(1)
        return x * torch.sigmoid(a)


class ResNestBottleneck(nn.Module):
    def __init__(self, inplanes, planes, stride, downsample, radix, card, base_width, avd, avd_first):
        super().__init__()
        gw = int(planes * base_width / 64) * card
        self.conv1 = nn.Conv2d(inplanes, gw, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(gw)
        use_avd = avd and stride > 1
        self.avd_first = nn.AvgPool2d(3, stride, 1) if use_avd and avd_first else None
        self.conv2 = SplitAttn(gw, radix, card)
        self.avd_last = nn.AvgPool2d(3, stride, 1) if use_avd and not avd_first else None
        self.conv3 = nn.Conv2d(gw, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        nn.init.zeros_(self.bn3.weight)
        self.downsample = downsample

    def forward(self, x):
        s = x if self.downsample is None else self.downsample(x)
        y = F.relu(self.bn1(self.conv1(x)))
        if self.avd_first is not None:
            y = self.avd_first(y)
        y = self.conv2(y)
        if self.avd_last is not None:
            y = self.avd_last(y)
        return F.relu(self.bn3(self.conv3(y)) + s)


class Bottleneck(nn.Module):
    def __init__(self, inplanes, planes, stride, downsample, card, base_width):
        super().__init__()
        width = int(math.floor(planes * base_width / 64)) * card
        self.conv1 = nn.Conv2d(inplanes, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, groups=card, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        nn.init.zeros_(self.bn3.weight)
        self.downsample = downsample

    def forward(self, x):
        s = x if self.downsample is None else self.downsample(x)
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        return F.relu(self.bn3(self.conv3(y)) + s)


class SmallResNet(nn.Module):
    def __init__(self, kw):
        super().__init__()
        sw, inch = kw["stem_width"], kw["in_chans"]
        self.conv1 = nn.Sequential(
            nn.Conv2d(inch, sw, 3, kw.get("stem_stride", 2), 1, bias=False), nn.BatchNorm2d(sw), nn.ReLU(),
            nn.Conv2d(sw, sw, 3, 1, 1, bias=False), nn.BatchNorm2d(sw), nn.ReLU(),
            nn.Conv2d(sw, 2 * sw, 3, 1, 1, bias=False))
        self.bn1 = nn.BatchNorm2d(2 * sw)
        inplanes = 2 * sw
        ba = kw.get("block_args", {})
        for i, (planes, n) in enumerate(zip(kw["channels"], kw["layers"])):
            blocks = []
            for j in range(n):
                stride = 1 if (i == 0 or j > 0) else 2
                ds = None
                if j == 0 and (stride != 1 or inplanes != planes * 4):
                    pool = nn.AvgPool2d(2, stride, ceil_mode=True, count_include_pad=False) if stride > 1 else nn.Identity()
                    ds = nn.Sequential(pool, nn.Conv2d(inplanes, planes * 4, 1, bias=False), nn.BatchNorm2d(planes * 4))
                if kw["block"] == "ResNestBottleneck":
                    blocks.append(ResNestBottleneck(inplanes, planes, stride, ds, ba["radix"], kw["cardinality"],
                                                    kw["base_width"], ba["avd"], ba["avd_first"]))
                else:
                    blocks.append(Bottleneck(inplanes, planes, stride, ds, kw["cardinality"], kw["base_width"]))
                inplanes = planes * 4
            self.add_module(f"layer{i + 1}", nn.Sequential(*blocks))
        self.fc = nn.Linear(inplanes, kw["num_classes"])
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        for m in self.modules():  # zero_init_last after the generic init
            if isinstance(m, (Bottleneck, ResNestBottleneck)):
                nn.init.zeros_(m.bn3.weight)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(x.mean((2, 3)))


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
    ap.add_argument("--recipe", default="../shared/reference/fmnist_recipe.json")
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
    model = SmallResNet(kw)
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
