"""Writes the timm eval-transform fixtures that tests/models/test_timm_eval.cpp compares against.

Run with Debian's Python (python3-pil, python3-torch, python3-torchvision):
    /usr/bin/python3 tests/data/make_timm_eval_fixtures.py models/data/pretrained_cfgs.json \
        tests/data/timm_eval

It writes, under the output directory:
  src/*           the source images: odd sizes, RGB / RGBA / grey / grey+alpha / palette PNGs,
                  a progressive JPEG and a baseline JPEG whose EXIF says "rotate 90" (timm, like
                  PIL's Image.open, does not apply it)
  crops/<key>/*.png  for every distinct (input size, crop_pct, interpolation, crop_mode) of
                  the architectures' default tags, each source image after PIL decode, convert("RGB"),
                  torchvision Resize + CenterCrop: the exact 8-bit pixels ToTensor sees
  index.json      every tag's eval config and its crop key
  normalize.safetensors  full float32 tensors from ToTensor + Normalize on 32-pixel crops in all
                  three crop modes (center, squash, border as timm's ResizeKeepRatio +
                  CenterCropOrPad), for RGB and for convert("L") with one-channel statistics
timm itself is not needed: transforms_imagenet_eval is torchvision Resize / CenterCrop /
ToTensor / Normalize for the center and squash modes, and the border mode is restated below.
"""
import io
import json
import math
import os
import struct
import sys

import numpy as np
import torch
from PIL import Image
from torchvision import transforms
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as F

INTERP = {"bilinear": InterpolationMode.BILINEAR, "bicubic": InterpolationMode.BICUBIC}


def pattern(h, w, seed):
    """Smooth gradients, rings and hard edges (which exercise the filters' clipping)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = np.hypot(x - w * 0.4, y - h * 0.6)
    c0 = 127 + 120 * np.sin(r / (3.0 + seed % 3))
    c1 = 255 * ((x // 7 + y // 5 + seed) % 2)
    c2 = (x * 255 / max(w - 1, 1)) * 0.6 + ((x * y + seed) % 13) * 4
    return np.clip(np.stack([c0, c1, c2], -1), 0, 255).astype(np.uint8)


def write_sources(src):
    os.makedirs(src, exist_ok=True)
    Image.fromarray(pattern(61, 97, 1), "RGB").save(f"{src}/odd_rgb.png")
    rgba = np.concatenate([pattern(80, 53, 2), pattern(80, 53, 3)[..., :1]], -1)
    Image.fromarray(rgba, "RGBA").save(f"{src}/rgba.png")
    Image.fromarray(pattern(45, 71, 4)[..., 0], "L").save(f"{src}/grey.png")
    la = np.stack([pattern(150, 400, 5)[..., 1], pattern(150, 400, 6)[..., 0]], -1)
    Image.fromarray(la, "LA").save(f"{src}/grey_alpha_wide.png")
    pal = Image.fromarray(pattern(39, 64, 7), "RGB").quantize(colors=37)
    pal.info["transparency"] = 3
    pal.save(f"{src}/palette.png", transparency=3)
    Image.fromarray(pattern(229, 300, 8), "RGB").save(f"{src}/progressive.jpg", quality=87,
                                                       progressive=True)
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 CW to display
    Image.fromarray(pattern(193, 257, 9), "RGB").save(f"{src}/exif_rotate.jpg", quality=92,
                                                      exif=exif.tobytes())
    return sorted(os.listdir(src))


def border_resize_crop(img, size, scale, interpolation, mean):
    """timm: ResizeKeepRatio(scale, longest=1.0) then CenterCropOrPad(size, fill)."""
    w, h = img.size
    ratio = max(h / scale, w / scale) * 1.0 + min(h / scale, w / scale) * 0.0
    img = F.resize(img, [round(h / ratio), round(w / ratio)], INTERP[interpolation])
    fill = [round(255 * v) for v in mean]
    w, h = img.size
    if size > w or size > h:
        pad = [(size - w) // 2 if size > w else 0, (size - h) // 2 if size > h else 0,
               (size - w + 1) // 2 if size > w else 0, (size - h + 1) // 2 if size > h else 0]
        img = F.pad(img, pad, fill=tuple(fill) if len(fill) > 1 else fill[0])
        w, h = img.size
        if (w, h) == (size, size):
            return img
    top, left = int(round((h - size) / 2.0)), int(round((w - size) / 2.0))
    return F.crop(img, top, left, size, size)


def eval_crop(img, size, crop_pct, interpolation, crop_mode, mean):
    """timm's transforms_imagenet_eval up to (not including) ToTensor."""
    scale = math.floor(size / crop_pct)
    if crop_mode == "squash":
        return transforms.CenterCrop(size)(
            transforms.Resize((scale, scale), interpolation=INTERP[interpolation])(img))
    if crop_mode == "border":
        return border_resize_crop(img, size, scale, interpolation, mean)
    img = transforms.Resize(scale, interpolation=INTERP[interpolation])(img)
    return transforms.CenterCrop(size)(img)


def to_normalized(crop, mean, std):
    t = transforms.ToTensor()(crop)
    return transforms.Normalize(mean=torch.tensor(mean), std=torch.tensor(std))(t)


def save_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        b = t.contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main(cfg_path, out):
    cfgs = json.load(open(cfg_path))["architectures"]
    names = write_sources(f"{out}/src")
    index = {"images": names, "tags": {}}
    done = set()
    for arch in sorted(cfgs):
        for tag, c in cfgs[arch]["tags"].items():
            size = c["input_size"][1]
            key = f"{size}_{c['crop_pct']}_{c['interpolation']}_{c['crop_mode']}"
            index["tags"][tag] = {"key": key, "default": tag == f"{arch}.{cfgs[arch]['default_tag']}",
                                  **{k: c[k] for k in ("input_size", "crop_pct", "interpolation",
                                                       "crop_mode", "mean", "std", "num_classes")}}
            if key in done or not index["tags"][tag]["default"]:
                continue  # pixels for the default tags' transforms only (the others share them)
            done.add(key)
            os.makedirs(f"{out}/crops/{key}", exist_ok=True)
            for n in names:
                img = Image.open(f"{out}/src/{n}").convert("RGB")
                crop = eval_crop(img, size, c["crop_pct"], c["interpolation"], c["crop_mode"], c["mean"])
                assert crop.size == (size, size)
                # ToTensor + Normalize is float32 (u8 / 255 - mean) / std: the test redoes it.
                x = to_normalized(crop, c["mean"], c["std"])
                u8 = torch.from_numpy(np.asarray(crop).copy()).permute(2, 0, 1).float() / 255
                redo = (u8 - torch.tensor(c["mean"]).view(3, 1, 1)) / torch.tensor(c["std"]).view(3, 1, 1)
                assert torch.equal(x, redo)
                crop.save(f"{out}/crops/{key}/{os.path.splitext(n)[0]}.png", optimize=True)
    with open(f"{out}/index.json", "w") as f:
        json.dump(index, f, indent=1, sort_keys=True)

    # Full tensors on small crops: every crop mode, ImageNet and 0.5 statistics, RGB and L.
    tensors, cases = {}, []
    names = ["grey_alpha_wide.png", "odd_rgb.png", "palette.png", "progressive.jpg"]
    for mode in ("center", "squash", "border"):
        for interp, crop_pct, mean, std in (("bicubic", 0.875, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
                                            ("bilinear", 0.9, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5])):
            case = {"size": 32, "crop_pct": crop_pct, "interpolation": interp, "crop_mode": mode,
                    "mean": mean, "std": std, "color": "RGB"}
            cases.append(case)
            for n in names:
                img = Image.open(f"{out}/src/{n}").convert("RGB")
                crop = eval_crop(img, 32, crop_pct, interp, mode, mean)
                tensors[f"{len(cases) - 1}/{n}"] = to_normalized(crop, mean, std)[None]
        case = {"size": 24, "crop_pct": 0.875, "interpolation": "bicubic", "crop_mode": mode,
                "mean": [0.2860], "std": [0.3530], "color": "L"}
        cases.append(case)
        for n in names:
            img = Image.open(f"{out}/src/{n}").convert("L")
            crop = eval_crop(img, 24, 0.875, "bicubic", mode, case["mean"])
            tensors[f"{len(cases) - 1}/{n}"] = to_normalized(crop, case["mean"], case["std"])[None]
    save_safetensors(f"{out}/normalize.safetensors", tensors, {"cases": json.dumps(cases)})


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
