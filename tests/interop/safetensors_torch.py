"""The PyTorch half of the safetensors exchange with tsgan (driven by run_safetensors_torch.cmake).

    safetensors_torch.py check FILE   checks the file `safetensors_interop write` made
    safetensors_torch.py write FILE   writes the file `safetensors_interop check` expects

The format is parsed and written here by hand (struct, json, numpy), independently of tsgan and
of the `safetensors` package, which Debian's python3-torch lacks. Exits non-zero on any mismatch.
"""

import json
import math
import struct
import sys

import numpy as np
import torch

# dtype name -> (numpy type used to read the bytes, torch dtype the values are compared as)
DTYPES = {
    "F64": (np.float64, torch.float64),
    "F32": (np.float32, torch.float32),
    "F16": (np.float16, torch.float16),
    "BF16": (np.int16, torch.bfloat16),  # numpy has no bfloat16: read the bits, view them in torch
    "I64": (np.int64, torch.int64),
    "I32": (np.int32, torch.int32),
    "U8": (np.uint8, torch.uint8),
}
TORCH_NAMES = {torch_dtype: name for name, (_, torch_dtype) in DTYPES.items()}

failures = []


def expect(ok, what):
    if not ok:
        failures.append(what)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n].decode("utf-8"))
    buffer = data[8 + n :]
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, entry in header.items():
        np_type, torch_dtype = DTYPES[entry["dtype"]]
        begin, end = entry["data_offsets"]
        array = np.frombuffer(buffer[begin:end], dtype=np.dtype(np_type).newbyteorder("<")).copy()
        t = torch.from_numpy(array)
        if entry["dtype"] == "BF16":
            t = t.view(torch.bfloat16)
        tensors[name] = t.reshape(entry["shape"])
    return tensors, metadata, header


def write_safetensors(path, tensors, metadata):
    header, chunks, offset = {}, [], 0
    # Reverse name order in the buffer, unlike tsgan's writer, so the reader cannot rely on order.
    for name in sorted(tensors, reverse=True):
        t = tensors[name].contiguous()
        stored = t.view(torch.int16) if t.dtype == torch.bfloat16 else t
        raw = stored.numpy().astype(storage_dtype(t), copy=False).tobytes()
        header[name] = {
            "dtype": TORCH_NAMES[t.dtype],
            "shape": list(t.shape),
            "data_offsets": [offset, offset + len(raw)],
        }
        chunks.append(raw)
        offset += len(raw)
    header["__metadata__"] = metadata
    text = json.dumps(header).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def storage_dtype(t):
    """The little-endian numpy dtype of a tensor's storage (bfloat16 is stored as int16 bits)."""
    name = TORCH_NAMES[t.dtype]
    return np.dtype(DTYPES[name][0]).newbyteorder("<")


def bits16(t):
    return t.view(torch.int16).to(torch.int32) & 0xFFFF


def check(path):
    tensors, metadata, header = read_safetensors(path)
    expect(metadata == {"format": "pt", "producer": "tsgan", "note": "ünïcödé ✓"}, f"metadata {metadata}")
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
    expect(n % 8 == 0, f"header length {n} is not a multiple of 8")
    want_dtypes = {
        "f32": "F32", "f64": "F64", "src": "F32", "src_as_f16": "F16", "src_as_bf16": "BF16",
        "f16": "F16", "bf16": "BF16", "i64": "I64", "i32": "I32", "u8": "U8", "steps": "I64",
    }
    expect({k: v["dtype"] for k, v in header.items()} == want_dtypes, f"dtypes {header}")

    f32 = tensors["f32"]
    expect(f32.shape == (2, 3, 4), f"f32 shape {f32.shape}")
    expect(torch.equal(f32, (torch.arange(24, dtype=torch.float32) * 0.25 - 2.5).reshape(2, 3, 4)), "f32 values")
    expect(torch.equal(tensors["f64"], torch.tensor([1.0 / (i + 3) for i in range(5)], dtype=torch.float64)), "f64 values")

    src = tensors["src"]
    want_src = [1 / 3, 0.1, 1e-5, 7e4, 1 + 2**-11, 1 + 3 * 2**-12, -65504, 3.14159265, 1e-8, -2.5e38,
                1 + 2**-8, 1 + 3 * 2**-10, 6e-8, -0.0]
    expect(torch.equal(src, torch.tensor(want_src, dtype=torch.float32)), f"src values {src}")
    # tsgan's float -> F16 / BF16 rounding must give torch's bits for the same inputs.
    for name, dtype in (("src_as_f16", torch.float16), ("src_as_bf16", torch.bfloat16)):
        got, want = bits16(tensors[name]), bits16(src.to(dtype))
        for i in range(len(want_src)):
            expect(int(got[i]) == int(want[i]),
                   f"{name}[{i}] for {float(src[i])!r}: tsgan {int(got[i]):#06x}, torch {int(want[i]):#06x}")
    expect(math.isinf(float(tensors["src_as_f16"][9])), "-2.5e38 as F16 is -inf")

    f16 = tensors["f16"]
    expect(f16.dtype == torch.float16 and torch.equal(f16.float(), torch.tensor([1.0, 2**-24, 65504.0, -5.0])), f"f16 {f16}")
    bf16 = tensors["bf16"]
    expect(bf16.dtype == torch.bfloat16 and bits16(bf16).tolist() == [0x3F80, 0xC2F7, 0x7F7F, 0x0001], f"bf16 {bf16}")
    expect(float(bf16[1]) == -123.5, "bf16[1] is -123.5")
    expect(tensors["i64"].tolist() == [-(2**40), -1, 0, 2**62 + 7], f"i64 {tensors['i64']}")
    expect(tensors["i32"].tolist() == [[-(2**31), -1], [7, 2**31 - 1]], f"i32 {tensors['i32']}")
    expect(tensors["u8"].tolist() == [0, 1, 127, 128, 254, 255], f"u8 {tensors['u8']}")
    steps = tensors["steps"]
    expect(steps.dim() == 0 and int(steps) == 123456789, f"steps {steps}")


def write(path):
    src = torch.tensor([0.1, -2.5, 65504, 1 / 3, 1 + 2**-11, 1 + 3 * 2**-12, 7e4, 1e-8, 1 + 2**-8], dtype=torch.float32)
    tensors = {
        "w_f32": (torch.arange(6, dtype=torch.float32) * 0.5 - 1).reshape(3, 2),
        "w_f64": torch.tensor([[1 / 3, -2 / 7], [1e-300, 1e300]], dtype=torch.float64),
        "w_src": src,
        "w_f16": src.to(torch.float16),
        "w_bf16": src.to(torch.bfloat16),
        "w_i64": torch.tensor([-(2**63), 12345678901234, 2**63 - 1], dtype=torch.int64),
        "w_i32": torch.tensor([-5, 2**31 - 1], dtype=torch.int32),
        "w_u8": torch.tensor([0, 17, 200, 255], dtype=torch.uint8),
        "num_batches_tracked": torch.tensor(42, dtype=torch.int64),  # a 0-d tensor, as BatchNorm keeps
    }
    write_safetensors(path, tensors, {"format": "pt", "source": "torch"})


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("check", "write"):
        sys.exit(f"usage: {sys.argv[0]} check|write FILE")
    (check if sys.argv[1] == "check" else write)(sys.argv[2])
    if failures:
        print("\n".join(f"mismatch: {f}" for f in failures), file=sys.stderr)
        sys.exit(1)
    print(f"{sys.argv[1]} {sys.argv[2]}: ok (torch {torch.__version__})")


if __name__ == "__main__":
    main()
