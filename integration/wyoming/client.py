#!/usr/bin/env python3
"""A Wyoming client made with the reference library (PyPI wyoming), as Home Assistant
uses a voice service: describe, speech to text of a WAV file (streamed in 100 ms chunks
in the file's own rate and channels), intent recognition and intent handling. Prints one
JSON object with what came back; the Rust test (integration/wyoming.rs) checks it.

    python3 client.py HOST PORT WAV TEXT_TO_RECOGNIZE TEXT_TO_HANDLE
"""
import asyncio
import json
import sys
import wave

from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.handle import Handled, NotHandled
from wyoming.info import Describe, Info
from wyoming.intent import Intent, NotRecognized, Recognize


async def ask(client, event, answers):
    await client.write_event(event.event())
    while True:
        answer = await asyncio.wait_for(client.read_event(), timeout=60)
        if answer is None:
            raise SystemExit("the service closed the connection")
        for kind in answers:
            if kind.is_type(answer.type):
                return kind.from_event(answer)


async def main(host, port, wav, to_recognize, to_handle):
    out = {}
    async with AsyncTcpClient(host, port) as client:
        info = await ask(client, Describe(), [Info])
        out["asr"] = [m.name for p in info.asr for m in p.models]
        out["asr_languages"] = [lang for p in info.asr for m in p.models for lang in m.languages]
        out["handle"] = [p.name for p in info.handle]
        out["intent"] = [p.name for p in info.intent]

        with wave.open(wav) as w:
            rate, width, channels = w.getframerate(), w.getsampwidth(), w.getnchannels()
            frames = w.readframes(w.getnframes())
        await client.write_event(Transcribe(language="en").event())
        await client.write_event(AudioStart(rate=rate, width=width, channels=channels).event())
        step = rate // 10 * width * channels
        for i in range(0, len(frames), step):
            chunk = AudioChunk(rate=rate, width=width, channels=channels, audio=frames[i:i + step])
            await client.write_event(chunk.event())
        transcript = await ask(client, AudioStop(), [Transcript])
        out["transcript"] = transcript.text

        recognized = await ask(client, Recognize(text=to_recognize), [Intent, NotRecognized])
        if isinstance(recognized, Intent):
            out["intent_name"] = recognized.name
            out["entities"] = {e.name: e.value for e in recognized.entities}
        else:
            out["intent_name"] = None
        unknown = await ask(client, Recognize(text="the weather was lovely on our walk"), [Intent, NotRecognized])
        out["ordinary_speech_recognized"] = isinstance(unknown, Intent)

        handled = await ask(client, Transcript(text=to_handle), [Handled, NotHandled])
        out["handled"] = isinstance(handled, Handled)
        out["handled_text"] = handled.text
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), *sys.argv[3:6]))
