#!/usr/bin/env python3
"""The wake word end to end: spoken streams through `luna replay` (VAD, wake word, STT,
brain), counting what a user would: of the commands said after "hey luna", how many were
acted on (and acted on correctly), and how many times LUNA acted on speech that was not
addressed to it.

Each voice reads one stream of 20 segments in a seeded random order, 2.5 s of quiet
between them, once clean and once in pink noise at 15 dB SNR:
- 10 positives: "hey luna" and a command, in one breath (a comma), after a short pause
  (0.15 s) or after a long one (0.7 s). The commands are the odd (held-out) lines of
  src/brain/corpus/others/*.jsonl, written by helpers who saw only the intent list.
- 10 negatives: near misses ("hey lunar", "luna park", ...), commands said without the
  wake phrase, and ordinary speech (odd lines of others/unknown.jsonl). Any command
  reported on them is a false accept.

Voices (none used to train the wake head, choose its threshold or tune STT):
- `--voices dev` (the default; for choosing settings): MBROLA's de1, fr1, ro1, af1, gr2
  and sw1 reading English through espeak-ng, RHVoice's lyubov and evgeniy-eng
  (Debian non-free: mbrola-de1 ... rhvoice-english);
- `--voices test` (report only, never tune on it): flite's kal16, slt, awb and rms and
  festival's kal_diphone.

    python3 models/wake/evaluate_spoken.py --luna target/release/luna \\
        [--config A.toml --config B.toml ...] [--voices dev|test] [--json]

Each `--config` is layered over the default configuration as `luna --config` does and
measured on the same streams (none: the defaults). `--enroll 3` first enrolls each
voice's own "hey luna" from 3 takes (its rendering under sox tempo and pitch changes;
`--take-spread 3` makes them three times as unlike each other, as takes said at
different speeds are) and listens for them beside the built-in head. Commands run with --dry-run: nothing
is executed. Streams are synthesized once into --work and reused.
"""
import argparse
import json
import os
import pathlib
import random
import subprocess
import sys
import tempfile
import time
import wave

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "models" / "wake"))
from train import SR, colored_noise, read_wav, speech_power, trim  # noqa: E402

DEV_VOICES = ["espeak:mb-de1-en", "espeak:mb-fr1-en", "espeak:mb-ro1-en", "espeak:mb-af1-en",
              "espeak:mb-gr2-en", "espeak:mb-sw1-en", "rhvoice:lyubov", "rhvoice:evgeniy-eng"]
TEST_VOICES = ["flite:kal16", "flite:slt", "flite:awb", "flite:rms", "festival:kal_diphone"]
NEAR_MISSES = [
    "hey lunar", "hey look at that", "luna park is closed today", "hey you know what",
    "hey laura, lunch is ready", "hey lou, come here", "the lunar module landed",
    "hey lana, how are you", "hey luke", "a luna moth", "hey, loony tunes is on", "hey lena",
    "hey nina", "hey june", "honeymoon in june", "I had lunch with luna yesterday",
    "hey, look who's here", "hello there", "hey, lou, nah", "the moon is bright tonight",
]
PAUSES = [None, 0.15, 0.7]  # None: one breath, "hey luna, <command>"


def synth(voice, text):
    kind, name = voice.split(":")
    with tempfile.NamedTemporaryFile(suffix=".wav") as f:
        if kind == "espeak":
            subprocess.run(["espeak-ng", "-v", name, "-w", f.name, text], check=True,
                           capture_output=True)
        elif kind == "rhvoice":
            subprocess.run(["RHVoice-test", "-p", name, "-o", f.name], input=text.encode(),
                           check=True, capture_output=True)
        elif kind == "flite":
            subprocess.run(["flite", "-voice", name, "-t", text, "-o", f.name], check=True,
                           capture_output=True)
        else:
            subprocess.run(["text2wave", "-o", f.name, "-eval", f"(voice_{name})"],
                           input=text.encode(), check=True, capture_output=True)
        return trim(read_wav(open(f.name, "rb").read()))


def held_out(seed):
    commands, ordinary = [], []
    for path in sorted((ROOT / "src/brain/corpus/others").glob("*.jsonl")):
        for i, line in enumerate(path.read_text().splitlines()):
            if i % 2 == 1 and line.strip():
                row = json.loads(line)
                if path.name == "unknown.jsonl":
                    ordinary.append(row["text"])
                elif len(row["text"].split()) <= 14:
                    commands.append(row)
    rng = random.Random(seed)
    rng.shuffle(commands)
    rng.shuffle(ordinary)
    return commands, ordinary


def write(path, x):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(np.clip(x * 32767, -32768, 32767).astype("<i2").tobytes())


def build_streams(voices, work, seed):
    """[(voice, condition, wav path, segments)], segments [(start_s, end_s, kind, label)]."""
    commands, ordinary = held_out(seed)
    streams = []
    for v, voice in enumerate(voices):
        rng = random.Random(seed * 1000 + v)
        segments = []
        for k in range(10):
            row = commands[(v * 13 + k) % len(commands)]
            pause = PAUSES[k % 3]
            if pause is None:
                audio = synth(voice, "hey luna, " + row["text"])
            else:
                audio = np.concatenate([synth(voice, "hey luna"), np.zeros(int(pause * SR)),
                                        synth(voice, row["text"])])
            segments.append((audio, "wake", row))
        for k in range(10):
            if k < 4:
                text, kind = NEAR_MISSES[(v * 4 + k) % len(NEAR_MISSES)], "near miss"
            elif k < 7:
                text, kind = commands[(v * 13 + 10 + k) % len(commands)]["text"], "no wake"
            else:
                text, kind = ordinary[(v * 3 + k) % len(ordinary)], "ordinary"
            segments.append((synth(voice, text), kind, {"text": text}))
        rng.shuffle(segments)
        gap = np.zeros(int(2.5 * SR), dtype=np.float32)
        pieces, spans, t = [gap[: SR]], [], 1.0
        for audio, kind, label in segments:
            audio = audio / (np.abs(audio).max() + 1e-9) * 0.5
            spans.append((t, t + len(audio) / SR, kind, label))
            pieces += [audio, gap]
            t += (len(audio) + len(gap)) / SR
        clean = np.concatenate(pieces).astype(np.float32)
        power = np.mean([speech_power(a / (np.abs(a).max() + 1e-9) * 0.5) for a, _, _ in segments])
        noise = colored_noise(len(clean), random.Random(seed + v), "pink")
        noisy = clean + noise * np.sqrt(power / 10 ** (15 / 10))
        name = voice.replace(":", "_")
        for condition, x in (("clean", clean), ("noise", noisy)):
            path = work / f"{name}_{condition}.wav"
            write(path, x)
            streams.append((voice, condition, path, spans))
    return streams


def enroll_voices(luna, voices, work, takes, spread=1.0):
    """Per voice, `takes` takes of "hey luna" said alone (its rendering, then sox tempo
    and pitch changes, as a person never says it twice alike), enrolled as their own
    "hey luna" into a models directory of the voice's own (the front end linked in),
    listened for beside the built-in head. Returns {voice: models_dir}."""
    installed = pathlib.Path(os.path.expanduser("~/.local/share/luna/models/wake"))
    changes = [(1.0, 0), (0.94, 35), (1.06, -35), (0.98, 15), (1.03, -20), (0.96, -10)]
    dirs = {}
    for voice in voices:
        d = work / "enroll" / voice.replace(":", "_")
        d.mkdir(parents=True, exist_ok=True)
        for f in ("melspectrogram.onnx", "embedding_model.onnx"):
            if not (d / f).exists():
                (d / f).symlink_to(installed / f)
        base = synth(voice, "hey luna")
        files = []
        for i, (tempo, cents) in enumerate(changes[:takes]):
            tempo, cents = 1 + (tempo - 1) * spread, cents * spread
            raw, take = d / f"raw{i}.wav", d / f"take{i}.wav"
            pad = np.zeros(int(0.4 * SR), dtype=np.float32)
            write(raw, np.concatenate([pad, base / (np.abs(base).max() + 1e-9) * 0.5, pad]))
            subprocess.run(["sox", str(raw), str(take), "tempo", "-s", str(tempo), "pitch", str(cents)],
                           check=True, capture_output=True)
            files.append(str(take))
        cfg = d / "enroll.toml"
        cfg.write_text(f'[wake]\nmodels_dir = "{d}"\n')
        subprocess.run([luna, "--config", str(cfg), "wake", "enroll", "--name", "hey luna"] + files,
                       check=True, capture_output=True)
        dirs[voice] = d
    return dirs


def layered(config, voice, enrolled):
    """`config` with the voice's enrolled phrase switched on (a new file), or `config`."""
    if enrolled is None:
        return config
    import tomllib
    table = tomllib.loads(pathlib.Path(config).read_text()) if config else {}
    wake = table.setdefault("wake", {})
    wake["models_dir"] = str(enrolled[voice])
    lines = []
    for section, keys in table.items():
        lines.append(f"[{section}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in keys.items()]
    path = enrolled[voice] / f"{pathlib.Path(config or 'defaults').stem}.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def detection_latency(luna, config, streams, voices, seed, enrolled=None):
    """Of the phrases said before a pause (their end known), how many the detector hears
    over its threshold (`luna wake detect`, no transcript check) and how soon after the
    phrase ends, in stream time (the hop that fired; for your own "hey luna", the hop
    its templates peaked, so a wait for the head's vote is not in it)."""
    commands, _ = held_out(seed)
    phrase_s = {v: len(synth(v, "hey luna")) / SR for v in voices}
    heard, total, latencies = 0, 0, []
    for voice, condition, path, spans in streams:
        v = voices.index(voice)
        pause_of = {commands[(v * 13 + k) % len(commands)]["text"]: PAUSES[k % 3] for k in range(10)}
        ends = [s + phrase_s[voice] for s, _, kind, label in spans
                if kind == "wake" and pause_of.get(label["text"]) is not None]
        args = [luna] + (["--config", layered(config, voice, enrolled)] if config or enrolled else [])
        out = subprocess.run(args + ["wake", "detect", "--json", str(path)], check=True,
                             capture_output=True, text=True)
        fired = [d["end_s"] for d in json.loads(out.stdout)["detections"] if d["check"] == "acoustic"]
        for end in ends:
            total += 1
            near = [t - end for t in fired if -0.3 <= t - end <= 1.0]
            if near:
                heard += 1
                latencies.append(min(near, key=abs) if min(near) < 0 else min(near))
    return heard, total, latencies


def replay(luna, config, path):
    args = [luna] + (["--config", config] if config else []) + [
        "replay", "--fast", "--json", "--dry-run", str(path)]
    out = subprocess.run(args, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)["commands"]


def evaluate(luna, config, streams, enrolled=None):
    totals = {"wake": 0, "heard": 0, "correct": 0, "negatives": 0, "false_accepts": 0}
    per_voice, misses, accepts, scores = {}, [], [], []
    t0 = time.time()
    for voice, condition, path, spans in streams:
        found = replay(luna, layered(config, voice, enrolled), path)
        hit = [[] for _ in spans]
        for c in found:
            overlap = [max(0.0, min(c["end_s"], e) - max(c["start_s"], s)) for s, e, _, _ in spans]
            best = int(np.argmax(overlap))
            if overlap[best] > 0:
                hit[best].append(c)
        v = per_voice.setdefault(voice, {"wake": 0, "heard": 0, "correct": 0, "false_accepts": 0})
        for (s, e, kind, label), got in zip(spans, hit):
            if kind == "wake":
                totals["wake"] += 1
                v["wake"] += 1
                if got:
                    totals["heard"] += 1
                    v["heard"] += 1
                    said = [i["intent"] for c in got for i in c["intents"] if i["intent"] != "unknown"]
                    want = [i["intent"] for i in label["intents"]]
                    if said == want:
                        totals["correct"] += 1
                        v["correct"] += 1
                    scores += [c["wake"]["score"] for c in got if c.get("wake")]
                else:
                    misses.append(f"{voice} {condition} {s:.1f}s: {label['text']}")
            else:
                totals["negatives"] += 1
                if got:
                    totals["false_accepts"] += 1
                    v["false_accepts"] += 1
                    accepts.append(f"{voice} {condition} {s:.1f}s ({kind}) \"{label['text']}\" → "
                                   + "; ".join(c["transcript"] for c in got))
    totals["seconds"] = round(time.time() - t0, 1)
    return {"totals": totals, "per_voice": per_voice, "misses": misses, "false_accepts": accepts,
            "wake_scores": sorted(round(s, 3) for s in scores)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--luna", default=str(ROOT / "target/release/luna"))
    ap.add_argument("--config", action="append", default=[])
    ap.add_argument("--voices", choices=["dev", "test"], default="dev")
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "luna-wake-spoken"))
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--enroll", type=int, default=0, metavar="TAKES",
                    help="enroll each voice's own \"hey luna\" (3-6 takes) and listen for it")
    ap.add_argument("--latency", action="store_true",
                    help="also: how soon after the phrase the detector fires (phrases said before a pause)")
    ap.add_argument("--take-spread", type=float, default=1.0,
                    help="with --enroll: how unlike each other the takes are (tempo/pitch x this)")
    args = ap.parse_args()
    work = pathlib.Path(args.work) / f"{args.voices}-{args.seed}"
    work.mkdir(parents=True, exist_ok=True)
    voices = DEV_VOICES if args.voices == "dev" else TEST_VOICES
    cache = work / "streams.json"
    if cache.exists():
        streams = [(v, c, pathlib.Path(p), [tuple(s) for s in spans])
                   for v, c, p, spans in json.loads(cache.read_text())]
    else:
        streams = build_streams(voices, work, args.seed)
        cache.write_text(json.dumps([(v, c, str(p), spans) for v, c, p, spans in streams]))
    enrolled = enroll_voices(args.luna, voices, work, args.enroll, args.take_spread) if args.enroll else None
    results = {}
    for config in args.config or [None]:
        r = evaluate(args.luna, config, streams, enrolled)
        results[config or "defaults"] = r
        t = r["totals"]
        if not args.json:
            print(f"== {config or 'defaults'} ({args.voices} voices, {len(streams)} streams, {t['seconds']} s)")
            print(f"   commands after \"hey luna\": heard {t['heard']}/{t['wake']} "
                  f"({100 * t['heard'] / t['wake']:.0f} %), acted on correctly {t['correct']} "
                  f"({100 * t['correct'] / t['wake']:.0f} %); false accepts {t['false_accepts']} "
                  f"of {t['negatives']} not addressed to LUNA")
            for voice, v in r["per_voice"].items():
                print(f"   {voice:22} heard {v['heard']:2}/{v['wake']}  correct {v['correct']:2}  "
                      f"false accepts {v['false_accepts']}")
            for line in r["false_accepts"]:
                print("   FALSE ACCEPT", line)
        if args.latency:
            heard, total, lat = detection_latency(args.luna, config, streams, voices, args.seed, enrolled)
            r["detection"] = {"heard": heard, "of": total, "latency_s": lat}
            if not args.json and lat:
                print(f"   detector over its threshold: {heard}/{total} phrases said before a pause, "
                      f"{1000 * np.median(lat):.0f} ms p50 / {1000 * np.percentile(lat, 95):.0f} ms p95 after the phrase ends")
    if args.json:
        print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
