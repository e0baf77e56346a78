#!/usr/bin/env python3
"""Writes the reference embeddings that integration/wake.rs checks LUNA's front end
against: openWakeWord's own AudioFeatures (openwakeword==0.4.0 with onnxruntime), fed
the fixture WAV in 1280-sample chunks, as its streaming predictor feeds it.

Usage: pip install --no-deps openwakeword==0.4.0 && pip install onnxruntime numpy
       python3 models/wake/reference_features.py integration/fixtures/wake_reference.wav
Writes integration/fixtures/wake_reference.json.
"""
import json
import sys
import wave

import numpy as np
from openwakeword.utils import AudioFeatures


def main():
    path = sys.argv[1]
    with wave.open(path) as w:
        assert w.getframerate() == 16000 and w.getnchannels() == 1 and w.getsampwidth() == 2
        x = np.frombuffer(w.readframes(w.getnframes()), np.int16)
    features = AudioFeatures(ncpu=1)
    start = features.feature_buffer.shape[0]
    rows = []
    for i in range(0, len(x) - 1279, 1280):
        features(x[i:i + 1280])
        rows.append(features.feature_buffer[-1].tolist())
    assert features.feature_buffer.shape[0] <= features.feature_buffer_max_len or start
    out = path.rsplit(".", 1)[0] + ".json"
    json.dump({"source": "openwakeword==0.4.0 AudioFeatures, 1280-sample chunks",
               "hops": len(rows), "embeddings": [[round(v, 6) for v in r] for r in rows]}, open(out, "w"))
    print(f"wrote {out}: {len(rows)} embeddings")


if __name__ == "__main__":
    main()
