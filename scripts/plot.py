#!/usr/bin/python3
"""Plots of a training run and of an evaluation (needs matplotlib: Debian's python3-matplotlib).

  scripts/plot.py log RUN/log.jsonl [--out DIR]      loss curves:
      loss-stage1.png         stage-1 (de-occlusion) terms, the names ending in _d
      loss-stage2.png         stage-2 (frontalization) terms, the names ending in _f
      loss-discriminators.png L_Dd and L_Df (names starting with L_D)
      loss-generator.png      every other term (L_G and the sums of both stages)
  scripts/plot.py eval evaluation.json [--out DIR]   from tsgan-evaluate's JSON:
      roc.png                 LFW: the ROC curve of every row (occlusion x input), with its AUC
      rank1-per-yaw.png       Multi-PIE: rank-1 per |yaw| of every row

The log is train::Trainer's OUT/log.jsonl: one object per logged step with "step", the named loss
terms and "ms_per_step"; a line with "diverged" marks where a run stopped and is drawn as a
vertical line. Terms whose values are all positive are drawn on a log scale. PNGs go to --out
(default: the input's folder); the script prints their paths.
"""
import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402


def read_log(path):
    steps, terms, diverged = [], {}, []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"{path}:{number}: not JSON: {e}")
            if "diverged" in entry:
                diverged.append(entry["step"])
                continue
            steps.append(entry["step"])
            for name, value in entry.items():
                if name not in ("step", "ms_per_step"):
                    terms.setdefault(name, []).append((entry["step"], value))
    if not steps:
        sys.exit(f"{path}: no logged steps")
    return terms, diverged


def loss_figure(title, names, terms, diverged, path):
    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=100)
    positive = True
    for name in names:
        xs, ys = zip(*terms[name])
        ax.plot(xs, ys, label=name, linewidth=1.2)
        positive = positive and all(y > 0 for y in ys)
    for step in diverged:
        ax.axvline(step, color="red", linestyle="--", linewidth=1, label=f"diverged at {step}")
    if positive:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    print(path)


def plot_log(path, out):
    terms, diverged = read_log(path)
    discriminators = [n for n in terms if n.startswith("L_D")]
    stage1 = [n for n in terms if n.endswith("_d") and n not in discriminators]
    stage2 = [n for n in terms if n.endswith("_f") and n not in discriminators]
    generator = [n for n in terms if n not in discriminators + stage1 + stage2]
    for title, names, file in (("Stage 1 (de-occlusion)", stage1, "loss-stage1.png"),
                               ("Stage 2 (frontalization)", stage2, "loss-stage2.png"),
                               ("Discriminators", discriminators, "loss-discriminators.png"),
                               ("Generator", generator, "loss-generator.png")):
        if names:
            loss_figure(title, names, terms, diverged, os.path.join(out, file))


def row_label(row):
    return f"{row['occlusion']} / {row['input']}"


def plot_eval(path, out):
    with open(path) as f:
        result = json.load(f)
    protocol = result.get("protocol")
    if protocol == "lfw":
        fig, ax = plt.subplots(figsize=(5.6, 5.0), dpi=100)
        for row in result["rows"]:
            if "roc" not in row:
                sys.exit(f"{path}: row {row_label(row)} has no ROC points (written by an older tsgan-evaluate)")
            fpr = [0.0] + [p[0] for p in row["roc"]]
            tpr = [0.0] + [p[1] for p in row["roc"]]
            ax.plot(fpr, tpr, linewidth=1.2, label=f"{row_label(row)} (AUC {row['auc']:.3f})")
        ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
        ax.set_xlabel("false positive rate")
        ax.set_ylabel("true positive rate")
        ax.set_title(f"LFW verification, {result['pairs']} pairs")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
        fig.tight_layout()
        file = os.path.join(out, "roc.png")
    elif protocol == "multipie":
        fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
        for row in result["rows"]:
            yaws = sorted(row["yaw"], key=int)
            ax.plot([int(y) for y in yaws], [100 * row["yaw"][y]["rank1"] for y in yaws], marker="o", markersize=3,
                    linewidth=1.2, label=row_label(row))
        ax.set_xlabel("|yaw| (degrees)")
        ax.set_ylabel("rank-1 (%)")
        ax.set_ylim(0, 100)
        ax.set_title(f"Multi-PIE Setting 2, {result['probes']} probes, gallery of {result['gallery']}")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        file = os.path.join(out, "rank1-per-yaw.png")
    else:
        sys.exit(f"{path}: protocol {protocol!r} is neither lfw nor multipie")
    fig.savefig(file)
    plt.close(fig)
    print(file)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("kind", choices=["log", "eval"])
    parser.add_argument("path")
    parser.add_argument("--out", help="folder for the PNGs (default: the input's folder)")
    args = parser.parse_args()
    out = args.out or os.path.dirname(os.path.abspath(args.path))
    os.makedirs(out, exist_ok=True)
    (plot_log if args.kind == "log" else plot_eval)(args.path, out)


if __name__ == "__main__":
    main()
