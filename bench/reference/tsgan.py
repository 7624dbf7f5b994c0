#!/usr/bin/env python3
"""TSGAN in PyTorch, layer for layer `tsgan::TSGAN<Config>` (include/tsgan/models/tsgan.hpp): the peer
that the parity test (tests/interop/tsgan_torch.py) holds tsgan to, and the reference that
bench/run_tsgan.py times it against.

Both U-Net generators (G_d with mask attention on its skips, G_f plain), both discriminators
(residual and PatchGAN), the identity network φ (TinyIdentity for config tiny, dlib's face
recognizer behind the crop-to-chip map for small and paper), every loss term and the step
schedule (one discriminator step, then generator_steps generator steps; joint or stagewise; batch
roll or running-centre negatives for the dual triplet loss), as docs/method.md specifies them.

Parameter and buffer names are those of tsgan's checkpoints (gd.*, dd.*, gf.*, df.*, phi.*), so
tsgan_weights.load_checkpoint(path) (the module beside this one, which holds the loaders) fills the
model, its four Adam optimizers and its step from a checkpoint that `TSGAN::save` wrote, in that
checkpoint's dtype. The configuration comes from the
checkpoint's embedded JSON or from CONFIGS (configs.hpp's tiny, small, paper and release).

    /usr/bin/python3 bench/reference/tsgan.py --config small --threads 1 --steps 5
    /usr/bin/python3 bench/reference/tsgan.py --checkpoint run/checkpoint.safetensors --steps 5
    /usr/bin/python3 bench/reference/tsgan.py --config paper --models ~/.cache/tsgan/models

φ of small and paper can also come from face-api's TF.js weights (tsgan_weights.load_recognizer_tfjs, as
tsgan's FaceRecognizer::load; tests/interop/tsgan_torch.py checks it against the golden descriptor).

The benchmark prints as its last line one JSON object: framework ("torch"), config, threads,
ms_per_step (median of the timed train_steps), ms_min, ms_max, cpu_ms_per_step (median CPU time
of the process, all threads), faults_per_step (minor page faults of the timed steps, per step),
peak_rss_mb, steps, version.
Without --checkpoint the networks start from tsgan's initialisation rule (N(0, init_std) weights,
N(1, init_std) batch-norm scales, zero biases) drawn by torch's generator, and φ is TinyIdentity's
built-in weights (tiny) or, as in tsgan-bench-tsgan, a recognizer of the real architecture with
random weights (small, paper: He-normal convolutions, Xavier fc, unit scales, zero biases; the
work of a step does not depend on the values). The batch is tsgan-bench-tsgan's: uniform images,
the same rectangle occluded in each, identities 0 0 1 1 2 2.
"""
from __future__ import annotations

import json
import math
import pathlib
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent

# ---- configurations (include/tsgan/models/configs.hpp, in config::describe's JSON keys) -----------
PAPER = {
    "image_size": 128, "batch": 6, "unet_levels": 7, "generator_width": 64, "discriminator_width": 64,
    "discriminator": "residual", "leaky_slope": 0.2, "bn_momentum": 0.1, "bn_eps": 1e-5, "init_std": 0.02,
    "mask_attention": True, "attention_sides": [32, 16, 8], "attention_reduce_channels": False,
    "attention_learnable_gamma": False, "compose_deocclusion": False, "frontalizer_mirror_input": False,
    "lambda": [20, 4, 40, 1, 0.3, 0.001], "real_label": 0.9, "negatives": "batch_roll", "centre_momentum": 0.9,
    "discriminator_step": "automatic", "generator_steps": 2, "learning_rate": 1e-4, "beta1": 0.9, "beta2": 0.999,
    "mask_pooling": "max", "output_activation": "tanh", "lambda_reference_size": 128, "schedule": "joint",
    "deocclusion_steps": 0, "frontalization_steps": 0, "identity_input": "recognizer_chip",
}
SMALL = dict(PAPER, image_size=64, unet_levels=6, generator_width=32, discriminator_width=32,
             attention_sides=[16, 8, 4])
TINY = dict(PAPER, image_size=32, batch=4, unet_levels=5, generator_width=8, discriminator_width=8,
            attention_sides=[8, 4], identity_input="crop")
RELEASE = dict(SMALL, compose_deocclusion=True, generator_steps=1)
CONFIGS = {"tiny": TINY, "small": SMALL, "paper": PAPER, "release": RELEASE}


def config_from_json(text: str) -> dict:
    """A checkpoint's tsgan.config metadata, with the members describe() leaves out at Paper's values."""
    return dict(PAPER, **json.loads(text))


def loss_weights(cfg) -> list[float]:
    """λ1..λ6 (adv, dtri, ip, pix, sym, tv), the pixel-sum terms' scaled by (reference / size)²."""
    r = cfg["lambda_reference_size"] / cfg["image_size"]
    adv, dtri, ip, pix, sym, tv = cfg["lambda"]
    return [adv, dtri, ip, pix * r * r, sym * r * r, tv * r * r]


def runs_discriminators(cfg) -> bool:
    mode = cfg["discriminator_step"]
    if isinstance(mode, bool):  # checkpoints written before DiscriminatorSteps
        return mode
    return mode == "always" or (mode == "automatic" and cfg["lambda"][0] > 0)


def stage_at(cfg, step: int) -> str:
    if cfg["schedule"] == "joint":
        return "joint"
    if step < cfg["deocclusion_steps"]:
        return "deocclusion"
    if step < cfg["deocclusion_steps"] + cfg["frontalization_steps"]:
        return "frontalization"
    return "joint"


# ---- layers ---------------------------------------------------------------------------------------

def tf_same_pad(x, k: int, stride: int):
    """TensorFlow's 'same' padding (out = ceil(in / stride), the odd cell at the bottom and right)."""
    def amounts(size):
        out = -(-size // stride)
        total = max((out - 1) * stride + k - size, 0)
        return total // 2, total - total // 2
    top, bottom = amounts(x.shape[2])
    left, right = amounts(x.shape[3])
    return F.pad(x, (left, right, top, bottom))


class SameConv2d(nn.Conv2d):
    """A convolution with TF 'same' padding (tsgan's ConvOptions{.same = true})."""

    def forward(self, x):
        return super().forward(tf_same_pad(x, self.kernel_size[0], self.stride[0]))


def batch_norm(c, cfg):
    return nn.BatchNorm2d(c, eps=cfg["bn_eps"], momentum=cfg["bn_momentum"])


def softplus(x):
    """max(x, 0) + log1p(exp(−|x|)), the form tsgan evaluates (torch's F.softplus switches to x above 20)."""
    return torch.clamp(x, min=0) + torch.log1p(torch.exp(-torch.abs(x)))


# ---- U-Net (blocks/unet.hpp) ----------------------------------------------------------------------

def unet_width(cfg, i: int) -> int:
    return cfg["generator_width"] * min(2 ** i, 8)


def unet_side(cfg, i: int) -> int:
    return cfg["image_size"] >> (i + 1)


class EncoderLevel(nn.Module):
    """conv 4×4/2 (LeakyReLU before it but on the first level; batch norm after it but on the first
    and the innermost level; a bias only without batch norm)."""

    def __init__(self, cin, cout, first, norm, cfg):
        super().__init__()
        self.first, self.slope = first, cfg["leaky_slope"]
        self.conv = nn.Conv2d(cin, cout, 4, stride=2, padding=1, bias=not norm)
        self.norm = batch_norm(cout, cfg) if norm else None

    def forward(self, x):
        h = self.conv(x if self.first else F.leaky_relu(x, self.slope))
        return self.norm(h) if self.norm is not None else h


class DecoderLevel(nn.Module):
    """ReLU, transposed conv 4×4/2, then batch norm, or on the outermost level tanh or a sigmoid."""

    def __init__(self, cin, cout, outermost, cfg):
        super().__init__()
        self.outermost, self.output = outermost, cfg["output_activation"]
        self.conv = nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1, bias=outermost)
        self.norm = None if outermost else batch_norm(cout, cfg)

    def forward(self, x):
        h = self.conv(F.relu(x))
        if not self.outermost:
            return self.norm(h)
        return torch.tanh(h) if self.output == "tanh" else torch.sigmoid(h)


class UNet(nn.Module):
    """encoder.<i> and decoder.<i>, i = 0 (outermost) .. levels − 1 (innermost)."""

    def __init__(self, cin, cout, cfg):
        super().__init__()
        L = cfg["unet_levels"]
        self.levels = L
        self.encoder = nn.ModuleList(
            EncoderLevel(cin if i == 0 else unet_width(cfg, i - 1), unet_width(cfg, i), i == 0, 0 < i < L - 1, cfg)
            for i in range(L))
        self.decoder = nn.ModuleList(
            DecoderLevel(unet_width(cfg, i) if i == L - 1 else 2 * unet_width(cfg, i),
                         cout if i == 0 else unet_width(cfg, i - 1), i == 0, cfg)
            for i in range(L))

    def forward(self, x, skip_transform=None):
        skips = []
        for level in self.encoder:
            x = level(x)
            skips.append(x)
        L = self.levels
        y = self.decoder[L - 1](skips[L - 1])
        for i in range(L - 2, -1, -1):
            skip = skip_transform(i, skips[i]) if skip_transform else skips[i]
            y = self.decoder[i](torch.cat([skip, y], 1))
        return y


class MaskAttention(nn.Module):
    """MAM (blocks/mask_attention.hpp): X_m = E ⊙ (1 − M_l); A = softmax_m(K·Qᵀ); Y = X_m + γ·A·X_m."""

    def __init__(self, c, cfg):
        super().__init__()
        ck = max(1, c // 8) if cfg["attention_reduce_channels"] else c
        self.query = nn.Conv2d(c, ck, 1)
        self.key = nn.Conv2d(c, ck, 1)
        self.gamma = nn.Parameter(torch.zeros(1)) if cfg["attention_learnable_gamma"] else None

    def forward(self, e, mask):
        b, c, h, w = e.shape
        xm = e * (1 - mask)
        q = self.query(xm).reshape(b, -1, h * w)
        k = self.key(xm).reshape(b, -1, h * w)
        attention = torch.softmax(torch.bmm(k.transpose(1, 2), q), dim=-1)  # [b, n, m]
        o = torch.bmm(xm.reshape(b, c, h * w), attention.transpose(1, 2)).reshape(b, c, h, w)
        return xm + (self.gamma * o if self.gamma is not None else o)


class Deoccluder(UNet):
    """G_d: the U-Net on concat(I_o·2 − 1, M) with mask attention on the skips at attention_sides."""

    def __init__(self, cfg):
        super().__init__(4, 3, cfg)
        L = cfg["unet_levels"]
        self.attended = [i for i in range(L - 1)
                         if cfg["mask_attention"] and unet_side(cfg, i) in cfg["attention_sides"]]
        self.attention = nn.ModuleDict({str(i): MaskAttention(unet_width(cfg, i), cfg) for i in self.attended})


# ---- discriminators (blocks/discriminator.hpp) ----------------------------------------------------

class ResidualBlock(nn.Module):
    def __init__(self, c, cfg):
        super().__init__()
        self.conv1, self.norm1 = SameConv2d(c, c, 3), batch_norm(c, cfg)
        self.conv2, self.norm2 = SameConv2d(c, c, 3), batch_norm(c, cfg)

    def forward(self, x, slope):
        h = F.leaky_relu(self.norm1(self.conv1(x)), slope)
        return F.leaky_relu(x + self.norm2(self.conv2(h)), slope)


class ResidualDiscriminator(nn.Module):
    """3×3/2 'same' convolutions w → 2w → 4w → 8w, a residual block, 8w → 8w, a residual block, 1×1."""

    def __init__(self, cfg, cin=3):
        super().__init__()
        w, self.slope = cfg["discriminator_width"], cfg["leaky_slope"]
        self.conv0 = SameConv2d(cin, w, 3, stride=2)
        self.conv1, self.norm1 = SameConv2d(w, 2 * w, 3, stride=2), batch_norm(2 * w, cfg)
        self.conv2, self.norm2 = SameConv2d(2 * w, 4 * w, 3, stride=2), batch_norm(4 * w, cfg)
        self.conv3, self.norm3 = SameConv2d(4 * w, 8 * w, 3, stride=2), batch_norm(8 * w, cfg)
        self.res1 = ResidualBlock(8 * w, cfg)
        self.conv4, self.norm4 = SameConv2d(8 * w, 8 * w, 3, stride=2), batch_norm(8 * w, cfg)
        self.res2 = ResidualBlock(8 * w, cfg)
        self.logits = nn.Conv2d(8 * w, 1, 1)

    def forward(self, x):
        s = self.slope
        h = F.leaky_relu(self.conv0(x), s)
        h = F.leaky_relu(self.norm1(self.conv1(h)), s)
        h = F.leaky_relu(self.norm2(self.conv2(h)), s)
        h = self.res1(F.leaky_relu(self.norm3(self.conv3(h)), s), s)
        h = self.res2(F.leaky_relu(self.norm4(self.conv4(h)), s), s)
        return self.logits(h)


class PatchDiscriminator(nn.Module):
    """pix2pix's PatchGAN (n_layers = 3): 4×4 convolutions, strides 2, 2, 2, 1, 1."""

    def __init__(self, cfg, cin=3):
        super().__init__()
        w, self.slope = cfg["discriminator_width"], cfg["leaky_slope"]
        self.conv0 = nn.Conv2d(cin, w, 4, 2, 1)
        self.conv1, self.norm1 = nn.Conv2d(w, 2 * w, 4, 2, 1, bias=False), batch_norm(2 * w, cfg)
        self.conv2, self.norm2 = nn.Conv2d(2 * w, 4 * w, 4, 2, 1, bias=False), batch_norm(4 * w, cfg)
        self.conv3, self.norm3 = nn.Conv2d(4 * w, 8 * w, 4, 1, 1, bias=False), batch_norm(8 * w, cfg)
        self.logits = nn.Conv2d(8 * w, 1, 4, 1, 1)

    def forward(self, x):
        s = self.slope
        h = F.leaky_relu(self.conv0(x), s)
        h = F.leaky_relu(self.norm1(self.conv1(h)), s)
        h = F.leaky_relu(self.norm2(self.conv2(h)), s)
        h = F.leaky_relu(self.norm3(self.conv3(h)), s)
        return self.logits(h)


# ---- identity networks φ (models/identity.hpp, models/face_recognizer.hpp) ------------------------

class TinyIdentity(nn.Module):
    """Three 3×3/2 convolutions (16, 32, 64, ReLU), a global mean, a linear layer to 64 values;
    φ_p is the second convolution's output."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 2, 1)
        self.conv2 = nn.Conv2d(16, 32, 3, 2, 1)
        self.conv3 = nn.Conv2d(32, 64, 3, 2, 1)
        self.fc = nn.Linear(64, 64)

    def features(self, x):
        a2 = F.relu(self.conv2(F.relu(self.conv1(x))))
        a3 = F.relu(self.conv3(a2))
        return self.fc(a3.mean(dim=(2, 3))), a2


class ConvLayer(nn.Module):
    """dlib's convLayer: a convolution with bias, then the per-channel affine `scale`."""

    def __init__(self, cin, cout, k):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k)
        self.scale = nn.Module()
        self.scale.weight = nn.Parameter(torch.ones(cout))
        self.scale.bias = nn.Parameter(torch.zeros(cout))

    def forward(self, x, same: bool, stride: int = 1):
        y = F.conv2d(tf_same_pad(x, self.conv.kernel_size[0], stride) if same else x, self.conv.weight,
                     self.conv.bias, stride=stride)
        return y * self.scale.weight.reshape(-1, 1, 1) + self.scale.bias.reshape(-1, 1, 1)


class Residual(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1, self.conv2 = ConvLayer(c, c, 3), ConvLayer(c, c, 3)

    def forward(self, x):
        return F.relu(self.conv2(F.relu(self.conv1(x, True)), True) + x)


class ResidualDown(nn.Module):
    """Projection-free downsampling: a 2×2 average-pooled shortcut with zero channels appended; the
    residual branch zero-padded at the bottom and right when it is one cell smaller."""

    def __init__(self, cin, cout):
        super().__init__()
        self.cin, self.cout = cin, cout
        self.conv1, self.conv2 = ConvLayer(cin, cout, 3), ConvLayer(cout, cout, 3)

    def forward(self, x):
        r = self.conv2(F.relu(self.conv1(x, False, 2)), True)
        shortcut = F.avg_pool2d(x, 2, 2)
        if self.cout > self.cin:
            shortcut = torch.cat([shortcut, shortcut.new_zeros(
                (x.shape[0], self.cout - self.cin) + tuple(shortcut.shape[2:]))], 1)
        r = F.pad(r, (0, shortcut.shape[3] - r.shape[3], 0, shortcut.shape[2] - r.shape[2]))
        return F.relu(r + shortcut)


class FaceRecognizer(nn.Module):
    """dlib's face-recognition ResNet as face-api ships it; φ_p is conv128_2's output [N, 128, 8, 8]."""
    MEAN_RGB = (122.782, 117.001, 104.298)

    def __init__(self):
        super().__init__()
        self.conv32_down = ConvLayer(3, 32, 7)
        self.conv32_1, self.conv32_2, self.conv32_3 = Residual(32), Residual(32), Residual(32)
        self.conv64_down = ResidualDown(32, 64)
        self.conv64_1, self.conv64_2, self.conv64_3 = Residual(64), Residual(64), Residual(64)
        self.conv128_down = ResidualDown(64, 128)
        self.conv128_1, self.conv128_2 = Residual(128), Residual(128)
        self.conv256_down = ResidualDown(128, 256)
        self.conv256_1, self.conv256_2 = Residual(256), Residual(256)
        self.conv256_down_out = ResidualDown(256, 256)
        self.fc = nn.Parameter(torch.zeros(256, 128))  # [in, out]: out = g·fc

    def features(self, x):
        """x: [N, 3, 150, 150] in [0, 1] (the chip; face-api's resize is the identity at 150)."""
        mean = torch.tensor(self.MEAN_RGB, dtype=x.dtype, device=x.device).reshape(3, 1, 1)
        h = (x * 255 - mean) / 255
        h = F.max_pool2d(F.relu(self.conv32_down(h, False, 2)), 3, 2)
        h = self.conv32_3(self.conv32_2(self.conv32_1(h)))
        h = self.conv64_3(self.conv64_2(self.conv64_1(self.conv64_down(h))))
        feature_map = self.conv128_2(self.conv128_1(self.conv128_down(h)))
        h = self.conv256_down_out(self.conv256_2(self.conv256_1(self.conv256_down(feature_map))))
        return h.mean(dim=(2, 3)) @ self.fc, feature_map


# chip → crop maps of models::RecognizerChip<S> (a, tx, ty: chip pixel centre q samples the crop at
# a·q + t − ½ in index units), as tsgan computes them from its face templates; tsgan_interop writes
# them and tests/interop/tsgan_torch.py checks these against them.
CHIP_MAPS = {
    32: (0.20739038804729387, 0.6557032444734272, 0.4858809221628686),
    64: (0.4214921854905609, 0.80805078424887, 0.46840613962774924),
    128: (0.8496957803770949, 1.112745863799752, 0.4334565745575176),
}


def chip_weights(size: int, a: float, t: float, dtype) -> torch.Tensor:
    """[150, size]: row i holds the bilinear weights of crop indices for chip index i (zero outside)."""
    w = torch.zeros(150, size, dtype=dtype)
    for i in range(150):
        p = a * (i + 0.5) + t - 0.5
        i0 = math.floor(p)
        frac = p - i0
        if 0 <= i0 < size:
            w[i, i0] = 1 - frac
        if 0 <= i0 + 1 < size:
            w[i, i0 + 1] = frac
    return w


# ---- the model ------------------------------------------------------------------------------------

class TSGAN(nn.Module):
    def __init__(self, cfg: dict, dtype=torch.float32):
        super().__init__()
        self.cfg = cfg
        S = cfg["image_size"]
        self.gd = Deoccluder(cfg)
        self.gf = UNet(6 if cfg["frontalizer_mirror_input"] else 3, 3, cfg)
        disc = ResidualDiscriminator if cfg["discriminator"] == "residual" else PatchDiscriminator
        self.dd, self.df = disc(cfg), disc(cfg)
        self.phi = TinyIdentity() if cfg["identity_input"] == "crop" else FaceRecognizer()
        self.to(dtype)
        if cfg["identity_input"] == "recognizer_chip":
            a, tx, ty = CHIP_MAPS[S]
            self.chip_x, self.chip_y = chip_weights(S, a, tx, dtype), chip_weights(S, a, ty, dtype)
        self.weights = loss_weights(cfg)
        self.uses_identity = self.weights[2] > 0 or self.weights[1] > 0
        self.phi.requires_grad_(False)
        self.phi.eval()
        adam = dict(lr=cfg["learning_rate"], betas=(cfg["beta1"], cfg["beta2"]), eps=1e-8)
        self.optimizers = {n: torch.optim.Adam(getattr(self, n).parameters(), **adam) for n in ("gd", "dd", "gf", "df")}
        self.step = 0
        self.centres: dict[int, torch.Tensor] = {}

    def initialise(self, generator: torch.Generator):
        """tsgan's rule: weights N(0, init_std), batch-norm scales N(1, init_std), biases 0 (not φ)."""
        std = self.cfg["init_std"]
        with torch.no_grad():
            for net in (self.gd, self.dd, self.gf, self.df):
                for name, p in net.named_parameters():
                    if name.endswith("weight") and ".norm" in "." + name:
                        p.normal_(1.0, std, generator=generator)
                    elif name.endswith("weight"):
                        p.normal_(0.0, std, generator=generator)
                    else:
                        p.zero_()

    # -- the networks --
    def pool_mask(self, mask, k):
        mode = self.cfg["mask_pooling"]
        if mode == "max":
            return F.max_pool2d(mask, k)
        if mode == "average":
            return F.avg_pool2d(mask, k)
        return 1 - F.max_pool2d(1 - mask, k)

    def to_image(self, y):
        return (y + 1) * 0.5 if self.cfg["output_activation"] == "tanh" else y

    def deocclusion(self, occluded, mask):
        S = self.cfg["image_size"]
        attended = self.gd.attended

        def attend(i, skip):
            if i not in attended:
                return skip
            return self.gd.attention[str(i)](skip, self.pool_mask(mask, S // unet_side(self.cfg, i)))

        image = self.to_image(self.gd(torch.cat([occluded * 2 - 1, mask], 1), attend))
        if self.cfg["compose_deocclusion"]:
            image = mask * image + (1 - mask) * occluded
        return image

    def frontalization(self, deoccluded):
        x = deoccluded * 2 - 1
        if self.cfg["frontalizer_mirror_input"]:
            x = torch.cat([x, torch.flip(x, [3])], 1)
        return self.to_image(self.gf(x))

    def phi_features(self, x):
        if self.cfg["identity_input"] == "recognizer_chip":
            x = torch.matmul(torch.matmul(self.chip_y, x), self.chip_x.t())  # [N, 3, 150, 150]
        return self.phi.features(x)

    def set_training(self, on: bool):
        for net in (self.gd, self.dd, self.gf, self.df):
            net.train(on)
        self.phi.eval()

    @torch.no_grad()
    def restore(self, occluded, mask):
        """Î_d and Î_f in evaluation mode (TSGAN::restore)."""
        self.set_training(False)
        d = self.deocclusion(occluded, mask)
        f = self.frontalization(d)
        self.set_training(True)
        return d, f

    # -- the losses (losses/*.hpp) --
    def sigmoid_ce(self, logits, target):
        return torch.mean(softplus(logits) - logits * target)

    @staticmethod
    def pixel_l1(x, y):
        return torch.sum(torch.abs(x - y)) / (x.shape[0] * x.shape[1])

    @staticmethod
    def total_variation(x):
        tv = (torch.abs(x[:, :, 1:, :] - x[:, :, :-1, :]).sum(dim=(1, 2, 3))
              + torch.abs(x[:, :, :, 1:] - x[:, :, :, :-1]).sum(dim=(1, 2, 3)))
        return tv.mean()

    @staticmethod
    def symmetry(x):
        p = F.avg_pool2d(x, 2)
        half = x.shape[3] // 4
        left = p.detach()[..., :half]
        mirrored_right = torch.flip(p, [3])[..., :half]
        return torch.sum(torch.abs(left - mirrored_right)) / (x.shape[0] * x.shape[1])

    @staticmethod
    def identity_loss(fake, real):
        (fe, fm), (re_, rm) = fake, real
        return torch.mean(torch.abs(fe - re_)) + torch.sum(torch.abs(fm - rm)) / (fm.shape[0] * fm.shape[1])

    @staticmethod
    def l2_normalize(x):
        return x * torch.rsqrt(torch.sum(x * x, dim=1, keepdim=True) + 1e-12)

    def negatives(self, real, ids):
        """C⁻ per item: the next item (cyclically) of another identity, or with running centres the
        nearest centre of another identity once two identities have one."""
        B = real.shape[0]
        out = torch.empty_like(real)
        for b in range(B):
            if self.cfg["negatives"] == "running_centres" and len(self.centres) >= 2:
                unit = real[b].double() / max(real[b].double().norm().item(), 1e-12)
                others = [(torch.sum((unit - c.double() / max(c.double().norm().item(), 1e-12)) ** 2).item(), cid)
                          for cid, c in sorted(self.centres.items()) if cid != ids[b]]
                if others:
                    out[b] = self.centres[min(others)[1]]
                    continue
            partner = next(((b + k) % B for k in range(1, B) if ids[(b + k) % B] != ids[b]), None)
            if partner is None:
                raise ValueError(f"the dual triplet loss needs two identities in a batch, all are {ids[b]}")
            out[b] = real[partner]
        return out

    def update_centres(self, real, ids):
        m = self.cfg["centre_momentum"]
        for b, i in enumerate(ids):
            unit = real[b] / math.sqrt(max(float(torch.sum(real[b].double() ** 2)), 1e-24))
            self.centres[i] = unit.clone() if i not in self.centres else m * self.centres[i] + (1 - m) * unit

    def dual_triplet(self, fake, real, negative):
        f, r, n = self.l2_normalize(fake), self.l2_normalize(real), self.l2_normalize(negative)
        d_pos = torch.sum((f - r) ** 2, dim=1)
        d_neg = torch.sum((f - n) ** 2, dim=1)
        return torch.mean(softplus(d_pos - d_neg)), torch.mean(d_pos), torch.mean(d_neg)

    # -- the step schedule (TSGAN::train_step) --
    def generated_deocclusion(self, occluded, mask, training_gd):
        if training_gd:
            return self.deocclusion(occluded, mask)
        with torch.no_grad():
            self.gd.train(False)
            d = self.deocclusion(occluded, mask)
            self.gd.train(True)
        return d

    def train_step(self, profile, mask, frontal, ids, after_discriminator_step=None):
        """One discriminator step, then generator_steps generator steps; returns every term by
        the names StepLosses::terms() gives them. after_discriminator_step(model), when given,
        runs between the two (the parity test hands the generator steps tsgan's updated D)."""
        stage = stage_at(self.cfg, self.step)
        stage1, stage2 = stage != "frontalization", stage != "deocclusion"
        out = {"L_Dd": 0.0, "L_Df": 0.0}
        self.set_training(True)
        if runs_discriminators(self.cfg):
            self.discriminator_step(profile, mask, frontal, stage1, stage2, out)
        if after_discriminator_step is not None:
            after_discriminator_step(self)
        for _ in range(self.cfg["generator_steps"]):
            self.generator_step(profile, mask, frontal, ids, stage1, stage2, out)
        self.step += 1
        return out

    def discriminator_step(self, profile, mask, frontal, stage1, stage2, out):
        rl = self.cfg["real_label"]
        with torch.no_grad():
            fake_d = self.generated_deocclusion(profile * (1 - mask), mask, stage1)
        total = None
        if stage1:
            self.dd.zero_grad(set_to_none=True)
            l_dd = self.sigmoid_ce(self.dd(profile), rl) + self.sigmoid_ce(self.dd(fake_d), 0.0)
            out["L_Dd"] = l_dd.item()
            total = l_dd
        if stage2:
            self.df.zero_grad(set_to_none=True)
            with torch.no_grad():
                fake_f = self.frontalization(fake_d)
            l_df = self.sigmoid_ce(self.df(frontal), rl) + self.sigmoid_ce(self.df(fake_f), 0.0)
            out["L_Df"] = l_df.item()
            total = l_df if total is None else total + l_df
        total.backward()
        if stage1:
            self.optimizers["dd"].step()
        if stage2:
            self.optimizers["df"].step()

    def stage_terms(self, fake, real, ids, disc, frontal, total):
        w = self.weights
        terms = {}

        def add(name, value, weight):
            nonlocal total
            terms[name] = value.item()
            total = weight * value if total is None else total + weight * value

        add("pix", self.pixel_l1(fake, real), w[3])
        add("tv", self.total_variation(fake), w[5])
        if frontal:
            add("sym", self.symmetry(fake), w[4])
        if w[0] > 0:
            add("adv", self.sigmoid_ce(disc(fake), self.cfg["real_label"]), w[0])
        if self.uses_identity:
            with torch.no_grad():
                target = self.phi_features(real)
            features = self.phi_features(fake)
            add("ip", self.identity_loss(features, target), w[2])
            loss, d_pos, d_neg = self.dual_triplet(features[0], target[0], self.negatives(target[0], ids))
            add("dtri", loss, w[1])
            terms["d_pos"], terms["d_neg"] = d_pos.item(), d_neg.item()
            if frontal and self.cfg["negatives"] == "running_centres":
                self.pending_centres = target[0].detach().clone()
        return total, terms

    def generator_step(self, profile, mask, frontal, ids, stage1, stage2, out):
        self.gd.zero_grad(set_to_none=True)
        self.gf.zero_grad(set_to_none=True)
        self.dd.requires_grad_(False)
        self.df.requires_grad_(False)
        self.pending_centres = None
        fake_d = self.generated_deocclusion(profile * (1 - mask), mask, stage1)
        total, s1, s2 = None, {}, {}
        if stage1:
            total, s1 = self.stage_terms(fake_d, profile, ids, self.dd, False, total)
        if stage2:
            fake_f = self.frontalization(fake_d)
            total, s2 = self.stage_terms(fake_f, frontal, ids, self.df, True, total)
        for key, name in (("adv", "L_adv"), ("dtri", "L_dtri"), ("ip", "L_ip"), ("pix", "L_pix"), ("tv", "L_tv")):
            out[name + "_d"], out[name + "_f"] = s1.get(key, 0.0), s2.get(key, 0.0)
            out[name] = out[name + "_d"] + out[name + "_f"]
        out["L_sym"] = s2.get("sym", 0.0)
        out["d_pos_d"], out["d_neg_d"] = s1.get("d_pos", 0.0), s1.get("d_neg", 0.0)
        out["d_pos_f"], out["d_neg_f"] = s2.get("d_pos", 0.0), s2.get("d_neg", 0.0)
        out["L_G"] = total.item()
        total.backward()
        if stage1:
            self.optimizers["gd"].step()
        if stage2:
            self.optimizers["gf"].step()
        self.dd.requires_grad_(True)
        self.df.requires_grad_(True)
        if self.pending_centres is not None:
            self.update_centres(self.pending_centres, ids)


# ---- the benchmark --------------------------------------------------------------------------------

def main(argv=None):
    import argparse
    import os
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", choices=sorted(CONFIGS), default="small")
    ap.add_argument("--checkpoint", help="a tsgan TSGAN checkpoint (overrides --config)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=5, help="timed train_steps")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--models", help="small, paper: φ from face-api's weights in this folder (default: random)")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--compile", action="store_true",
                    help="torch.compile the five networks (PyTorch 2; refused where torch has no compile)")
    ap.add_argument("--tf32", type=int, choices=[0, 1], default=0,
                    help="cuda: TF32 in cuBLAS and cuDNN (tsgan's set_tf32 is one switch for both)")
    args = ap.parse_args(argv)
    if args.compile and not hasattr(torch, "compile"):
        raise SystemExit(f"--compile: torch {torch.__version__} has no torch.compile (PyTorch 2 and later)")
    if args.device == "cuda":
        if not torch.cuda.is_available():
            raise SystemExit("--device cuda: torch sees no CUDA device")
        torch.backends.cuda.matmul.allow_tf32 = bool(args.tf32)
        torch.backends.cudnn.allow_tf32 = bool(args.tf32)
    torch.set_num_threads(args.threads)
    import resource
    import statistics
    import time

    sys.modules.setdefault("tsgan", sys.modules[__name__])  # one module, not a second copy of this file
    import tsgan_weights

    if args.checkpoint:
        model = tsgan_weights.load_checkpoint(args.checkpoint)
        name = pathlib.Path(args.checkpoint).name
    else:
        model = TSGAN(CONFIGS[args.config])
        model.initialise(torch.Generator().manual_seed(args.seed))
        if isinstance(model.phi, TinyIdentity):
            tsgan_weights.load_tiny_identity_built_in(model.phi)
        elif args.models:
            tsgan_weights.load_recognizer_tfjs(model.phi, args.models)
        else:  # as tsgan-bench-tsgan: He-normal convolutions, Xavier fc, unit scales, zero biases
            g = torch.Generator().manual_seed(args.seed + 1)
            with torch.no_grad():
                for pname, p in model.phi.named_parameters():
                    if p.dim() == 4:
                        p.normal_(0.0, math.sqrt(2.0 / p[0].numel()), generator=g)
                    elif p.dim() == 2:
                        p.normal_(0.0, math.sqrt(2.0 / sum(p.shape)), generator=g)
                    else:
                        p.fill_(1.0 if pname.endswith("scale.weight") else 0.0)
        name = args.config
    cfg, dtype = model.cfg, model.gd.encoder[0].conv.weight.dtype
    B, S = cfg["batch"], cfg["image_size"]
    g = torch.Generator().manual_seed(args.seed + 2)
    profile = torch.rand(B, 3, S, S, generator=g, dtype=dtype)
    frontal = torch.rand(B, 3, S, S, generator=g, dtype=dtype)
    mask = torch.zeros(B, 1, S, S, dtype=dtype)
    mask[:, :, S // 4: S // 2, S // 4: 3 * S // 4] = 1
    ids = [i // 2 for i in range(B)]
    device = torch.device(args.device)
    if args.device == "cuda":
        model.to(device)  # before the optimizers' first step, so their states are made there
        for chip in ("chip_x", "chip_y"):
            if hasattr(model, chip):
                setattr(model, chip, getattr(model, chip).to(device))
        profile, frontal, mask = profile.to(device), frontal.to(device), mask.to(device)
    if args.compile:
        for net in ("gd", "dd", "gf", "df", "phi"):
            setattr(model, net, torch.compile(getattr(model, net)))
    sync = torch.cuda.synchronize if args.device == "cuda" else (lambda: None)
    times, cpu_times, terms = [], [], {}
    faults_before = 0
    for i in range(args.warmup + args.steps):
        if i == args.warmup:
            faults_before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        sync()
        t0, c0 = time.perf_counter(), time.process_time()
        terms = model.train_step(profile, mask, frontal, ids)
        sync()
        if i >= args.warmup:
            times.append((time.perf_counter() - t0) * 1000)
            cpu_times.append((time.process_time() - c0) * 1000)
    print(json.dumps({
        "framework": "torch", "config": name, "threads": args.threads, "ms_per_step": statistics.median(times),
        "ms_min": min(times), "ms_max": max(times), "cpu_ms_per_step": statistics.median(cpu_times),
        "faults_per_step": (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults_before) / args.steps,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "steps": args.steps,
        "warmup": args.warmup, "L_G": terms["L_G"], "version": torch.__version__, "device": args.device,
        "mode": "compile" if args.compile else "eager", "tf32": bool(args.tf32),
        "peak_device_mb": torch.cuda.max_memory_allocated() / 2**20 if args.device == "cuda" else None,
        "omp_threads": os.environ.get("OMP_NUM_THREADS"),
    }))


if __name__ == "__main__":
    main()
