#!/usr/bin/env python3
"""Fits the FAQ matcher's confidence calibrations (CALIBRATION and PLAIN_CALIBRATION in
src/faq/matcher.rs).

Input: CSV rows `p1,margin,sim,bm25_agrees,nets_agree,shared,right` as written by the hidden
`--signals FILE` flag of `frontdesk eval` (p1: top combined score, margin: p1 - p2, sim: BM25
similarity of the top entry, bm25_agrees: 1 when BM25 alone has one best entry and it is the
top one, nets_agree: the share of the networks whose first choice is the top entry, shared: how
many of the question's content words are in the top entry's questions, right: 1 when the first
candidate was the expected entry). Fits, by gradient descent on the log-loss of the first file,

    PLAIN:       P(right) = sigmoid(a * logit(p1) + b * margin + e)            on every row
    CALIBRATION: P(right) = sigmoid(a * logit(p1) + b * margin
                                    + c * bm25_agrees + d * nets_agree + e)    on rows with shared >= 2

and reports, on the second file with each row scored as the matcher does (CALIBRATION when
shared >= 2, else PLAIN), the area under the ROC curve and how many were right in each tenth
of the scale. Plain Python, no packages. See docs/faq.md ("How a question is matched", step 6)
for the runs used.

    python3 docs/fit_calibration.py seed1.csv seed2.csv
"""
import math
import sys


def load(path):
    """Rows of ([logit(p1), margin, bm25_agrees, nets_agree], shared, right)."""
    rows = []
    with open(path) as f:
        for line in f:
            p1, margin, _sim, bm25, nets, shared, right = (float(x) for x in line.split(","))
            p = min(max(p1, 1e-6), 1 - 1e-6)
            rows.append(([math.log(p / (1 - p)), margin, bm25, nets], shared, int(right)))
    return rows


def predict(w, b, x):
    z = max(min(b + sum(wi * xi for wi, xi in zip(w, x)), 30), -30)
    return 1 / (1 + math.exp(-z))


def fit(rows, inputs, iterations=2000, rate=0.5, l2=1e-4):
    w, b, n = [0.0] * inputs, 0.0, len(rows)
    for _ in range(iterations):
        gw, gb = [0.0] * inputs, 0.0
        for x, y in rows:
            g = predict(w, b, x[:inputs]) - y
            gb += g
            for i in range(inputs):
                gw[i] += g * x[i]
        w = [wi - rate * (gi / n + l2 * wi) for wi, gi in zip(w, gw)]
        b -= rate * gb / n
    return w, b


def auc(scores, labels):
    ranked = sorted(zip(scores, labels))
    pos = sum(labels)
    neg = len(labels) - pos
    rank_sum = sum(i + 1 for i, (_, y) in enumerate(ranked) if y)
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg)


def show(name, w, b):
    coefficients = w[:2] + (w[2:] or [0.0, 0.0]) + [b]
    print(f"{name} = [" + ", ".join(f"{c:.5f}" for c in coefficients) + "]")


def main(train_path, check_path):
    train = load(train_path)
    plain = fit([(x, y) for x, _, y in train], 2)
    agree = fit([(x, y) for x, shared, y in train if shared >= 2], 4)
    show("PLAIN_CALIBRATION", *plain)
    show("CALIBRATION", *agree)
    check = load(check_path)
    scores = [
        predict(*agree, x) if shared >= 2 else predict(plain[0], plain[1], x[:2])
        for x, shared, _ in check
    ]
    labels = [y for _, _, y in check]
    plain_scores = [predict(plain[0], plain[1], x[:2]) for x, _, _ in check]
    print(f"AUC on {check_path}: {auc(scores, labels):.4f} (the two scores alone: {auc(plain_scores, labels):.4f})")
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
