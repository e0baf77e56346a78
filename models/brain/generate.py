#!/usr/bin/env python3
"""Generates varied training sentences for LUNA's fallback classifier, in the spirit of
hassil/chatito expansions: templates x slot values x styles.

    python3 models/brain/generate.py    # rewrites config/brain_examples_generated.toml

Styles: plain imperative, telegraphic ("timer ten minutes"), indirect ("i need ..."),
questions ("can you ..."), a reason before or after ("i'm cooking so ..."), a room or
device named, Whisper's slips, a chatty, wordy speaker's story around the request
("my grandson set you up for me, could you ..., thank you ever so much") and clipped
keyword style ("weather berlin tmrw", "timer 10 mins pasta"). Deterministic (seeded). These are the team's own
sentences: they teach breadth, and are never used to measure (the development sets
in src/brain/corpus/others/ and CLINC150's test split are).
"""
import json
import pathlib
import random

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
OUT = ROOT / "config" / "brain_examples_generated.toml"
PER_INTENT = 160
rng = random.Random(2026)

ARTISTS = ["taylor swift", "the beatles", "miles davis", "adele", "drake", "queen", "bob marley",
           "billie eilish", "coldplay", "nina simone", "ed sheeran", "metallica", "beyonce",
           "frank sinatra", "radiohead", "bts", "dolly parton", "kendrick lamar", "abba", "bach"]
SONGS = ["bohemian rhapsody", "hey jude", "shake it off", "yesterday", "clair de lune",
         "hotel california", "bad guy", "dancing queen", "imagine", "purple rain"]
GENRES = ["jazz", "classical music", "rock", "lo-fi", "country", "hip hop", "80s pop",
          "chill music", "blues", "reggae", "old school r&b", "christmas music", "metal"]
STATIONS = ["npr", "bbc radio 4", "kexp", "radio paradise", "jazz fm", "the local news station",
            "a classic rock station", "wnyc"]
PODCASTS = ["the daily", "radiolab", "this american life", "my favorite murder", "serial"]
BOOKS = ["harry potter", "the hobbit", "dune", "pride and prejudice", "my audiobook"]
TIMER_NAMES = ["pasta", "egg", "pizza", "laundry", "bread", "cookie", "rice", "tea", "nap", "workout"]
PLAYLISTS = ["my workout playlist", "the dinner party mix", "my chill playlist", "discover weekly"]
CITIES = ["tokyo", "london", "paris", "new york", "los angeles", "sydney", "berlin", "mumbai",
          "chicago", "toronto", "dubai", "mexico city", "seoul", "cairo", "denver",
          "springfield illinois", "portland oregon", "austin texas", "paris france",
          "melbourne australia", "vancouver", "rome", "lagos", "manila", "sao paulo"]
ZONES = ["pacific time", "eastern time", "gmt", "utc", "central time", "india", "japan",
         "germany", "brazil", "the uk"]
DAYS = ["today", "tomorrow", "tonight", "this weekend", "on friday", "next tuesday",
        "on monday", "this afternoon", "on saturday morning", "next week", "on march 3rd",
        "on the 19th", "the day after tomorrow", "on june 2nd"]
TIMES = ["at noon", "at 3", "at 6:30", "at 9 am", "at 7 pm", "at half past ten",
         "at quarter to eight", "at 4:15", "at 11", "around 5"]
HOLIDAYS = ["christmas", "easter", "thanksgiving", "halloween", "new year's day",
            "valentine's day", "mother's day", "the fourth of july", "labor day",
            "memorial day", "father's day", "christmas eve"]
DATES = ["march 3rd", "july 4th", "december 25th", "the 19th", "june 2nd", "november 28",
         "next friday", "october 9th", "february 14th 2027", "the first of may"]
EVENTS = ["lunch with sarah", "a dentist appointment", "a meeting with the marketing team",
          "soccer practice", "dinner with mom", "a haircut", "a call with dr patel",
          "book club", "the parent teacher conference", "a vet appointment for the dog",
          "coffee with dave", "a job interview", "yoga class", "date night", "a team standup"]
EVENT_TITLES = ["lunch", "the dentist", "my meeting", "soccer practice", "dinner", "my haircut",
                "the call with dr patel", "book club", "the team standup", "date night",
                "the 3 o'clock meeting", "my doctor's appointment"]
PLACES = ["at the cafe", "at the office", "at linda's house", "downtown", "at the school"]
ROOMS = ["in the kitchen", "in the living room", "on the kitchen speaker", "in the bedroom",
         "on the living room tv", "in the office", "on the bedroom speaker", "in emma's room"]
DURATIONS = ["5 minutes", "ten minutes", "half an hour", "90 seconds", "an hour and a half",
             "twenty five minutes", "a minute and a half", "2 hours", "45 seconds", "15 minutes"]
LISTS = ["shopping", "grocery", "to do", "packing", "chores", "costco", "camping", "reading",
         "christmas gift", "work"]
ITEMS = ["milk", "eggs", "coffee", "paper towels", "bananas", "call the plumber",
         "vacuum the stairs", "sunscreen", "dog food", "mow the lawn", "batteries", "bread"]
REASONS_BEFORE = ["i'm cooking so", "we're heading out so", "the baby's asleep so",
                  "i'm on the phone so", "real quick", "so um", "okay so", "alright",
                  "i was thinking", "before i forget", "hey quick question"]
REASONS_AFTER = ["it's too loud", "i can't hear it", "we're done for the day",
                 "i'm heading to bed", "it's frozen again", "someone's at the door",
                 "i don't need it anymore", "i'm going out", "the kids are asleep",
                 "thanks", "please", "if you can"]
LEADS = ["", "", "", "can you ", "could you ", "please ", "i need you to ", "would you ",
         "hey can you ", "i want you to ", "go ahead and ", "quickly "]


def pick(xs):
    return rng.choice(xs)


def expand(template):
    """Fills {slot} fields with random values."""
    out = template
    fields = {
        "artist": ARTISTS, "song": SONGS, "genre": GENRES, "station": STATIONS,
        "podcast": PODCASTS, "book": BOOKS, "playlist": PLAYLISTS, "city": CITIES,
        "zone": ZONES, "day": DAYS, "time": TIMES, "holiday": HOLIDAYS, "date": DATES,
        "event": EVENTS, "title": EVENT_TITLES, "place": PLACES, "room": ROOMS,
        "duration": DURATIONS, "list": LISTS, "item": ITEMS, "name": TIMER_NAMES,
    }
    for name, values in fields.items():
        while "{" + name + "}" in out:
            out = out.replace("{" + name + "}", pick(values), 1)
    return out


WORDY_LEADS = ["i'm sorry to trouble you but would you", "my grandson set you up for me, could you",
               "i'm not very good with these machines, would you be so kind as to",
               "oh hello, i wonder if you might", "if it isn't too much bother could you",
               "now then, would you", "excuse me, could you possibly", "i was just saying to my husband, could you",
               "i do hope i'm doing this right, would you", "pardon me, would you mind if you"]
WORDY_ENDS = ["thank you ever so much", "my eyes aren't what they were", "the neighbours are ever so particular",
              "i can never remember how", "that would be lovely", "if you'd be so kind", "bless you",
              "i always get in a muddle", "my daughter usually does it for me", "dear"]
CLIPPED_DROP = {"the", "a", "an", "my", "some", "me", "please", "can", "you", "could", "i", "want",
                "need", "would", "like", "it", "is", "what's"}
CLIPPED_SHORT = {"minutes": "mins", "minute": "min", "hours": "hrs", "hour": "hr", "tomorrow": "tmrw",
                 "volume": "vol", "temperature": "temp", "seconds": "secs", "calendar": "cal",
                 "brightness": "bright", "reminder": "remind"}


def clipped(sentence):
    """Keyword style: articles, pronouns and politeness dropped, some words short."""
    words = [CLIPPED_SHORT.get(w, w) if rng.random() < 0.5 else w
             for w in sentence.split() if w not in CLIPPED_DROP]
    return " ".join(words) if len(words) >= 2 else sentence


def styled(sentence, can_lead=True):
    """Adds a lead-in, a reason before or after, now and then; or says it the way a
    chatty, wordy speaker would, or in clipped keyword style."""
    r = rng.random()
    if can_lead and r < 0.07:
        return " ".join(f"{pick(WORDY_LEADS)} {sentence}, {pick(WORDY_ENDS)}".split())
    if can_lead and r < 0.13:
        return clipped(sentence)
    if can_lead and r < 0.25:
        sentence = pick(LEADS) + sentence
    elif r < 0.35:
        sentence = f"{pick(REASONS_BEFORE)} {sentence}"
    elif r < 0.45:
        sentence = f"{sentence} {pick(REASONS_AFTER)}"
    return " ".join(sentence.split())


TEMPLATES = {
    "media.play": [
        "play {artist}", "put on some {genre}", "play {song} by {artist}", "i want to hear {artist}",
        "play some {genre} {room}", "tune in to {station}", "put on {station}", "play {podcast}",
        "play the latest episode of {podcast}", "play my audiobook {book}", "continue listening to {book}",
        "play {playlist}", "shuffle {playlist}", "throw on some {artist}", "{artist} please",
        "can i get some {genre} in here", "i'm in the mood for {genre}", "start the radio",
        "play the album abbey road", "play something by {artist}", "let's hear some {genre}",
        "play the song {song}", "put on a {genre} playlist", "find me a {genre} station",
        "play {station} {room}", "queue up {song}", "blast some {genre}",
    ],
    "weather.get": [
        "what's the weather in {city}", "weather {day}", "is it going to rain {day}",
        "will it snow in {city} {day}", "do i need an umbrella {day}", "how hot will it be {day}",
        "what's the forecast for {city}", "should i bring a jacket {day}", "how cold is it outside",
        "is it windy out", "what's the temperature in {city} {day}", "any chance of thunderstorms {day}",
        "what should i wear {day}", "how humid is it", "will it be sunny {day}",
        "what's the weather like {day} in {city}", "is it going to be nice {day}",
        "how much snow are we getting {day}", "is it freezing out there", "weather for {city}",
    ],
    "time.now": [
        "what time is it in {city}", "what's the time in {city}", "current time in {zone}",
        "what time is it there in {city}", "time in {city}", "{city} time",
        "do you know what time it is in {city}", "tell me the time in {zone}",
        "what time is it over in {city} right now", "how late is it in {city}",
    ],
    "date.query": [
        "what day of the week is {date}", "when is {holiday}", "how many days until {holiday}",
        "how many days till {date}", "what day does {date} fall on", "when's {holiday} this year",
        "what date is {holiday}", "how long until {holiday}", "is {date} a weekday",
        "what day is {holiday} on", "days until {holiday}", "when is {holiday} next year",
    ],
    "calendar.create": [
        "put {event} on my calendar {day} {time}", "add {event} to the calendar {day}",
        "schedule {event} {day} {time}", "new event {event} {day} {time}",
        "create an event called book club {day} {time}", "pencil in {event} {day}",
        "i need to schedule {event} {day} {time}", "add {event} {day} {time} {place}",
        "set up {event} {day}", "book {event} on my calendar for {day}",
        "i have {event} {day} {time} put it in my calendar", "make a calendar entry for {event} {day}",
    ],
    "calendar.list": [
        "what's on my calendar {day}", "what do i have {day}", "what's coming up",
        "do i have anything planned {day}", "am i free {day}", "what's my next meeting",
        "read me my schedule for {day}", "show me my calendar", "any appointments {day}",
        "what's on the agenda {day}", "when is my next appointment", "what do we have going on {day}",
        "is there anything on the calendar {day}", "check my calendar for {day}",
    ],
    "calendar.cancel": [
        "cancel {title}", "cancel {title} {day}", "delete {title} from my calendar",
        "remove {title} from the calendar", "clear my calendar for {day}", "call off {title}",
        "i can't make {title} so take it off the calendar", "get rid of {title} {day}",
        "cancel all my meetings {day}", "scrap {title} {day}",
    ],
    "calendar.move": [
        "move {title} to {day}", "reschedule {title} to {day} {time}", "push {title} to {time}",
        "move {title} {time}", "postpone {title} until {day}", "change {title} to {day}",
        "bump {title} to {time}", "can we move {title} to {day}", "shift {title} to {day} {time}",
        "reschedule {title}",
    ],
    "list.create": [
        "make a new list called {list}", "start a list for {list}", "create a {list} list",
        "new list {list}", "i need a new list for {list}", "start a new list call it {list}",
        "set up a {list} list", "make me a {list} list",
    ],
    "list.add": [
        "add {item} to my {list} list", "put {item} on the list", "we're out of {item} put it on the list",
        "add {item} to the {list} list", "stick {item} on the {list} list", "{list} list add {item}",
        "i need {item} on my {list} list", "don't let me forget {item} add it to the list",
    ],
    "list.remove": [
        "take {item} off the {list} list", "remove {item} from my {list} list", "check off {item}",
        "mark {item} as done", "cross {item} off the list", "tick off {item} on my {list} list",
        "i got the {item} so take it off the list", "delete {item} from the {list} list",
        "clear my {list} list", "empty the {list} list",
    ],
    "list.show": [
        "what's on my {list} list", "read me the {list} list", "what's on the list",
        "show me my {list} list", "what do we need from the store", "anything on the {list} list",
        "what's left on my {list} list",
    ],
    "timer.start": [
        "set a timer for {duration}", "timer {duration}", "{duration} timer", "start a {duration} timer {room}",
        "set a pasta timer for {duration}", "count down {duration}", "i need a timer for {duration}",
        "put a timer on for {duration}", "can you time {duration}", "kitchen timer {duration}",
    ],
    "timer.cancel": [
        "cancel the timer", "cancel all timers", "stop the timer {room}", "turn off the timer",
        "get rid of the laundry timer", "never mind the cookie timer", "kill all the timers",
        "delete the pasta timer", "stop all timers",
    ],
    "timer.status": [
        "how much time is left on the timer", "how long is left", "how much longer on the pasta timer",
        "check the timers", "is the timer almost done", "how much time is left on all my timers",
        "what timers are running", "time left on the egg timer",
    ],
    "volume.up": [
        "turn it up", "turn up the volume {room}", "louder", "bump the volume up 2 notches",
        "turn up the tv", "i can't hear it", "raise the volume", "volume up a bit",
    ],
    "volume.down": [
        "turn it down", "turn down the volume {room}", "quieter please", "lower the tv",
        "bring the volume down 2 notches", "it's too loud", "volume down", "turn the speaker down",
    ],
    "volume.mute": [
        "mute", "mute the tv", "mute the kitchen speaker", "silence the tv", "kill the sound",
        "mute everything", "turn the sound off",
    ],
    "volume.unmute": [
        "unmute", "unmute the tv", "you can unmute now", "turn the sound back on", "unmute the speaker",
    ],
    "media.pause": [
        "pause", "pause the music", "pause the tv", "pause it for a sec", "hold the music",
        "pause the audiobook", "pause the podcast {room}",
    ],
    "media.resume": [
        "resume", "keep going with the audiobook", "continue the podcast", "unpause",
        "resume the music", "carry on playing", "pick up where we left off",
    ],
    "media.stop": [
        "stop the music", "turn off the radio", "that's enough music stop it", "stop playing",
        "stop the podcast", "turn the music off {room}",
    ],
    "media.next": [
        "next song", "skip this", "skip", "play the next track", "next one", "skip this song {room}",
    ],
    "alarm.set": [
        "wake me up {time}", "set an alarm {time}", "alarm {time} {day}", "wake me {day} {time}",
        "i need to get up {time}", "set my alarm for 630", "alarm for 7am",
    ],
    "alarm.cancel": [
        "turn off the alarm", "cancel my alarm {day}", "delete the 7am alarm", "turn off all alarms",
        "i don't need the alarm {day} remove it", "switch off the alarm",
    ],
    "alarm.list": [
        "what alarms do i have", "did i set an alarm for tomorrow", "which alarms are on",
        "is my alarm set", "show my alarms",
    ],
    "reminder.cancel": [
        "cancel that reminder", "drop the reminder", "you can get rid of that reminder",
        "delete my reminder to call mom", "forget the reminder about the bill",
    ],
    "note.list": [
        "read my notes", "what did i write down", "what was that note i made",
        "show me my notes", "do i have any notes",
    ],
    "app.open": [
        "open firefox", "launch minecraft", "start zoom", "open steam i wanna play something",
        "start microsoft word", "open spotify", "launch the calculator",
    ],
    "app.close": [
        "quit minecraft", "close firefox", "kill minecraft", "exit photoshop", "close zoom",
        "shut down steam",
    ],
    "system.restart": [
        "restart the computer", "reboot my laptop", "restart my pc", "reboot the computer",
    ],
    "system.shutdown": [
        "shut the computer down", "shut down the computer", "turn off the pc", "power off the computer",
    ],
    "system.stats": [
        "how much disk space do i have left", "how's the battery", "how much memory is free",
        "what's my cpu usage",
    ],
    "unknown": [
        "turn on the kitchen lights", "set the thermostat to 70", "lock the front door",
        "call mom", "text sarah i'm running late", "order more paper towels",
        "book a table for two at 7", "book me a flight to {city}", "how's traffic to work",
        "who won the game last night", "what's the stock price of apple", "set the oven to 350", "start the dishwasher",
        "pause the washing machine", "what's the capital of {city}",
        "how do you make pancakes", "translate hello into spanish", "what does ubiquitous mean",
        "it was freezing in {city} last winter", "when does the bakery open",
        "how long does it take to boil an egg", "turn on the fan", "open the garage door", "close the blinds", "start the car",
        "what's the news", "how many people live in {city}", "tell me a story",
        "what's your favorite color", "are you a robot", "i'm bored", "goodnight",
        "cancel my netflix subscription", "add my friend on facebook", "send an email to john",
        "what movie should i watch",
    ],
    # Added 2026-12-06 after "unknown" so the sentences above keep their seeded draws.
    "timer.pause": [
        "pause the timer", "pause the {name} timer", "hold the timer {room}", "pause all the timers",
        "put the timer on hold", "can you pause my timer for a sec", "freeze the countdown",
        "stop the timer for now but don't cancel it", "pause it, the timer i mean",
    ],
    "timer.resume": [
        "resume the timer", "unpause the {name} timer", "start the timer again", "resume all timers",
        "keep the timer going", "take the timer off hold", "continue the countdown {room}",
        "ok you can restart the timer where it was", "get the {name} timer going again",
    ],
    "timer.adjust": [
        "add {duration} to the timer", "add another {duration} to the {name} timer",
        "give me {duration} more on the timer", "extend the timer by {duration}",
        "put {duration} more on the {name} timer", "take {duration} off the timer",
        "knock {duration} off the {name} timer", "shorten the timer by {duration}",
        "i need {duration} more on the timer", "can you add {duration} to my timer {room}",
    ],
}


def normalized(text):
    kept = "".join(c if c.isalnum() or c in "' " else " " for c in text.lower())
    return " ".join(kept.split())


def development_sentences():
    """Every sentence of the development sets: never generated, so never trained on."""
    corpus = ROOT / "src" / "brain" / "corpus"
    texts = set()
    for path in corpus.rglob("*.jsonl"):
        for line in path.read_text().splitlines():
            if line.strip():
                texts.add(normalized(json.loads(line)["text"]))
    for line in (corpus / "out_of_domain.txt").read_text().splitlines():
        texts.add(normalized(line))
    return texts


def main():
    held_out = development_sentences()
    out = {}
    for intent, templates in TEMPLATES.items():
        seen = set()
        tries = 0
        while len(seen) < PER_INTENT and tries < PER_INTENT * 20:
            tries += 1
            sentence = expand(pick(templates))
            if intent != "unknown":
                sentence = styled(sentence)
            if normalized(sentence) not in held_out:
                seen.add(sentence)
        out[intent] = sorted(seen)
    with OUT.open("w") as f:
        f.write("# Generated by models/brain/generate.py (templates x slot values x styles); do not edit.\n")
        f.write("# The team's own sentences: breadth for the fallback, never used to measure.\n\n")
        for intent in sorted(out):
            f.write(f"[{json.dumps(intent)}]\nexamples = [\n")
            for s in out[intent]:
                f.write(f"  {json.dumps(s)},\n")
            f.write("]\n\n")
    total = sum(len(v) for v in out.values())
    print(f"{OUT}: {total} sentences over {len(out)} intents")


if __name__ == "__main__":
    main()
