"""Writes the PIL reference outputs that tests/io/test_image.cpp compares against.

Run with a Python that has Pillow and NumPy (Debian: /usr/bin/python3):
    /usr/bin/python3 tests/data/make_image_fixtures.py tests/data
The source images are procedural (the test computes the same pattern), so only outputs are stored.
"""
import json
import struct
import sys

import numpy as np
from PIL import Image


def pattern(height, width):
    y, x, c = np.meshgrid(np.arange(height), np.arange(width), np.arange(3), indexing="ij")
    return ((x * 7 + y * 13 + c * 50 + (x * y) % 17) % 256).astype(np.uint8)


def main(out):
    src = Image.fromarray(pattern(23, 37), "RGB")
    src.resize((32, 20), Image.BICUBIC).save(f"{out}/pil_bicubic_20x32.png")
    src.resize((32, 20), Image.BILINEAR).save(f"{out}/pil_bilinear_20x32.png")
    src.resize((50, 41), Image.BICUBIC).save(f"{out}/pil_bicubic_41x50.png")

    # timm eval transform with crop_size 32, crop_pct 0.875: Resize(36) -> 53x36 (W x H),
    # CenterCrop(32) at left = round(10.5) = 10, top = 2, ToTensor, Normalize.
    img = Image.fromarray(pattern(29, 43), "RGB").resize((53, 36), Image.BICUBIC)
    img = img.crop((10, 2, 42, 34))
    x = np.asarray(img).astype(np.float32) / np.float32(255)
    mean = np.array([0.485, 0.456, 0.406], dtype=np.float32)
    std = np.array([0.229, 0.224, 0.225], dtype=np.float32)
    x = ((x - mean) / std).transpose(2, 0, 1)[None].astype("<f4")
    header = json.dumps({"eval": {"dtype": "F32", "shape": list(x.shape),
                                  "data_offsets": [0, x.nbytes]}}).encode()
    with open(f"{out}/pil_eval_32.safetensors", "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header + x.tobytes())


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
