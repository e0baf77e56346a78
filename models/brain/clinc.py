#!/usr/bin/env python3
"""Maps CLINC150 (Larson et al., "An Evaluation Dataset for Intent Classification and
Out-of-Scope Prediction", EMNLP 2019; CC BY 3.0) onto LUNA's intent catalogue.

    python3 models/brain/clinc.py [PATH/TO/data_full.json]

Writes
- config/brain_examples_clinc.toml: the train and val splits, mapped (training data for
  the fallback classifier), with the out-of-scope sentences and a sample of every
  unrelated intent as `unknown`;
- src/brain/corpus/clinc_test.jsonl: the test split mapped the same way (a development
  set, never trained on).

CLINC's intents are coarser than ours in places (its "alarm" sets and its
"calendar_update" adds, removes and moves); the words decide which of ours a sentence
is (SPLITS below). Intents that are ours only in part (timezone, definitions, smart
home) are left out of training rather than taught as `unknown`, so LUNA does not learn
that "what time is it in france" is out of scope.
"""
import json
import pathlib
import random
import re
import sys

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DEFAULT = ROOT.parent / "shared" / "data" / "clinc150" / "data_full.json"
UNKNOWN_PER_INTENT = 30  # of each unrelated intent's 120 train+val sentences

# CLINC intent → ours (a string), a function of the text, or None (leave out).
def has(text, *patterns):
    return any(re.search(rf"\b{p}\b", text) for p in patterns)

REMOVE = (r"remove", r"delete", r"take", r"cross", r"erase", r"clear", r"blank", r"drop",
          r"get rid", r"strike", r"scratch", r"no longer", r"don't need", r"do not need",
          r"check off", r"mark", r"cancel", r"eliminate", r"empty", r"wipe")

def list_update(text):
    if has(text, *REMOVE):
        return "list.remove"
    if has(text, r"create", r"start a new", r"make a new", r"new list"):
        return "list.create"
    return "list.add"

def alarm(text):
    if has(text, r"cancel", r"delete", r"remove", r"turn off", r"disable", r"unset", r"get rid"):
        return "alarm.cancel"
    if has(text, r"what", r"which", r"do i have", r"list", r"check", r"tell me", r"any alarms", r"is my alarm", r"is there"):
        return "alarm.list"
    return "alarm.set"

def timer(text):
    if has(text, r"cancel", r"stop", r"delete", r"turn off"):
        return "timer.cancel"
    if has(text, r"how much time", r"how long", r"left", r"remaining"):
        return "timer.status"
    return "timer.start"

def calendar_update(text):
    if has(text, r"move", r"reschedule", r"push", r"postpone", r"change", r"shift", r"switch", r"bump", r"update", r"edit"):
        return "calendar.move"
    if has(*[text], *REMOVE, r"cancel"):
        return "calendar.cancel"
    return "calendar.create"

def reminder_update(text):
    if has(text, r"cancel", r"delete", r"remove", r"clear", r"get rid", r"erase"):
        return "reminder.cancel"
    return "reminder.create"

def volume(text):
    if has(text, r"unmute"):
        return "volume.unmute"
    if has(text, r"mute", r"silence", r"silent"):
        return "volume.mute"
    if re.search(r"\b(to|at)\s+(\d+|one|two|three|four|five|six|seven|eight|nine|ten|max|maximum|half|level)", text):
        return "volume.set"
    if has(text, r"up", r"raise", r"increase", r"louder", r"higher", r"boost", r"turn it up", r"can't hear", r"cannot hear"):
        return "volume.up"
    if has(text, r"down", r"lower", r"decrease", r"quieter", r"softer", r"reduce", r"too loud"):
        return "volume.down"
    return None

def date(text):
    if has(text, r"tomorrow", r"yesterday", r"next", r"last"):
        return "date.query"
    return "date.today"

MAP = {
    "alarm": alarm,
    "timer": timer,
    "reminder": "reminder.list",
    "reminder_update": reminder_update,
    "calendar": "calendar.list",
    "calendar_update": calendar_update,
    "meeting_schedule": "calendar.list",
    "next_holiday": "date.query",
    "date": date,
    "time": "time.now",
    "weather": "weather.get",
    "change_volume": volume,
    "play_music": "media.play",
    "next_song": "media.next",
    "todo_list": lambda t: "list.show",
    "todo_list_update": list_update,
    "shopping_list": lambda t: None if has(t, r"do you want", r"do you prefer", r"do you like") else "list.show",
    "shopping_list_update": list_update,
    "calculator": "calc.evaluate",
    "tell_joke": "joke.tell",
    "greeting": "assistant.greet",
    "thank_you": "assistant.thanks",
    "what_can_i_ask_you": "assistant.help",
    "cancel": "assistant.cancel",
    "repeat": "assistant.repeat",
    # "that's correct" means yes only to a question; LUNA's grammar answers those.
    "yes": None,
    "no": None,
    # Ours only in part, or easily confused with ours: neither trained as ours nor
    # as unknown.
    "timezone": None,
    "smart_home": None,
    "what_song": None,
    "update_playlist": None,
    "schedule_meeting": None,
    "maybe": None,
    "goodbye": None,
    "measurement_conversion": None,
    "spelling": None,
    "definition": None,
    "current_location": None,
    "change_volume_": None,
    "whisper_mode": None,
    "change_speed": None,
    "flip_coin": None,
    "roll_dice": None,
    "fun_fact": None,
    "sync_device": None,
    "find_phone": None,
    "reset_settings": None,
}

# CLINC has no web search, so its out-of-scope sentences include searches LUNA does.
SEARCH = re.compile(r"^(?:can you |please )?(?:look up|search|google|find (?:articles|information|info|websites?)|search the web|look online)\b")

def label(intent, text):
    if intent == "oos":
        if SEARCH.search(text):
            return "web.search"
        return "unknown"
    if intent not in MAP:
        return "unknown"
    m = MAP[intent]
    return m(text) if callable(m) else m

def toml_string(s):
    return json.dumps(s, ensure_ascii=False)

def main():
    data = json.loads(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else DEFAULT).read_text())
    rng = random.Random(150)
    train = data["train"] + data["val"] + data["oos_train"] + data["oos_val"]
    by_class = {}
    unrelated = {}
    for text, intent in train:
        ours = label(intent, text)
        if ours is None:
            continue
        if ours == "unknown" and intent != "oos":
            unrelated.setdefault(intent, []).append(text)
            continue
        by_class.setdefault(ours, []).append(text)
    for intent, texts in sorted(unrelated.items()):
        by_class.setdefault("unknown", []).extend(rng.sample(texts, min(UNKNOWN_PER_INTENT, len(texts))))
    # Too few to learn from (and the examples file needs 5 of each).
    by_class = {k: v for k, v in by_class.items() if len(set(v)) >= 5}
    out = ROOT / "config" / "brain_examples_clinc.toml"
    with out.open("w") as f:
        f.write("# CLINC150's train and val splits mapped onto LUNA's intents by models/brain/clinc.py.\n")
        f.write("# Larson et al., \"An Evaluation Dataset for Intent Classification and Out-of-Scope\n")
        f.write("# Prediction\", EMNLP 2019; CC BY 3.0. Crowd-sourced: written by people, not by us.\n\n")
        for intent in sorted(by_class):
            texts = sorted(set(by_class[intent]))
            f.write(f"[{toml_string(intent)}]\nexamples = [\n")
            for t in texts:
                f.write(f"  {toml_string(t)},\n")
            f.write("]\n\n")
    test = data["test"] + data["oos_test"]
    rows = []
    unknown_test = {}
    for text, intent in test:
        ours = label(intent, text)
        if ours is None:
            continue
        if ours == "unknown":
            unknown_test.setdefault(intent, []).append(text)
            continue
        rows.append({"text": text, "intents": [{"intent": ours}]})
    # Out of scope: all of CLINC's oos test sentences and 3 of each unrelated intent.
    for intent, texts in sorted(unknown_test.items()):
        pick = texts if intent == "oos" else rng.sample(texts, min(3, len(texts)))
        rows.extend({"text": t, "intents": [{"intent": "unknown"}]} for t in pick)
    dev = ROOT / "src" / "brain" / "corpus" / "clinc_test.jsonl"
    with dev.open("w") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    counts = {k: len(set(v)) for k, v in by_class.items()}
    print(f"{out}: {sum(counts.values())} examples {counts}")
    print(f"{dev}: {len(rows)} lines")

if __name__ == "__main__":
    main()
