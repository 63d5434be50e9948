#!/usr/bin/env python3
"""Fits the FAQ matcher's confidence calibration (CALIBRATION in src/faq/matcher.rs).

Input: CSV rows `p1,margin,sim,right` as written by the hidden `--signals FILE` flag of
`frontdesk eval` (p1: top combined score, margin: p1 - p2, sim: BM25 similarity of the top
entry, right: 1 when the first candidate was the expected entry). Fits
    P(right) = sigmoid(a * logit(p1) + b * margin + c)
by gradient descent on the log-loss of the first file and reports, on the second file, the area
under the ROC curve and how many were right in each tenth of the scale. Plain Python, no
packages. See docs/faq.md ("How a question is matched", step 6) for the runs used.

    python3 docs/fit_calibration.py seed1.csv seed2.csv
"""
import math
import sys


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            p1, margin, _sim, right = (float(x) for x in line.split(","))
            p = min(max(p1, 1e-6), 1 - 1e-6)
            rows.append(([math.log(p / (1 - p)), margin], int(right)))
    return rows


def fit(rows, iterations=2000, rate=0.5, l2=1e-4):
    w, b, n = [0.0, 0.0], 0.0, len(rows)
    for _ in range(iterations):
        gw, gb = [0.0, 0.0], 0.0
        for x, y in rows:
            z = max(min(b + w[0] * x[0] + w[1] * x[1], 30), -30)
            g = 1 / (1 + math.exp(-z)) - y
            gb += g
            gw[0] += g * x[0]
            gw[1] += g * x[1]
        w = [wi - rate * (gi / n + l2 * wi) for wi, gi in zip(w, gw)]
        b -= rate * gb / n
    return w, b


def auc(scores, labels):
    ranked = sorted(zip(scores, labels))
    pos = sum(labels)
    neg = len(labels) - pos
    rank_sum = sum(i + 1 for i, (_, y) in enumerate(ranked) if y)
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg)


def main(train_path, check_path):
    w, b = fit(load(train_path))
    print(f"CALIBRATION = [{w[0]:.5f}, {w[1]:.5f}, {b:.5f}]")
    check = load(check_path)
    scores = [1 / (1 + math.exp(-(b + w[0] * x[0] + w[1] * x[1]))) for x, _ in check]
    labels = [y for _, y in check]
    print(f"AUC on {check_path}: {auc(scores, labels):.4f}")
    bins = [[0, 0] for _ in range(10)]
    for s, y in zip(scores, labels):
        k = min(int(s * 10), 9)
        bins[k][0] += 1
        bins[k][1] += y
    for k, (n, right) in enumerate(bins):
        if n:
            print(f"  {k / 10:.1f}-{(k + 1) / 10:.1f}: {n:5} questions, {100 * right / n:5.1f} % right")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
