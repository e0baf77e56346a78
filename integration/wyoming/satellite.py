#!/usr/bin/env python3
"""A Wyoming satellite made with the reference library (PyPI wyoming), as a room's
microphone and speaker: it listens on PORT, answers `describe` with satellite info, and
on `run-satellite` streams WAV (16-bit) at real-time pace in 20 ms chunks, then quiet.
It collects what LUNA sends back (detection, transcript, the reply's audio) and, once a
reply has been played or after --timeout seconds, prints one JSON object and exits.
With --die-after S it exits abruptly S seconds into streaming (a satellite unplugged
mid-utterance). With --own-wake it stands for a satellite with its own wake word: it
sends `run-pipeline` from the "asr" stage first, and WAV is the command alone.

    python3 satellite.py PORT WAV [--die-after S] [--timeout S] [--own-wake]
"""
import argparse
import asyncio
import json
import os
import time
import wave

from wyoming.audio import AudioChunk
from wyoming.event import async_read_event, async_write_event
from wyoming.info import Attribution, Info, Satellite
from wyoming.pipeline import PipelineStage, RunPipeline

CHUNK_S = 0.02


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("wav")
    ap.add_argument("--die-after", type=float)
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--own-wake", action="store_true")
    args = ap.parse_args()
    with wave.open(args.wav) as w:
        rate, width, channels = w.getframerate(), w.getsampwidth(), w.getnchannels()
        frames = w.readframes(w.getnframes())
    got = {"events": [], "transcripts": [], "reply_audio_s": 0.0, "connections": 0}
    done = asyncio.Event()

    async def stream(writer):
        if args.own_wake:
            run = RunPipeline(start_stage=PipelineStage.ASR, end_stage=PipelineStage.TTS,
                              wake_word_name="ok_nabu")
            await async_write_event(run.event(), writer)
        step = int(rate * CHUNK_S) * width * channels
        start = time.monotonic()
        quiet = bytes(step)
        i = 0
        while not done.is_set():
            chunk = frames[i:i + step] if i < len(frames) else quiet
            i += step
            await async_write_event(AudioChunk(rate=rate, width=width, channels=channels, audio=chunk).event(), writer)
            elapsed = time.monotonic() - start
            if args.die_after is not None and elapsed >= args.die_after:
                os._exit(0)
            await asyncio.sleep(max(0.0, i / (step / CHUNK_S) - elapsed))

    async def serve(reader, writer):
        got["connections"] += 1
        reply_format = None
        streaming = None
        while not done.is_set():
            event = await async_read_event(reader)
            if event is None:
                break
            if event.type != "audio-chunk":
                got["events"].append(event.type)
            if event.type == "describe":
                info = Info(satellite=Satellite(name="test", attribution=Attribution(name="", url=""),
                                                installed=True, description="test satellite", version="1"))
                await async_write_event(info.event(), writer)
            elif event.type == "run-satellite" and streaming is None:
                streaming = asyncio.create_task(stream(writer))
            elif event.type == "transcript":
                got["transcripts"].append(event.data.get("text", ""))
            elif event.type == "audio-start":
                reply_format = event.data
            elif event.type == "audio-chunk" and reply_format:
                got["reply_audio_s"] += len(event.payload or b"") / (2 * reply_format["rate"] * reply_format["channels"])
            elif event.type == "audio-stop":
                done.set()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", args.port)
    async with server:
        try:
            await asyncio.wait_for(done.wait(), timeout=args.timeout)
        except asyncio.TimeoutError:
            got["timed_out"] = True
    print(json.dumps(got), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
