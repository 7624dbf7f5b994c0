"""Weights for bench/reference/tsgan.py's model from tsgan's files: a `TSGAN::save` checkpoint
(networks, Adam states, step, dual triplet centres), face-api's TF.js recognizer weights (φ of
small and paper, as tsgan's FaceRecognizer::load reads them) and TinyIdentity's weights compiled
into tsgan (φ of tiny). safetensors is read with json + numpy, as tests/interop/safetensors_torch.py
does: no `safetensors` package.

This module imports tsgan (the model); tsgan.py imports it only inside its main(), after naming
itself `tsgan` when it runs as a script, so both see one module and one set of classes.
"""
from __future__ import annotations

import json
import math
import pathlib
import re
import struct

import numpy as np
import torch

import tsgan

DTYPES = {"F64": np.float64, "F32": np.float32, "I64": np.int64, "I32": np.int32, "U8": np.uint8}


def read_safetensors(path):
    data = pathlib.Path(path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    buffer = data[8 + n:]
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        array = np.frombuffer(buffer[begin:end], dtype=np.dtype(DTYPES[entry["dtype"]]).newbyteorder("<")).copy()
        tensors[name] = torch.from_numpy(array).reshape(entry["shape"])
    return tensors, metadata


def load_checkpoint(path, model: tsgan.TSGAN | None = None) -> tsgan.TSGAN:
    """A TSGAN (made from the checkpoint's config in its dtype unless `model` is given) holding the
    checkpoint's networks, Adam states, step and dual triplet centres; every tensor must match."""
    tensors, metadata = read_safetensors(path)
    if metadata.get("tsgan.format") != "tsgan.TSGAN/1":
        raise ValueError(f"{path}: not a tsgan TSGAN checkpoint (tsgan.format = {metadata.get('tsgan.format')})")
    if model is None:
        model = tsgan.TSGAN(tsgan.config_from_json(metadata["tsgan.config"]), tensors["gd.encoder.0.conv.weight"].dtype)
    state = {k: v for k, v in tensors.items() if not k.startswith(("optim.", "state."))}
    own = model.state_dict()
    missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    if missing or unexpected:
        raise ValueError(f"{path}: names differ from the PyTorch model: missing {missing}, unexpected {unexpected}")
    bad = [k for k in own if own[k].shape != state[k].shape]
    if bad:
        raise ValueError(f"{path}: shapes differ: " + ", ".join(f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}"
                                                             for k in bad))
    model.load_state_dict(state, strict=True)
    for net, opt in model.optimizers.items():
        for name, p in getattr(model, net).named_parameters():
            base = f"optim.{net}.{name}"
            step = int(tensors[base + ".step"])
            if step > 0:
                opt.state[p] = {"step": torch.tensor(float(step)),
                                "exp_avg": tensors[base + ".exp_avg"].reshape(p.shape).clone(),
                                "exp_avg_sq": tensors[base + ".exp_avg_sq"].reshape(p.shape).clone()}
    model.step = int(tensors["state.step"])
    ids, centres = tensors["state.dtl.centre_ids"].tolist(), tensors["state.dtl.centres"]
    model.centres = {int(i): centres[k].clone() for k, i in enumerate(ids)}
    return model


def load_recognizer_tfjs(net: tsgan.FaceRecognizer, models_dir):
    """face-api's face_recognition_model (manifest and shards, uint8-quantised tensors
    dequantised as min + scale·q; filters HWIO → OIHW) into `net`, as FaceRecognizer::load reads it."""
    models_dir = pathlib.Path(models_dir)
    manifest = json.loads((models_dir / "face_recognition_model-weights_manifest.json").read_text())
    tensors = {}
    for group in manifest:
        data = b"".join((models_dir / path).read_bytes() for path in group["paths"])
        offset = 0
        for w in group["weights"]:
            n = math.prod(w["shape"])
            q = w.get("quantization")
            if q:
                raw = np.frombuffer(data, dtype=np.uint8, count=n, offset=offset).astype(np.float64)
                values, offset = q["min"] + q["scale"] * raw, offset + n
            else:
                values, offset = np.frombuffer(data, dtype="<f4", count=n, offset=offset), offset + 4 * n
            tensors[w["name"]] = torch.from_numpy(np.array(values, dtype=np.float32).reshape(w["shape"]))
    renames = {"conv.weight": "conv/filters", "scale.weight": "scale/weights", "scale.bias": "scale/biases"}
    with torch.no_grad():
        for name, p in net.named_parameters():
            tfjs = name
            for ours, theirs in renames.items():
                if tfjs.endswith(ours):
                    tfjs = tfjs[: -len(ours)] + theirs
            value = tensors[tfjs.replace(".", "/")]
            p.copy_(value.permute(3, 2, 0, 1) if value.dim() == 4 else value)


def load_tiny_identity_built_in(net: tsgan.TinyIdentity):
    """The weights compiled into tsgan (include/tsgan/models/tiny_identity_weights.hpp) into `net`."""
    text = (tsgan.REPO / "include/tsgan/models/tiny_identity_weights.hpp").read_text()
    arrays = {m.group(1): np.array(re.findall(r"[-+0-9.eE]+(?=f)", m.group(2)), dtype=np.float32)
              for m in re.finditer(r"float (\w+)\[\d+\] = \{([^}]*)\}", text)}
    with torch.no_grad():
        for name, p in net.named_parameters():
            values = arrays[name.replace(".", "_")]
            p.copy_(torch.from_numpy(values).reshape(p.shape))
