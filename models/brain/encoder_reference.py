#!/usr/bin/env python3
"""Writes integration/fixtures/encoder_reference.json: token ids from Hugging Face
`tokenizers` and embeddings from onnxruntime (mean-pooled, L2-normalized) for sentences
people write, Whisper's output and awkward Unicode, so integration/brain_encoder.rs can
check LUNA's own tokenizer and its tract run of the model against the reference tools.

    python3 models/brain/encoder_reference.py --model DIR/model.onnx --tokenizer DIR/tokenizer.json
"""
import argparse
import json
import os

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
AWKWARD = [
    "Café’s crème brûlée — naïve Zoë?", "¿Qué hora es? ¡Dímelo!", "“Play” «jazz» ‘now’…",
    "set a timer for 5:30pm, please!!!", "Hey Luna, what's the weather in São Paulo?",
    "remind me\tto call\nmom\r\n", "zero\u200bwidth\u00adsoft hyphen\ufeffbom", "naïve résumé façade",
    "我想听音乐 please", "ｆｕｌｌｗｉｄｔｈ！ text", "emoji 🎵 music 🎶 now", "x" * 150,
    "antidisestablishmentarianism supercalifragilisticexpialidocious", "", "   ",
    "Ελληνικά και русский текст", "tab\tand  double  spaces", "it's 6:30 a.m. on feb. 4th",
    "e-mail my co-worker re: the Q3 report (urgent) [asap] {now} <3 @home #tag $5 %50 ^ & * ~ `",
    " ".join(["word"] * 200),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--tokenizer", required=True)
    args = ap.parse_args()
    tok = Tokenizer.from_file(args.tokenizer)
    tok.no_padding()
    tok.enable_truncation(128)
    sess = ort.InferenceSession(args.model)
    people = []
    for name in ["crowd", "household", "entities", "transcripts", "unknown"]:
        with open(os.path.join(ROOT, "src", "brain", "corpus", "others", f"{name}.jsonl")) as fh:
            lines = [json.loads(l)["text"] for l in fh if l.strip()]
        people.extend(lines[::16])
    texts = people + AWKWARD
    tokens = [{"text": t, "ids": tok.encode(t).ids} for t in texts]
    embeddings = []
    for t in people[::6] + AWKWARD[:6]:
        ids = np.array([tok.encode(t).ids], np.int64)
        h = sess.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids),
                            "token_type_ids": np.zeros_like(ids)})[0][0].mean(0)
        embeddings.append({"text": t, "vector": [round(float(x), 6) for x in h / np.linalg.norm(h)]})
    out = os.path.join(ROOT, "integration", "fixtures", "encoder_reference.json")
    with open(out, "w") as fh:
        json.dump({"tokens": tokens, "embeddings": embeddings}, fh, ensure_ascii=False)
        fh.write("\n")
    print(f"wrote {out}: {len(tokens)} tokenized, {len(embeddings)} embedded")


if __name__ == "__main__":
    main()
