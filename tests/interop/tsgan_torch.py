"""The PyTorch half of the TSGAN parity check (driven by run_tsgan_torch.cmake): loads the checkpoints
that `tsgan_interop DIR` wrote into bench/reference/tsgan.py's model, takes the same train_step on
the same batch and compares, for float64 and float32:

  - Î_d and Î_f of restore() before the step (the loaded weights in evaluation mode);
  - every loss term of the step (L_Dd, L_Df, each generator term per stage, d⁺ and d⁻, L_G);
  - every parameter's gradient as the step leaves it (D_d, D_f: the discriminator step's;
    G_d, G_f: the last generator step's), by name, and that no other parameter has one;
  - the weights, batch-norm statistics and Adam moments after the step (tsgan's checkpoint);
  - Î_d and Î_f of restore() after the step;
and, where the face models are, that the PyTorch face recognizer (φ of Small and Paper) gives
the golden descriptor that tsgan's is tested against.

    tsgan_torch.py DIR

Errors are norm-wise, max |torch − tsgan| / max |tsgan| per tensor, and relative for a scalar. In
float64 every one must be below 1e-9. In float32 the bounds are FLOAT32_VALUES and
FLOAT32_DERIVATIVES, and the generator step starts from tsgan's updated discriminators (see
there). Exits non-zero on any mismatch and prints the worst error of each kind.

Two kinds of values have no reference value to compare, only a bound, and are checked as such:
  - parameters whose gradient is 0 analytically: the biases of the residual discriminator's
    convolutions that training-mode batch norm follows (the normalisation subtracts them again)
    and the mask attention's query biases (they add the same k·b to a whole softmax row). Both
    sides compute rounding noise there; it must be below ZERO_GRADIENT of the network's largest
    gradient. Adam turns that noise into an update of up to lr per step, g/(|g| + ε), with a
    random sign, so for these parameters the weights after the step are only checked to have
    moved by at most lr per Adam step, and their moments are not compared;
  - batch-norm running statistics: a noise-driven bias change above reaches the running mean of
    the batch norm after it (0.1 of it per update), and running means start at 0, so statistics
    are compared with their norm floored at 1 (running variances are about 1 anyway).

Small, with the pretrained recognizer as φ, is not part of the test: its checkpoints are 280 MB,
a run took 45 s, and the Small instantiation 2 more minutes of compilation. A one-off run of the
same comparison (2026-12-06, float, one generator step, tsgan's updated D) found the loss terms
within 8.6e-7, batch-norm statistics 7.3e-7, Î_d and Î_f after the step 2.1e-5; against PyTorch
in float64, tsgan's float gradients were off by 3.2e-3 (G_d) and 3.5e-6 (G_f), PyTorch's float
ones by 3.3e-2 and 1.3e-3 (G_d's gradient, through mask attention and both stages, is the
ill-conditioned one in either implementation).
"""

import os
import pathlib
import re
import sys

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "bench" / "reference"))
import tsgan  # noqa: E402  (bench/reference/tsgan.py)
import tsgan_weights  # noqa: E402  (its loaders)

FLOAT64_BOUND = 1e-9
# Float32 (config Tiny with one generator step, see tsgan_interop.cpp): both sides round every
# operation to 24 bits but sum in different orders (tsgan's Eigen or OpenBLAS products against
# PyTorch's), so values differ by rounding accumulated over the depth of the computation. Measured
# on this model and batch (every run prints the worst of each kind): images 1.2e-7, loss terms
# 3.4e-7, batch-norm statistics 2.4e-7; gradients 1.9e-4 (the discriminators', whose backward pass
# runs through four strided 'same' convolutions and two residual blocks), Adam moments 2.7e-4
# (exp_avg_sq is the squared gradient). PyTorch in float against PyTorch in double differs by as
# much (1.3e-4 on D_f's gradients), so the bounds are about ten times the worst: VALUES for images,
# loss terms and statistics, DERIVATIVES for gradients and moments.
FLOAT32_VALUES = 5e-6
FLOAT32_DERIVATIVES = 2e-3
# The generator step in float starts from tsgan's updated discriminators: Adam's first update,
# lr·g/(|g| + ε), is ±lr for every element whose gradient is far above ε however small, so an
# element of D's gradient that is rounding noise steps by lr either way, and the generator's
# adversarial gradients through D then differed by 4 % from PyTorch's after each side's own D
# update (by 6e-6 given tsgan's updated D). D's weights after its step are checked to agree within
# 2·lr instead, element by element, and so are G's after its one step.
ZERO_GRADIENT = {"f64": 1e-12, "f32": 1e-4}
# The "within lr" bounds of Adam steps, plus the float rounding of w ± lr (an ulp of w is up to
# 5e-6 of 2·lr at the weights' size).
SLACK = 1 + 1e-4
ANALYTIC_ZERO = re.compile(r"^(dd|df)\.(conv[1-4]|res[12]\.conv[12])\.bias$|^gd\.attention\.\d+\.query\.bias$")

failures = []
worst = {}


def relative(a, b, floor=0.0):
    a, b = a.double(), b.double()
    scale = max(b.abs().max().item(), floor) if b.numel() else 0.0
    diff = (a - b).abs().max().item() if b.numel() else 0.0
    return diff / scale if scale > 0 else diff


def compare(kind, name, got, want, bound, floor=0.0):
    if got.shape != want.shape:
        failures.append(f"{kind} {name}: shape {tuple(got.shape)}, tsgan's {tuple(want.shape)}")
        return
    err = relative(got, want, floor)
    if not err <= bound:
        failures.append(f"{kind} {name}: relative error {err:.3g} > {bound:g}")
    if err >= worst.get(kind, (-1.0, ""))[0]:
        worst[kind] = (err, name)


def check(directory: pathlib.Path, prefix: str, bound: float, derivative_bound: float):
    io, _ = tsgan_weights.read_safetensors(directory / f"{prefix}_io.safetensors")
    model = tsgan_weights.load_checkpoint(directory / f"{prefix}_init.safetensors")
    dtype = model.gd.encoder[0].conv.weight.dtype
    expected_dtype = torch.float64 if prefix == "f64" else torch.float32
    if dtype != expected_dtype:
        failures.append(f"{prefix}: the checkpoint holds {dtype}, expected {expected_dtype}")

    for size, (a, tx, ty) in tsgan.CHIP_MAPS.items():
        compare(f"{prefix} chip map", str(size), torch.tensor([a, tx, ty], dtype=torch.float64),
                io[f"chip.{size}"], 0.0)
    if prefix == "f32":  # the benchmark's TinyIdentity weights, parsed from tsgan's header
        built_in = tsgan.TinyIdentity()
        tsgan_weights.load_tiny_identity_built_in(built_in)
        for name, p in built_in.named_parameters():
            compare(f"{prefix} built-in phi", name, p.detach(), model.phi.state_dict()[name], 0.0)

    profile, mask, frontal = io["batch.profile"], io["batch.mask"], io["batch.frontal"]
    ids = [int(i) for i in io["batch.identity"]]
    occluded = profile * (1 - mask)
    d, f = model.restore(occluded, mask)
    compare(f"{prefix} output", "before.deoccluded", d, io["before.deoccluded"], bound)
    compare(f"{prefix} output", "before.frontal", f, io["before.frontal"], bound)

    after, _ = tsgan_weights.read_safetensors(directory / f"{prefix}_after.safetensors")
    lr = model.cfg["learning_rate"]

    def take_tsgan_discriminators(m):
        """In float the generator step starts from tsgan's updated D_d and D_f (see the header)."""
        with torch.no_grad():
            for net in ("dd", "df"):
                for n, p in getattr(m, net).named_parameters():
                    name = f"{net}.{n}"
                    moved = (p - after[name]).abs().max().item()
                    kind = f"{prefix} D weight after its step (|error| / 2·lr)"
                    if not moved <= 2 * lr * SLACK:
                        failures.append(f"{kind} {name}: {moved / (2 * lr):.3g}")
                    if moved / (2 * lr) >= worst.get(kind, (-1.0, ""))[0]:
                        worst[kind] = (moved / (2 * lr), name)
                    p.copy_(after[name])

    in_float = prefix != "f64"
    terms = model.train_step(profile, mask, frontal, ids, take_tsgan_discriminators if in_float else None)
    for key, want in io.items():
        if key.startswith("loss."):
            name = key[len("loss."):]
            compare(f"{prefix} loss", name, torch.tensor(terms[name], dtype=torch.float64), want, bound)
    names = [k[len("loss."):] for k in io if k.startswith("loss.")]
    if sorted(names) != sorted(terms):
        failures.append(f"{prefix}: loss terms differ: tsgan {sorted(names)}, torch {sorted(terms)}")

    grads = {f"{net}.{n}": p.grad for net in ("gd", "dd", "gf", "df", "phi")
             for n, p in getattr(model, net).named_parameters() if p.grad is not None}
    want_grads = {k[len("grad."):]: v for k, v in io.items() if k.startswith("grad.")}
    if sorted(grads) != sorted(want_grads):
        failures.append(f"{prefix}: parameters with a gradient differ: only tsgan "
                        f"{sorted(set(want_grads) - set(grads))}, only torch {sorted(set(grads) - set(want_grads))}")
    largest = {net: max(g.abs().max().item() for n, g in want_grads.items() if n.startswith(net + "."))
               for net in ("gd", "dd", "gf", "df")}
    for name in sorted(set(grads) & set(want_grads)):
        if ANALYTIC_ZERO.match(name):
            noise = max(grads[name].abs().max().item(), want_grads[name].abs().max().item()) / largest[name[:2]]
            if not noise <= ZERO_GRADIENT[prefix]:
                failures.append(f"{prefix} gradient {name}: analytically 0, but {noise:.3g} of the largest")
            kind = f"{prefix} analytically zero gradient (noise / largest)"
            if noise >= worst.get(kind, (-1.0, ""))[0]:
                worst[kind] = (noise, name)
        else:
            compare(f"{prefix} gradient", name, grads[name], want_grads[name], derivative_bound)

    init, _ = tsgan_weights.read_safetensors(directory / f"{prefix}_init.safetensors")
    for name, value in model.state_dict().items():
        if name.endswith("num_batches_tracked"):
            compare(f"{prefix} batch-norm count", name, value, after[name], 0.0)
        elif ".running_" in name:
            compare(f"{prefix} batch-norm statistic", name, value, after[name], bound, floor=1.0)
        elif name.startswith("phi."):  # frozen
            compare(f"{prefix} frozen phi after the step", name, value, after[name], 0.0)
        elif ANALYTIC_ZERO.match(name):
            steps = int(after[f"optim.{name[:2]}.{name[3:]}.step"])
            moved = max((value - init[name]).abs().max().item(), (after[name] - init[name]).abs().max().item())
            if not moved <= lr * steps * SLACK:
                failures.append(f"{prefix} weight after the step {name}: moved {moved:.3g} in {steps} Adam steps of {lr}")
        elif in_float:
            # An element whose float gradient is rounding noise steps by ±lr either way (see the
            # header): weights after the step agree to within 2·lr per Adam step.
            steps = int(after[f"optim.{name[:2]}.{name[3:]}.step"])
            err = (value.double() - after[name].double()).abs().max().item() / (2 * lr * steps)
            kind = f"{prefix} weight after the step (|error| / 2·lr·steps)"
            if not err <= SLACK:
                failures.append(f"{kind} {name}: {err:.3g}")
            if err >= worst.get(kind, (-1.0, ""))[0]:
                worst[kind] = (err, name)
        else:
            compare(f"{prefix} weight after the step", name, value, after[name], bound)
    for net, opt in model.optimizers.items():
        for n, p in getattr(model, net).named_parameters():
            state, base = opt.state.get(p), f"optim.{net}.{n}"
            if state is None:
                failures.append(f"{prefix}: Adam took no step on {net}.{n}")
                continue
            if int(state["step"]) != int(after[base + ".step"]):
                failures.append(f"{prefix}: Adam step of {net}.{n}: {int(state['step'])}, tsgan's "
                                f"{int(after[base + '.step'])}")
            if ANALYTIC_ZERO.match(f"{net}.{n}"):
                continue
            compare(f"{prefix} Adam moment", base + ".exp_avg", state["exp_avg"].flatten(), after[base + ".exp_avg"],
                    derivative_bound)
            compare(f"{prefix} Adam moment", base + ".exp_avg_sq", state["exp_avg_sq"].flatten(),
                    after[base + ".exp_avg_sq"], derivative_bound)

    d, f = model.restore(occluded, mask)
    compare(f"{prefix} output", "after.deoccluded", d, io["after.deoccluded"], bound)
    compare(f"{prefix} output", "after.frontal", f, io["after.frontal"], bound)


def check_recognizer():
    """φ of Small and Paper: the PyTorch FaceRecognizer on face-api's weights gives the golden
    descriptor of face-models.md §2.7 (the values tests/unit/models/face_recognizer_test.cpp holds
    tsgan's FaceRecognizer to), within the same 1e-5; skipped without the face models."""
    folder = pathlib.Path(os.environ.get("TSGAN_MODELS_DIR") or pathlib.Path.home() / ".cache/tsgan/models")
    if not (folder / "face_recognition_model-weights_manifest.json").exists():
        print("face recognizer: skipped (no face models: scripts/fetch-face-models.sh or TSGAN_MODELS_DIR)")
        return
    source = (pathlib.Path(__file__).resolve().parents[1] / "unit/models/face_recognizer_test.cpp").read_text()
    golden = torch.tensor([float(v) for v in re.findall(r"-?\d+\.\d+", re.search(r"golden = \{([^}]*)\}", source)[1])],
                          dtype=torch.float64)
    net = tsgan.FaceRecognizer()
    tsgan_weights.load_recognizer_tfjs(net, folder)
    y, x, c = torch.meshgrid(torch.arange(150), torch.arange(150), torch.arange(3), indexing="ij")
    image = ((3 * x + 5 * y + 7 * c) % 256).permute(2, 0, 1)[None].float() / 255  # §2.7's pattern
    with torch.no_grad():
        embedding, feature_map = net.features(image)
    diff = (embedding[0].double() - golden).abs().max().item()
    print(f"face recognizer: golden descriptor within {diff:.3g} (128 values), feature map {tuple(feature_map.shape)}")
    if len(golden) != 128 or not diff < 1e-5 or tuple(feature_map.shape) != (1, 128, 8, 8):
        failures.append(f"face recognizer: golden descriptor off by {diff:.3g}, feature map {tuple(feature_map.shape)}")


def main():
    directory = pathlib.Path(sys.argv[1])
    torch.set_num_threads(1)
    check(directory, "f64", FLOAT64_BOUND, FLOAT64_BOUND)
    check(directory, "f32", FLOAT32_VALUES, FLOAT32_DERIVATIVES)
    check_recognizer()
    for kind, (err, name) in sorted(worst.items()):
        print(f"{kind}: worst relative error {err:.3g} ({name})")
    if failures:
        print(f"{len(failures)} mismatches:\n  " + "\n  ".join(failures[:60]), file=sys.stderr)
        return 1
    print("TSGAN<config::Tiny> in PyTorch matches tsgan in float64 and float32")
    return 0


if __name__ == "__main__":
    sys.exit(main())
