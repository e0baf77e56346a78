#!/usr/bin/env python3
"""Writes config/brain_examples_others.toml: the even lines of the development sets
that people other than the team wrote (helpers briefed only with the intent list), as
training sentences for the n-gram classifier and the sentence encoder's head.

Only the development groups of integration/brain_others.rs are read, and only their
even lines (0, 2, 4, ...): the odd lines stay held out, and the sealed sets
(`sealed*/`) and CLINC150's test split are never read. Lines with more than one intent
are left out (both classifiers learn one intent per sentence).

    python3 models/brain/others_examples.py
"""
import json
import os
import re
from collections import defaultdict

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
# The development groups; never `sealed*` nor `clinc` (CLINC150's test split).
GROUPS = {"others", "unseen", "fresh", "blind", "styles", "scenes", "world", "talk",
          "edge", "ask", "slots"}


def main():
    src = open(os.path.join(ROOT, "integration", "brain_others.rs")).read()
    sets = re.findall(
        r'"([^"]+)",\s*"([^"]+)",\s*include_str!\("\.\./src/brain/corpus/([^"]+)"\)', src)
    by_intent = defaultdict(list)
    seen = set()
    for group, _, path in sets:
        if group not in GROUPS or group.startswith("sealed"):
            continue
        with open(os.path.join(ROOT, "src", "brain", "corpus", path)) as fh:
            for n, line in enumerate(fh):
                if n % 2 or not line.strip():
                    continue
                row = json.loads(line)
                intents = [i["intent"] for i in row["intents"]]
                text = " ".join(row["text"].split())
                if len(intents) != 1 or text.lower() in seen:
                    continue
                seen.add(text.lower())
                by_intent[intents[0]].append(text)
    out = os.path.join(ROOT, "config", "brain_examples_others.toml")
    with open(out, "w") as fh:
        fh.write("# The even lines of the development sets other people wrote (helpers who saw\n"
                 "# only the intent list; src/brain/corpus/*/BRIEF.md), one intent each, made by\n"
                 "# models/brain/others_examples.py. Odd lines, sealed sets and CLINC150's test\n"
                 "# split are never here. Trained on by the n-gram classifier and the encoder head.\n")
        for intent in sorted(by_intent):
            fh.write(f"\n[{json.dumps(intent)}]\nexamples = [\n")
            for t in by_intent[intent]:
                fh.write(f"  {json.dumps(t, ensure_ascii=False)},\n")
            fh.write("]\n")
    total = sum(len(v) for v in by_intent.values())
    print(f"wrote {out}: {total} sentences, {len(by_intent)} classes "
          f"({len(by_intent.get('unknown', []))} unknown)")


if __name__ == "__main__":
    main()
