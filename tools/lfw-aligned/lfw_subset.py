#!/usr/bin/python3
"""LFW View 2 on a subset of every fold, from descriptor files (tsgan-embed's output).

  lfw_subset.py select LFW_DIR N OUT_DIR     # OUT_DIR/pairs.tsv, OUT_DIR/images.txt: the first N
                                             # matched and N mismatched pairs of each of the 10 folds
  lfw_subset.py acc OUT_DIR DESCRIPTORS [LANDMARKS_JSONL]
                                             # 10-fold ACC; with tsgan-align's landmarks.jsonl the
                                             # descriptors are those of the aligned files

ACC follows tsgan's evaluation::verify_folds: per fold, the Euclidean-distance threshold best on
the other folds (candidates -inf, midpoints of consecutive distinct distances, +inf; ties to the
most permissive), its accuracy on the fold; mean and sample std over folds.
"""
import json, math, sys
import numpy as np


def select(root, n, out):
    lines = open(f"{root}/pairs.txt").read().split("\n")
    folds, per = map(int, lines[0].split())
    img = lambda name, i: f"{root}/images/{name}/{name}_{i:04d}.jpg"
    pairs, k = [], 1
    for f in range(folds):
        for same in (True, False):
            for i in range(per):
                t = lines[k].split()
                k += 1
                if i >= n:
                    continue
                a, b = (img(t[0], int(t[1])), img(t[0], int(t[2]))) if same else (img(t[0], int(t[1])), img(t[2], int(t[3])))
                pairs.append((f + 1, same, a, b))
    with open(f"{out}/pairs.tsv", "w") as o:
        for f, s, a, b in pairs:
            o.write(f"{f}\t{int(s)}\t{a}\t{b}\n")
    images = sorted({p[2] for p in pairs} | {p[3] for p in pairs})
    open(f"{out}/images.txt", "w").write("\n".join(images) + "\n")
    print(len(pairs), "pairs", len(images), "images")


def acc(out, descriptors, landmarks=None):
    d = {}
    for line in open(descriptors):
        t = line.split()
        if len(t) == 129:
            d[t[0]] = np.array([float(v) for v in t[1:]])
    aligned = {}
    if landmarks:
        for line in open(landmarks):
            e = json.loads(line)
            aligned[e["file"]] = e["aligned"]
    fold, same, dist = [], [], []
    for f, s, a, b in (l.rstrip("\n").split("\t") for l in open(f"{out}/pairs.tsv")):
        a, b = aligned.get(a, a), aligned.get(b, b)
        fold.append(int(f))
        same.append(s == "1")
        dist.append(float(np.linalg.norm(d[a] - d[b])))
    fold, same, dist = np.array(fold), np.array(same), np.array(dist)

    def best(ds, ss):
        u = np.unique(ds)
        cands = np.concatenate([[-math.inf], (u[:-1] + u[1:]) / 2, [math.inf]])
        accs = np.array([np.mean((ds < t) == ss) for t in cands])
        return cands[np.flatnonzero(accs == accs.max())[-1]]

    accs = np.array([np.mean((dist[fold == k] < best(dist[fold != k], same[fold != k])) == same[fold == k])
                     for k in sorted(set(fold))])
    print(f"{len(dist)} pairs, {len(accs)} folds: ACC {100 * accs.mean():.2f} ± {100 * accs.std(ddof=1):.2f} %")


if __name__ == "__main__":
    if sys.argv[1] == "select":
        select(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        acc(*sys.argv[2:])
