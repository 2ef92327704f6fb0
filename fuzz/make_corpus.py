#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/), a few valid and
near-valid inputs each, kept small. Run from the repository root:

    python3 fuzz/make_corpus.py build/cardinal

The checkpoint seeds are real checkpoints written by the cardinal binary given (tiny models,
fuzz/checkpoint_model.json and a ResNeSt, on generated data); the JPEG seeds need cjpeg (Debian:
libjpeg-turbo-progs). Everything else is written here byte by byte. The output is
deterministic except the timings in the checkpoints' history. Inputs the fuzzers found (crashes fixed
since, interesting cases) are added to the corpora by hand with a name saying what they are.
"""
import gzip
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

ROOT = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(ROOT, "corpus")


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- safetensors ---------------------------------------------------------------------------

def safetensors(entries, metadata=None, pad=True):
    """entries: (name, dtype, shape, raw bytes). Returns the file's bytes."""
    header, data = {}, b""
    for name, dtype, shape, raw in entries:
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    if pad:  # the reference writer pads the header to a multiple of 8 with spaces
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def f32(*v):
    return struct.pack("<%df" % len(v), *v)


def make_safetensors():
    t = "safetensors"
    put(t, "f32_2x3", safetensors([("w", "F32", [2, 3], f32(1, 2, 3, 4, 5, 6))]))
    put(t, "all_dtypes", safetensors([
        ("a", "F32", [2], f32(1.5, -2)),
        ("b", "F64", [1], struct.pack("<d", 3.25)),
        ("c", "I64", [2], struct.pack("<2q", -1, 7)),
        ("d", "F16", [2], struct.pack("<2H", 0x3C00, 0x7C00)),
        ("e", "BF16", [2], struct.pack("<2H", 0x3F80, 0xFFC0)),
    ], {"format": "pt", "note": "seed"}))
    put(t, "scalar_and_empty", safetensors([("s", "F32", [], f32(2)), ("z", "F32", [0, 4], b"")]))
    put(t, "metadata_only", safetensors([], {"format": "pt"}))
    put(t, "unpadded", safetensors([("w", "F32", [1], f32(1))], pad=False))
    good = safetensors([("w", "F32", [2, 2], f32(1, 2, 3, 4)), ("b", "F32", [2], f32(5, 6))])
    put(t, "truncated_data", good[:-3])
    put(t, "truncated_header", good[:20])
    put(t, "header_len_huge", struct.pack("<Q", 1 << 60) + good[8:])
    header = b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"v":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}'
    put(t, "overlapping", struct.pack("<Q", len(header)) + header + f32(1, 2, 3))
    header = b'{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,16]}}'
    put(t, "shape_overflow", struct.pack("<Q", len(header)) + header + f32(1, 2, 3, 4))
    header = b'{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
    put(t, "negative_dim_duplicate", struct.pack("<Q", len(header)) + header + f32(1))


# ---- checkpoints ---------------------------------------------------------------------------

def write_idx(path, dims, values):
    with open(path, "wb") as f:
        f.write(bytes([0, 0, 8, len(dims)]))
        for d in dims:
            f.write(struct.pack(">I", d))
        f.write(bytes(values))


def make_checkpoints(cardinal):
    tmp = tempfile.mkdtemp(prefix="cardinal_corpus_")
    try:
        data = os.path.join(tmp, "mnist")
        os.makedirs(data)
        for split in ("train", "t10k"):
            write_idx(os.path.join(data, split + "-images-idx3-ubyte"), [8, 28, 28],
                      [(i * 7) % 251 for i in range(8 * 28 * 28)])
            write_idx(os.path.join(data, split + "-labels-idx1-ubyte"), [8], [i % 10 for i in range(8)])
        # A second model for the resumed run to build from the checkpoint's model_kwargs: a
        # tiny ResNeSt (split attention, radix 2, avg_down), so the seeds hold block_args too.
        resnest = os.path.join(tmp, "resnest.json")
        with open(resnest, "w") as f:
            json.dump({"block": "ResNestBottleneck", "layers": [1, 1, 1, 1], "channels": [4, 4, 4, 4],
                       "stem_type": "deep", "stem_width": 4, "in_chans": 1, "num_classes": 10,
                       "avg_down": True, "block_args": {"radix": 2, "avd": True}}, f)
        common = ["--data", "mnist:" + data,
                  "--batch", "4", "--eval-batch", "8", "--limit-train", "8", "--limit-test", "8",
                  "--threads", "1", "--progress", "none", "--seed", "1"]
        env = dict(os.environ, OMP_NUM_THREADS="1", CARDINAL_NUM_THREADS="1")
        config = ["--config", os.path.join(ROOT, "checkpoint_model.json")]
        runs = {
            # after epoch 1 of 2 with SGD, and with AdamW and a step schedule; a finished
            # 1-epoch run gives the weights-only model.safetensors (refused by --resume)
            "sgd_epoch1": ["--epochs", "2", "--stop-after", "1"],
            "adamw_step_epoch1": ["--epochs", "2", "--stop-after", "1", "--optimizer", "adamw",
                                  "--schedule", "step", "--step-epochs", "1", "--lr", "0.01"],
            "finished": ["--epochs", "1"],
            "resnest_epoch1": ["--epochs", "2", "--stop-after", "1"],
        }
        for name, extra in runs.items():
            out = os.path.join(tmp, name)
            model = ["--config", resnest] if name.startswith("resnest") else config
            subprocess.run([cardinal, "train", "--out", out] + model + common + extra, check=True,
                           env=env, stdout=subprocess.DEVNULL)
            with open(os.path.join(out, "checkpoint.safetensors"), "rb") as f:
                put("checkpoint", name, f.read())
        with open(os.path.join(tmp, "finished", "model.safetensors"), "rb") as f:
            put("checkpoint", "weights_only", f.read())
    finally:
        shutil.rmtree(tmp)


# ---- IDX and CIFAR ---------------------------------------------------------------------------

def idx_bytes(dims, values, typ=8):
    out = bytes([0, 0, typ, len(dims)])
    for d in dims:
        out += struct.pack(">I", d)
    return out + bytes(values)


def idx_pair(images, labels):
    return struct.pack("<I", len(images)) + images + labels


def make_idx():
    t = "idx"
    images = idx_bytes([2, 4, 4], range(32))
    labels = idx_bytes([2], [3, 9])
    put(t, "valid_2x4x4", idx_pair(images, labels))
    put(t, "valid_gzip", idx_pair(gzip.compress(images, mtime=0), gzip.compress(labels, mtime=0)))
    put(t, "count_mismatch", idx_pair(images, idx_bytes([3], [1, 2, 3])))
    put(t, "label_out_of_range", idx_pair(images, idx_bytes([2], [1, 10])))
    put(t, "truncated_images", idx_pair(images[:-5], labels))
    put(t, "wrong_magic", idx_pair(b"\x00\x01\x08\x03" + images[4:], labels))
    put(t, "not_uint8", idx_pair(idx_bytes([2, 4, 4], range(32), typ=0x0D), labels))
    put(t, "huge_dims", idx_pair(idx_bytes([0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF], []), labels))


def make_cifar():
    t = "cifar"
    rec = lambda label: bytes([label]) + bytes((i * 13 + label) % 256 for i in range(3072))
    put(t, "two_records", rec(0) + rec(9))
    put(t, "label_10", rec(10))
    put(t, "truncated", rec(1)[:2000])


# ---- images ----------------------------------------------------------------------------------

def png(width, height, color_type, rows, bit_depth=8, palette=None, extra=b""):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    raw = b"".join(b"\x00" + r for r in rows)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
    if palette:
        out += chunk(b"PLTE", palette)
    return out + extra + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def make_images():
    t = "image"
    w, h = 5, 4
    put(t, "grey.png", png(w, h, 0, [bytes((x * 40 + y) % 256 for x in range(w)) for y in range(h)]))
    put(t, "rgb.png", png(w, h, 2, [bytes((x * 30 + y * 7 + c) % 256 for x in range(w) for c in range(3)) for y in range(h)]))
    put(t, "rgba.png", png(w, h, 6, [bytes((x + y + c * 50) % 256 for x in range(w) for c in range(4)) for y in range(h)]))
    put(t, "grey_alpha.png", png(w, h, 4, [bytes((x * 9 + c) % 256 for x in range(w) for c in range(2)) for y in range(h)]))
    put(t, "palette.png", png(w, h, 3, [bytes((x + y) % 3 for x in range(w)) for y in range(h)],
                              palette=bytes([255, 0, 0, 0, 255, 0, 0, 0, 255])))
    put(t, "rgb16.png", png(2, 2, 2, [bytes(range(12)), bytes(range(12, 24))], bit_depth=16))
    put(t, "truncated.png", png(w, h, 2, [bytes(15)] * h)[:60])
    # 100000 x 100000 claimed by a 60-byte file (a decompression bomb's header)
    put(t, "bomb_100000.png", png(100000, 100000, 0, [b""]))
    if shutil.which("cjpeg"):
        tmp = tempfile.mkdtemp(prefix="cardinal_corpus_")
        try:
            ppm = os.path.join(tmp, "in.ppm")
            with open(ppm, "wb") as f:
                f.write(b"P6 8 6 255\n" + bytes((i * 37) % 256 for i in range(8 * 6 * 3)))
            pgm = os.path.join(tmp, "in.pgm")
            with open(pgm, "wb") as f:
                f.write(b"P5 8 6 255\n" + bytes((i * 37) % 256 for i in range(8 * 6)))
            for name, args, src in [("baseline.jpg", [], ppm), ("progressive.jpg", ["-progressive"], ppm),
                                    ("grey.jpg", ["-grayscale"], pgm), ("q10_420.jpg", ["-quality", "10", "-sample", "2x2"], ppm)]:
                data = subprocess.run(["cjpeg"] + args + [src], check=True, stdout=subprocess.PIPE).stdout
                put(t, name, data)
                if name == "baseline.jpg":
                    put(t, "truncated.jpg", data[: len(data) // 2])
        finally:
            shutil.rmtree(tmp)
    put(t, "tiny.pgm", b"P5 3 2 255\n" + bytes(range(6)))
    put(t, "tiny.bmp", b"BM" + struct.pack("<IHHI", 58, 0, 0, 54) + struct.pack("<IiiHHIIiiII", 40, 1, 1, 1, 24, 0, 4, 0, 0, 0, 0) + b"\x10\x20\x30\x00")


# ---- JSON ------------------------------------------------------------------------------------

def make_json():
    with open(os.path.join(ROOT, "checkpoint_model.json"), "rb") as f:
        put("config", "tiny_kwargs.json", f.read())
    put("config", "resnest_spec.json", json.dumps({"model": "resnest_tiny", "kwargs": {
        "block": "Bottleneck", "layers": [1, 1, 1, 1], "channels": [8, 16, 32, 64], "stem_type": "deep",
        "stem_width": 8, "avg_down": True, "block_args": {"radix": 2, "avd": True, "avd_first": False},
        "cardinality": 1, "base_width": 64}}).encode())
    put("config", "sk_kwargs.json", json.dumps({"block": "SelectiveKernelBasic", "layers": [1, 1, 1, 1],
        "block_args": {"sk_kwargs": {"rd_ratio": 0.25, "split_input": True}}, "drop_rate": 0.1}).encode())
    put("config", "se_kwargs.json", json.dumps({"block": "Bottleneck", "layers": [1, 1, 1, 1], "cardinality": 4,
        "base_width": 4, "block_args": {"attn_layer": "se"}}).encode())
    put("config", "hf_config.json", json.dumps({"architecture": "resnest14d", "num_classes": 3,
        "label_names": ["a", "b", "c"], "model_args": {"in_chans": 1},
        "pretrained_cfg": {"tag": "gluon_in1k", "input_size": [1, 64, 64], "interpolation": "bilinear",
                           "crop_pct": 0.875, "crop_mode": "center", "mean": [0.5], "std": [0.25]}}).encode())
    put("config", "bad_layers.json", b'{"block": "BasicBlock", "layers": [1, 2, 3], "channels": [4, 4, 4, 4]}')
    put("recipe", "default.json", json.dumps({
        "model": "resnest_small", "data": "fashion-mnist", "epochs": 6, "batch": 128, "drop_last": True,
        "eval_batch": 1000, "optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True, "wd": 0.0005,
        "schedule": "cosine", "warmup_epochs": 1.0, "label_smoothing": 0.1, "hflip": 0.5,
        "crop_padding": 0, "seed": 0}, indent=1).encode())
    put("recipe", "adamw_multistep.json", json.dumps({
        "optimizer": "adamw", "lr": 0.001, "beta1": 0.9, "beta2": 0.99, "schedule": "multistep",
        "milestones": [2, 4], "gamma": 0.5, "mean": [0.5], "std": [0.25], "model_kwargs":
        {"block": "BasicBlock", "layers": [1, 1, 1, 1]}, "data": "cifar10:/nonexistent"}).encode())
    put("recipe", "wrong_type.json", b'{"epochs": "six", "lr": 0.1}')
    put("recipe", "unknown_key.json", b'{"epoch": 6}')


# ---- command lines ---------------------------------------------------------------------------

def make_cli():
    lines = {
        "train": ["train", "--model", "resnest_small", "--epochs", "1", "--lr", "0.1", "--out", "o"],
        "train_typo": ["trian"],
        "train_bad_number": ["train", "--lr", "abc", "--out", "o"],
        "train_lists": ["train", "--milestones", "2,4", "--mean", "0.5", "--std", "0.25", "--no-nesterov"],
        "models": ["models", "--model", "resnest50d.in1k", "--json"],
        "infer": ["infer", "--model", "resnest14d", "--input", "a.png", "--topk", "3", "--dtype", "bfloat16"],
        "eval": ["eval", "--help"],
        "gradcheck": ["gradcheck", "--help"],
        "help": ["--help"],
    }
    for name, args in lines.items():
        put("cli", name, b"\0".join(a.encode() for a in args))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: python3 fuzz/make_corpus.py PATH/TO/cardinal")
    make_safetensors()
    make_checkpoints(sys.argv[1])
    make_idx()
    make_cifar()
    make_images()
    make_json()
    make_cli()


if __name__ == "__main__":
    main()
