"""Minimal safetensors reading and writing for the PyTorch side of the benchmarks.

The format: 8 bytes little-endian header length N, N bytes of JSON
{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}
(padded with spaces to a multiple of 8), then the raw little-endian tensor bytes. Written here
with json + struct (no safetensors package on this machine).
"""
import json
import os
import struct

import numpy as np
import torch

_DTYPES = {  # safetensors name <-> numpy dtype
    "F64": np.float64, "F32": np.float32, "F16": np.float16,
    "I64": np.int64, "I32": np.int32, "U8": np.uint8,
}
_NAMES = {np.dtype(v): k for k, v in _DTYPES.items()}


def save(path, tensors, metadata=None):
    """tensors: ordered (name, torch.Tensor or numpy array) pairs. Atomic: temp file + rename."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors:
        a = t.detach().cpu().contiguous().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
        a = np.array(a, order="C", copy=False)  # (ascontiguousarray would make 0-d arrays 1-d)
        dtype = _NAMES.get(a.dtype)
        if dtype is None:
            raise ValueError(f"{path}: {name}: dtype {a.dtype} has no safetensors name here")
        blob = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    os.replace(tmp, path)


def load(path):
    """{name: numpy array} of every tensor in the file (metadata dropped)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: {len(data)} bytes, too short for a safetensors header")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise ValueError(f"{path}: header of {n} bytes runs past the end ({len(data)} bytes)")
    header = json.loads(data[8:8 + n])
    body = memoryview(data)[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dtype = np.dtype(_DTYPES[info["dtype"]]).newbyteorder("<")
        out[name] = np.frombuffer(body[begin:end], dtype=dtype).reshape(info["shape"]).copy()
    return out
