"""The ResNet family of cardinal, written again in PyTorch for side-by-side measurements.

Built from the same configuration cardinal uses (`cardinal models --json` prints it: timm's ResNet
keyword arguments plus `stem_stride` and `stem_pool` for small images), with timm's parameter
names and state_dict order, so a state_dict written from here loads into cardinal unchanged. The
architecture facts are those docs/models.md and docs/blocks.md describe (timm's ResNet, Bottleneck,
SelectiveKernel*, ResNestBottleneck, SEModule, SplitAttn). Written from those descriptions, not
from timm, which is not installed here. Needs only torch (Debian's python3-torch).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def make_divisible(v, divisor=8, min_value=None, round_limit=0.9):
    """timm's rounding of attention widths: nearest multiple of divisor, never 10 % below v."""
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < round_limit * v:
        new_v += divisor
    return new_v


def conv(cin, cout, k=1, stride=1, padding=0, dilation=1, groups=1, bias=False):
    return nn.Conv2d(cin, cout, k, stride, padding, dilation=dilation, groups=groups, bias=bias)


class ConvNormAct(nn.Module):
    """conv -> bn (-> ReLU): the `conv` / `bn` pair of the SK blocks."""

    def __init__(self, cin, cout, k, stride=1, padding=0, dilation=1, groups=1, act=True):
        super().__init__()
        self.conv = conv(cin, cout, k, stride, padding, dilation, groups)
        self.bn = nn.BatchNorm2d(cout)
        self.act = act

    def forward(self, x):
        x = self.bn(self.conv(x))
        return F.relu(x) if self.act else x


class SEModule(nn.Module):
    """x * sigmoid(fc2(relu(fc1(mean_hw(x))))), fc1/fc2 1x1 convs with bias."""

    def __init__(self, ch, rd_ratio=1 / 16, rd_divisor=8):
        super().__init__()
        rd = make_divisible(ch * rd_ratio, rd_divisor, round_limit=0.0)
        self.fc1 = conv(ch, rd, bias=True)
        self.fc2 = conv(rd, ch, bias=True)

    def forward(self, x):
        s = x.mean((2, 3), keepdim=True)
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(s))))


class SelectiveKernelAttn(nn.Module):
    def __init__(self, ch, num_paths, attn_ch):
        super().__init__()
        self.num_paths = num_paths
        self.fc_reduce = conv(ch, attn_ch)
        self.bn = nn.BatchNorm2d(attn_ch)
        self.fc_select = conv(attn_ch, ch * num_paths)

    def forward(self, x):  # x [B, P, C, H, W] -> weights [B, P, C, 1, 1]
        s = x.sum(1).mean((2, 3), keepdim=True)
        s = self.fc_select(F.relu(self.bn(self.fc_reduce(s))))
        B, C = s.shape[0], s.shape[1] // self.num_paths
        return s.view(B, self.num_paths, C, 1, 1).softmax(dim=1)  # path-major channels


class SelectiveKernel(nn.Module):
    """Two 3x3 paths (dilation 1 and 2), softmax-weighted by a shared attention."""

    def __init__(self, cin, cout, stride=1, groups=1, rd_ratio=1 / 16, rd_divisor=8,
                 split_input=True):
        super().__init__()
        self.split_input = split_input
        path_in = cin // 2 if split_input else cin
        g = min(cout, groups)
        self.paths = nn.ModuleList(
            [ConvNormAct(path_in, cout, 3, stride, d, d, g) for d in (1, 2)])
        self.attn = SelectiveKernelAttn(cout, 2, make_divisible(cout * rd_ratio, rd_divisor))

    def forward(self, x):
        if self.split_input:
            xs = torch.split(x, x.shape[1] // 2, 1)
            ys = [p(xs[i]) for i, p in enumerate(self.paths)]
        else:
            ys = [p(x) for p in self.paths]
        y = torch.stack(ys, dim=1)
        return (y * self.attn(y)).sum(1)


class SplitAttn(nn.Module):
    """ResNeSt split attention: radix splits of a grouped 3x3 conv, mixed by rSoftMax."""

    def __init__(self, ch, stride, groups, radix):
        super().__init__()
        self.radix, self.card = radix, groups
        mid = ch * radix
        attn = make_divisible(ch * radix * 0.25, 8, min_value=32)
        self.conv = conv(ch, mid, 3, stride, 1, groups=groups * radix)
        self.bn0 = nn.BatchNorm2d(mid)
        self.fc1 = conv(ch, attn, groups=groups, bias=True)
        self.bn1 = nn.BatchNorm2d(attn)
        self.fc2 = conv(attn, mid, groups=groups, bias=True)

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
            # fc2 channels are [card][radix][C/card]; the splits are radix-major.
            a = a.view(B, self.card, self.radix, -1).transpose(1, 2).softmax(1).reshape(B, -1)
            return (xs * a.view(B, self.radix, RC // self.radix, 1, 1)).sum(1)
        return x * torch.sigmoid(a)


def make_attn(block_args, ch):
    a = block_args.get("attn_layer")
    if a is None:
        return None
    if isinstance(a, str):
        a = {"name": a}
    if a.get("name", "se") != "se":
        raise ValueError(f"attn_layer {a!r}: only 'se' is supported")
    return SEModule(ch, a.get("rd_ratio", 1 / 16), a.get("rd_divisor", 8))


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride, downsample, kw):
        super().__init__()
        if kw["cardinality"] != 1 or kw["base_width"] != 64:
            raise ValueError("BasicBlock supports only cardinality 1 and base_width 64")
        self.conv1 = conv(cin, planes, 3, stride, 1)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv(planes, planes, 3, 1, 1)
        self.bn2 = nn.BatchNorm2d(planes)
        self.se = make_attn(kw.get("block_args", {}), planes)
        self.downsample = downsample

    def last_bn(self):
        return self.bn2

    def forward(self, x):
        s = x if self.downsample is None else self.downsample(x)
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        if self.se is not None:
            y = self.se(y)
        return F.relu(y + s)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride, downsample, kw):
        super().__init__()
        width = int(math.floor(planes * kw["base_width"] / 64)) * kw["cardinality"]
        self.conv1 = conv(cin, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv(width, width, 3, stride, 1, groups=kw["cardinality"])
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv(width, planes * 4)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.se = make_attn(kw.get("block_args", {}), planes * 4)
        self.downsample = downsample

    def last_bn(self):
        return self.bn3

    def forward(self, x):
        s = x if self.downsample is None else self.downsample(x)
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        if self.se is not None:
            y = self.se(y)
        return F.relu(y + s)


def sk_args(kw):
    sk = kw.get("block_args", {}).get("sk_kwargs", {})
    return dict(rd_ratio=sk.get("rd_ratio", 1 / 16), rd_divisor=sk.get("rd_divisor", 8),
                split_input=sk.get("split_input", True))


class SelectiveKernelBottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride, downsample, kw):
        super().__init__()
        width = int(math.floor(planes * kw["base_width"] / 64)) * kw["cardinality"]
        self.conv1 = ConvNormAct(cin, width, 1)
        self.conv2 = SelectiveKernel(width, width, stride, kw["cardinality"], **sk_args(kw))
        self.conv3 = ConvNormAct(width, planes * 4, 1, act=False)
        self.se = make_attn(kw.get("block_args", {}), planes * 4)
        self.downsample = downsample

    def last_bn(self):
        return self.conv3.bn

    def forward(self, x):
        s = x if self.downsample is None else self.downsample(x)
        y = self.conv3(self.conv2(self.conv1(x)))
        if self.se is not None:
            y = self.se(y)
        return F.relu(y + s)


class SelectiveKernelBasic(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride, downsample, kw):
        super().__init__()
        self.conv1 = SelectiveKernel(cin, planes, stride, kw["cardinality"], **sk_args(kw))
        self.conv2 = ConvNormAct(planes, planes, 3, 1, 1, act=False)
        self.se = make_attn(kw.get("block_args", {}), planes)
        self.downsample = downsample

    def last_bn(self):
        return self.conv2.bn

    def forward(self, x):
        s = x if self.downsample is None else self.downsample(x)
        y = self.conv2(self.conv1(x))
        if self.se is not None:
            y = self.se(y)
        return F.relu(y + s)


class ResNestBottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride, downsample, kw):
        super().__init__()
        ba = kw.get("block_args", {})
        radix, card = ba.get("radix", 2), kw["cardinality"]
        gw = int(planes * kw["base_width"] / 64) * card
        avd = ba.get("avd", False) and stride > 1
        avd_first = ba.get("avd_first", False)
        self.conv1 = conv(cin, gw)
        self.bn1 = nn.BatchNorm2d(gw)
        # avd: the 3x3 runs at stride 1 and a 3x3 average pool (zeros counted) strides.
        self.avd_first = nn.AvgPool2d(3, stride, 1) if avd and avd_first else None
        self.conv2 = SplitAttn(gw, 1 if avd else stride, card, radix)
        self.avd_last = nn.AvgPool2d(3, stride, 1) if avd and not avd_first else None
        self.conv3 = conv(gw, planes * 4)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.downsample = downsample

    def last_bn(self):
        return self.bn3

    def forward(self, x):
        s = x if self.downsample is None else self.downsample(x)
        y = F.relu(self.bn1(self.conv1(x)))
        if self.avd_first is not None:
            y = self.avd_first(y)
        y = self.conv2(y)
        if self.avd_last is not None:
            y = self.avd_last(y)
        return F.relu(self.bn3(self.conv3(y)) + s)


BLOCKS = {b.__name__: b for b in (BasicBlock, Bottleneck, SelectiveKernelBottleneck,
                                  SelectiveKernelBasic, ResNestBottleneck)}


def downsample(kw, cin, cout, stride):
    if kw.get("avg_down", False):
        # [0] pool (Identity at stride 1; holds no parameters, keeps the index), [1] conv, [2] bn.
        pool = (nn.AvgPool2d(2, stride, ceil_mode=True, count_include_pad=False)
                if stride > 1 else nn.Identity())
        return nn.Sequential(pool, conv(cin, cout), nn.BatchNorm2d(cout))
    k = kw.get("down_kernel_size", 1) if stride > 1 else 1
    return nn.Sequential(conv(cin, cout, k, stride, ((stride - 1) + (k - 1)) // 2),
                         nn.BatchNorm2d(cout))


class ResNet(nn.Module):
    """conv1 (7x7 or deep stem) -> bn1 -> ReLU -> maxpool -> layer1..4 -> mean -> fc."""

    def __init__(self, kw):
        super().__init__()
        block = BLOCKS.get(kw.get("block", "Bottleneck"))
        if block is None:
            raise ValueError(f"block {kw.get('block')!r}: expected one of {sorted(BLOCKS)}")
        kw = dict(dict(cardinality=1, base_width=64, block_args={}), **kw)
        inch, stem_stride = kw.get("in_chans", 3), kw.get("stem_stride", 2)
        stem_type, sw = kw.get("stem_type", ""), kw.get("stem_width", 64)
        if stem_type == "":
            self.conv1 = conv(inch, 64, 7, stem_stride, 3)
            inplanes = 64
        else:
            first = 3 * (sw // 4) if stem_type == "deep_tiered" else sw
            self.conv1 = nn.Sequential(
                conv(inch, first, 3, stem_stride, 1), nn.BatchNorm2d(first), nn.ReLU(),
                conv(first, sw, 3, 1, 1), nn.BatchNorm2d(sw), nn.ReLU(),
                conv(sw, 2 * sw, 3, 1, 1))
            inplanes = 2 * sw
        self.bn1 = nn.BatchNorm2d(inplanes)
        self.maxpool = nn.MaxPool2d(3, 2, 1) if kw.get("stem_pool", True) else nn.Identity()
        channels = kw.get("channels", [64, 128, 256, 512])
        for i, (planes, n) in enumerate(zip(channels, kw["layers"])):
            blocks = []
            for j in range(n):
                stride = 2 if (i > 0 and j == 0) else 1
                ds = None
                if j == 0 and (stride != 1 or inplanes != planes * block.expansion):
                    ds = downsample(kw, inplanes, planes * block.expansion, stride)
                blocks.append(block(inplanes, planes, stride, ds, kw))
                inplanes = planes * block.expansion
            self.add_module(f"layer{i + 1}", nn.Sequential(*blocks))
        self.num_classes = kw.get("num_classes", 1000)
        self.fc = nn.Linear(inplanes, self.num_classes) if self.num_classes > 0 else None
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        if kw.get("zero_init_last", True):
            for m in self.modules():
                if hasattr(m, "last_bn"):
                    nn.init.zeros_(m.last_bn().weight)

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = x.mean((2, 3))
        return self.fc(x) if self.fc is not None else x
