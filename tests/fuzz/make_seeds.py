#!/usr/bin/env python3
"""Writes the small seed corpora of tests/fuzz/corpus/ (one folder per harness): valid inputs of
each format, so that the fuzzers start from files the loaders accept and mutate from there.
The JPEG seeds are the fixtures of tests/fixtures/images (made by cjpeg). Run from anywhere:
    python3 tests/fuzz/make_seeds.py
The checkpoint corpus also gets a real config::Tiny checkpoint when one is given:
    python3 tests/fuzz/make_seeds.py path/to/tiny.safetensors   (not committed: ~ its size)
"""
import json
import pathlib
import shutil
import struct
import sys
import zlib

here = pathlib.Path(__file__).resolve().parent
corpus = here / "corpus"
fixtures = here.parent / "fixtures" / "images"


def put(harness, name, data):
    d = corpus / harness
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def png(width, height, depth, colour, rows, chunks=(), interlace=0):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, interlace)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
    for kind, body in chunks:
        out += chunk(kind, body)
    return out + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def safetensors(tensors, metadata=None):
    header, data = {}, b""
    for name, (dtype, shape, raw) in sorted(tensors.items()):
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


# images: PNG of every colour type (palette with transparency, 16-bit grey, grey+alpha, RGBA,
# an Adam7-interlaced 1-bit grey), the JPEG fixtures, PGM and 16-bit PPM.
put("image", "palette.png", png(3, 2, 8, 3, b"\0\0\1\2\0\2\1\0", [(b"PLTE", bytes(range(9))), (b"tRNS", b"\x80")]))
put("image", "grey16.png", png(2, 2, 16, 0, b"\0\x12\x34\xff\xff\0\0\0\x80\x00"))
put("image", "grey_alpha.png", png(2, 1, 8, 4, b"\0\x10\x20\x30\x40"))
put("image", "rgba.png", png(2, 2, 8, 6, b"\0" + bytes(range(8)) + b"\x01" + bytes(range(8, 16))))
adam7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
passes = b""
for x0, y0, dx, dy in adam7:  # 9x9 1-bit grey: each pass's rows, a filter byte then the packed bits
    cols, rows = -(-(9 - x0) // dx), -(-(9 - y0) // dy)
    passes += (b"\0" + bytes([0xa5]) * -(-cols // 8)) * rows
put("image", "interlaced.png", png(9, 9, 1, 0, passes, interlace=1))
for f in ("rgb.jpg", "grey.jpg", "progressive.jpg"):
    put("image", f, (fixtures / f).read_bytes())
put("image", "grey.pgm", b"P5\n# seed\n3 2\n255\n" + bytes([0, 50, 100, 150, 200, 250]))
put("image", "rgb16.ppm", b"P6 2 1 65535\n" + bytes(range(12)))

# safetensors: every dtype, metadata, a zero-sized tensor.
put("safetensors", "dtypes.safetensors", safetensors({
    "w": ("F32", [2, 3], struct.pack("<6f", *range(6))),
    "d": ("F64", [2], struct.pack("<2d", 1.5, -2.0)),
    "h": ("F16", [2], b"\x00\x3c\x00\xc0"),
    "b": ("BF16", [1], b"\x80\x3f"),
    "i": ("I64", [1], struct.pack("<q", -7)),
    "j": ("I32", [2], struct.pack("<2i", 3, 4)),
    "u": ("U8", [3], b"\1\2\3"),
    "e": ("F32", [0, 4], b""),
}, {"epoch": "3"}))
put("safetensors", "empty.safetensors", safetensors({}))

# checkpoint: the metadata a TSGAN checkpoint starts with and one tensor of the generator.
put("checkpoint", "metadata_only.safetensors",
    safetensors({"net.gd.w": ("F32", [2], struct.pack("<2f", 0.5, -0.5))},
                {"tsgan.format": "tsgan.TSGAN/1", "tsgan.version": "0.1.0"}))
if len(sys.argv) > 1:
    shutil.copy(sys.argv[1], corpus / "checkpoint" / "tiny.safetensors")

# TF.js manifests over the harness's a.bin (64 bytes) and b.bin (16 bytes).
put("tfjs_manifest", "float.json", json.dumps(
    [{"paths": ["a.bin"], "weights": [{"name": "conv/filter", "shape": [2, 2, 1, 4], "dtype": "float32"}]}]))
put("tfjs_manifest", "quantized.json", json.dumps(
    [{"paths": ["a.bin", "b.bin"], "weights": [
        {"name": "q8", "shape": [40], "dtype": "float32", "quantization": {"dtype": "uint8", "scale": 0.5, "min": -1}},
        {"name": "q16", "shape": [4, 2], "dtype": "float32", "quantization": {"dtype": "uint16", "scale": 0.01, "min": 0}},
        {"name": "h", "shape": [2], "dtype": "float32", "quantization": {"dtype": "float16"}},
        {"name": "n", "shape": [5], "dtype": "int32", "quantization": {"dtype": "uint8", "scale": 2, "min": 1}}]}]))

# index.csv, pairs.txt, Multi-PIE names.
put("index_csv", "index.csv", "path,identity,pose,glasses\r\na.png,ann,frontal,no\nb.png,ann,left,no\n"
    "c.png,bob,right,yes\nd.png,bob,straight,yes\n,,\n")
put("pairs_txt", "pairs.txt", "2\t2\nAnn\t1\t2\nAnn\t3\t4\nAnn\t1\tBob\t2\nBob\t1\tCid\t3\n"
    "Bob\t1\t2\nCid\t1\t2\nCid\t1\tAnn\t4\nBob\t2\tAnn\t1\n")
put("multipie_names", "names.txt", "001_01_01_051_07.png\n002_01_01_080_07_crop.png\n346_04_03_240_19.PNG\n"
    "200_02_01_191_00.png\n001_01_01_051_07.png\n")
