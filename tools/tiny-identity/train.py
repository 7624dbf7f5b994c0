#!/usr/bin/env python3
"""Trains TinyIdentity, the small identity network φ of tsgan's config::Tiny, as a face classifier
and writes its weights as include/tsgan/models/tiny_identity_weights.hpp.

  /usr/bin/python3 tools/tiny-identity/train.py --faces ../shared/data/faces [--epochs 40] [--seed 0]

Data (LFW, public): every person of lfw-deepfunneled-extra (not in View 2) and every person of
View 2 folds 1-5 (pairs.txt), one class per person. Folds 6-10 are held out: they are identity-
disjoint from folds 1-5 (checked here), and the script reports the held-out separation on their
3,000 pairs, and on data/cmu-faces-demo (never seen in training).

Input: 32x32 RGB in [0, 1]. Training crops jitter LFW's fixed centre crop (a centred square of
126/250 of the side, as tsgan-embed --crop center) in scale, position, rotation, mirror, grey and
brightness, so that the network also accepts other framings (the CMU demo's whole heads).
Network (must match models::TinyIdentity): conv3x3/2 3->16, ReLU; conv3x3/2 16->32, ReLU (phi_p,
8x8 at 32 px); conv3x3/2 32->64, ReLU (each convolution trained with batch norm, folded
into it on export); global mean; linear 64->64 (phi_fc). Training head: a
cosine classifier with an additive margin (CosFace, s = 24, m = 0.2), which is not shipped.
Requires PyTorch and Pillow (python3-pil).
"""
import argparse
import csv
import math
import os
import random
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

CROP = 126 / 250  # LFW's fixed face crop, as a fraction of the image side
CONTEXT = 1.5     # training crops are cut from a square this much larger, for jitter
STORE = 64        # stored side of that square


class TinyIdentity(nn.Module):
    """Trained with batch norm after each convolution; export folds it into the convolution."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 2, 1)
        self.conv2 = nn.Conv2d(16, 32, 3, 2, 1)
        self.conv3 = nn.Conv2d(32, 64, 3, 2, 1)
        self.bn1, self.bn2, self.bn3 = nn.BatchNorm2d(16), nn.BatchNorm2d(32), nn.BatchNorm2d(64)
        self.fc = nn.Linear(64, 64)

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = F.relu(self.bn2(self.conv2(h)))
        h = F.relu(self.bn3(self.conv3(h)))
        return self.fc(h.mean(dim=(2, 3)))

    def folded(self):
        """conv1.weight, conv1.bias, ..., fc.weight, fc.bias with eval-mode batch norm folded in."""
        out = {}
        for k in (1, 2, 3):
            conv, bn = getattr(self, f'conv{k}'), getattr(self, f'bn{k}')
            g = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            out[f'conv{k}.weight'] = conv.weight * g.view(-1, 1, 1, 1)
            out[f'conv{k}.bias'] = (conv.bias - bn.running_mean) * g + bn.bias
        out['fc.weight'], out['fc.bias'] = self.fc.weight, self.fc.bias
        return out


def load_square(path, side_fraction, out):
    im = Image.open(path).convert('RGB')
    w, h = im.size
    s = min(w, h) * side_fraction
    box = ((w - s) / 2, (h - s) / 2, (w + s) / 2, (h + s) / 2)
    return np.asarray(im.resize((out, out), Image.BILINEAR, box=box), dtype=np.uint8)


def lfw_folds(faces):
    lines = open(os.path.join(faces, 'lfw-deepfunneled-view2', 'pairs.txt')).read().split('\n')
    nf, n = map(int, lines[0].split())
    folds, i = [], 1
    for _ in range(nf):
        pairs = []
        for _ in range(2 * n):
            p = lines[i].split()
            i += 1
            pairs.append((p[0], int(p[1]), p[0], int(p[2])) if len(p) == 3 else (p[0], int(p[1]), p[2], int(p[3])))
        folds.append(pairs)
    return folds


def lfw_path(faces, name, k):
    return os.path.join(faces, 'lfw-deepfunneled-view2', 'images', name, f'{name}_{k:04d}.jpg')


def augment(batch, rng):
    """Random similarity crops (32x32) of [B, 3, STORE, STORE] images in [0, 1]."""
    b = batch.shape[0]
    base = 1 / CONTEXT  # the face crop's half-width in the stored square's [-1, 1] units
    scale = base * torch.exp(torch.empty(b).uniform_(math.log(0.8), math.log(1.25), generator=rng))
    angle = torch.empty(b).uniform_(-0.17, 0.17, generator=rng)
    flip = torch.where(torch.rand(b, generator=rng) < 0.5, -1.0, 1.0)
    tx = torch.empty(b).uniform_(-0.08, 0.08, generator=rng)
    ty = torch.empty(b).uniform_(-0.08, 0.08, generator=rng)
    c, s = torch.cos(angle) * scale, torch.sin(angle) * scale
    theta = torch.stack([torch.stack([c * flip, -s, tx], 1), torch.stack([s * flip, c, ty], 1)], 1)
    grid = F.affine_grid(theta, (b, 3, 32, 32), align_corners=False)
    x = F.grid_sample(batch, grid, mode='bilinear', padding_mode='border', align_corners=False)
    grey = (torch.rand(b, generator=rng) < 0.3).float().view(b, 1, 1, 1)
    x = grey * x.mean(1, keepdim=True).expand_as(x) + (1 - grey) * x
    gain = torch.empty(b, 1, 1, 1).uniform_(0.7, 1.3, generator=rng)
    shift = torch.empty(b, 1, 1, 1).uniform_(-0.1, 0.1, generator=rng)
    return (x * gain + shift).clamp(0, 1)


def distances(e1, e2):
    e1, e2 = F.normalize(e1, dim=1), F.normalize(e2, dim=1)
    return ((e1 - e2) ** 2).sum(1)


def auc(same, diff):
    scores = np.concatenate([-same, -diff])
    labels = np.concatenate([np.ones(len(same)), np.zeros(len(diff))])
    order = np.argsort(scores)
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    n1, n0 = len(same), len(diff)
    return (ranks[labels == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)


def to_tensor(images):
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255


def evaluate(net, faces, repo, folds):
    net.eval()
    out = {}
    with torch.no_grad():
        same, diff = [], []
        for fold in folds[5:]:
            a = to_tensor([load_square(lfw_path(faces, n1, k1), CROP, 32) for n1, k1, _, _ in fold])
            b = to_tensor([load_square(lfw_path(faces, n2, k2), CROP, 32) for _, _, n2, k2 in fold])
            d = distances(net(a), net(b)).numpy()
            same.append(d[:len(d) // 2])
            diff.append(d[len(d) // 2:])
        same, diff = np.concatenate(same), np.concatenate(diff)
        out['lfw_folds_6_10'] = (same.mean(), diff.mean(), auc(same, diff))
        rows = list(csv.DictReader(open(os.path.join(repo, 'data', 'cmu-faces-demo', 'index.csv'))))
        x = to_tensor([load_square(os.path.join(repo, 'data', 'cmu-faces-demo', r['path']), 1.0, 32) for r in rows])
        e = F.normalize(net(x), dim=1)
        d = torch.cdist(e, e).pow(2).numpy()
        ids = np.array([r['identity'] for r in rows])
        same_mask = ids[:, None] == ids[None, :]
        upper = np.triu(np.ones_like(d, dtype=bool), 1)
        s, t = d[same_mask & upper], d[~same_mask & upper]
        out['cmu_faces_demo'] = (s.mean(), t.mean(), auc(s, t))
    net.train()
    return out


def write_header(net, path, args, report):
    lines = [
        '// The weights of models::TinyIdentity (config::Tiny\'s identity network φ), written by',
        f'// tools/tiny-identity/train.py --epochs {args.epochs} --seed {args.seed}; do not edit.',
        '// Trained as a face classifier on LFW (lfw-deepfunneled-extra and View 2 folds 1-5); held out:',
    ]
    for k, (s, t, a) in report.items():
        lines.append(f'//   {k}: mean distance same {s:.3f}, different {t:.3f}, AUC {a:.4f}')
    lines += ['#pragma once', '', 'namespace tsgan::models::tiny_identity_weights {', '']
    for name, p in net.folded().items():
        v = p.detach().numpy().astype(np.float32).ravel()
        cname = name.replace('.', '_')
        lines.append(f'inline constexpr float {cname}[{v.size}] = {{')
        for i in range(0, v.size, 8):
            lines.append('    ' + ', '.join(f'{float(x):.8g}f' for x in v[i:i + 8]) + ',')
        lines.append('};')
    lines += ['', '}  // namespace tsgan::models::tiny_identity_weights', '']
    open(path, 'w').write('\n'.join(lines))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--faces', required=True, help='folder with lfw-deepfunneled-extra and lfw-deepfunneled-view2')
    ap.add_argument('--epochs', type=int, default=40)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--out', default=None, help='header to write (default: the repository\'s)')
    args = ap.parse_args()
    repo = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
    out = args.out or os.path.join(repo, 'include', 'tsgan', 'models', 'tiny_identity_weights.hpp')
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    torch.set_num_threads(1)

    folds = lfw_folds(args.faces)
    train_people = {n for fold in folds[:5] for p in fold for n in (p[0], p[2])}
    held_out = {n for fold in folds[5:] for p in fold for n in (p[0], p[2])}
    assert not (train_people & held_out), 'View 2 folds 1-5 and 6-10 share people'
    paths, labels, classes = [], [], {}
    for sub, keep in (('lfw-deepfunneled-extra', None), ('lfw-deepfunneled-view2', train_people)):
        for r in csv.DictReader(open(os.path.join(args.faces, sub, 'index.csv'))):
            if keep is not None and r['identity'] not in keep:
                continue
            paths.append(os.path.join(args.faces, sub, r['path']))
            labels.append(classes.setdefault(r['identity'], len(classes)))
    assert not (set(classes) & held_out)
    t0 = time.time()
    images = to_tensor([load_square(p, CROP * CONTEXT, STORE) for p in paths])
    labels = torch.tensor(labels)
    print(f'{len(paths)} training images of {len(classes)} people, decoded in {time.time() - t0:.0f} s', flush=True)

    net = TinyIdentity()
    head = nn.Parameter(torch.randn(len(classes), 64) * 0.01)
    opt = torch.optim.Adam(list(net.parameters()) + [head], lr=2e-3, weight_decay=5e-5)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.epochs)
    rng = torch.Generator().manual_seed(args.seed)
    for epoch in range(args.epochs):
        order = torch.randperm(len(paths), generator=rng)
        total, correct = 0.0, 0
        for i in range(0, len(order), 128):
            idx = order[i:i + 128]
            x = augment(images[idx], rng)
            cos = F.normalize(net(x), dim=1) @ F.normalize(head, dim=1).t()
            y = labels[idx]
            logits = 24 * (cos - 0.2 * F.one_hot(y, len(classes)))
            loss = F.cross_entropy(logits, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            correct += (cos.argmax(1) == y).sum().item()
        sched.step()
        print(f'epoch {epoch + 1}: loss {total / len(paths):.3f}, train accuracy {correct / len(paths):.3f}, '
              f'{time.time() - t0:.0f} s', flush=True)
        if (epoch + 1) % 10 == 0 or epoch + 1 == args.epochs:
            report = evaluate(net, args.faces, repo, folds)
            for k, (s, t, a) in report.items():
                print(f'  {k}: same {s:.3f}, different {t:.3f}, AUC {a:.4f}', flush=True)
    write_header(net, out, args, report)
    print('wrote', out)


if __name__ == '__main__':
    main()
