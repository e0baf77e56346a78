// LUNA's web console: talk (push-to-talk or hands-free with the wake word) or type,
// and see what LUNA heard, understood and did, with each step's latency. Talks only to
// the address that served it: /v1/stream (WebSocket), /v1/commands, /v1/history,
// /v1/stats. No dependencies, no build step.
"use strict";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "luna-token";
const STATE_TEXT = {
  idle: "Not listening",
  listening: "Listening",
  speech: "Hearing speech",
  heard: "Heard you",
  understood: "Understood",
  doing: "Doing it",
  done: "Done",
};
const STAGES = [
  ["endpoint", "end of speech"],
  ["stt", "speech to text"],
  ["brain", "understanding"],
  ["dispatch", "doing"],
  ["reply", "reply sound"],
];

let token = sessionStorage.getItem(TOKEN_KEY) || "";
let talk = null; // { mode, ws, mic, queue, stopping }
const cards = new Map();

function setState(state, detail) {
  const el = $("state");
  el.dataset.state = state;
  el.textContent = STATE_TEXT[state] + (detail ? ": " + detail : "");
}

function showError(message) {
  $("error").textContent = message || "";
}

function headers(json) {
  const h = {};
  if (json) h["Content-Type"] = "application/json";
  if (token) h["Authorization"] = "Bearer " + token;
  return h;
}

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: headers(Boolean(options.body)) });
  if (response.status === 401) {
    askForToken("The token was not accepted.");
    throw new Error("LUNA needs its API token");
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error((body.error && body.error.message) || response.statusText);
  return body;
}

// ---------------------------------------------------------------- the token

function askForToken(message) {
  $("token-form").hidden = false;
  $("token-error").textContent = message || "";
  $("token").focus();
}

$("token-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  token = $("token").value.trim();
  sessionStorage.setItem(TOKEN_KEY, token);
  try {
    await api("/v1/history?limit=1");
    $("token-form").hidden = true;
    $("token-error").textContent = "";
    $("ptt").focus();
  } catch (err) {
    /* askForToken already said so */
  }
});

// ---------------------------------------------------------------- tabs

const tabs = [$("tab-talk"), $("tab-history")];
function selectTab(tab) {
  for (const t of tabs) {
    const selected = t === tab;
    t.setAttribute("aria-selected", String(selected));
    t.tabIndex = selected ? 0 : -1;
    $(t.getAttribute("aria-controls")).hidden = !selected;
  }
  tab.focus();
  if (tab === $("tab-history")) refreshHistory();
}
for (const t of tabs) {
  t.addEventListener("click", () => selectTab(t));
  t.addEventListener("keydown", (e) => {
    if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
      e.preventDefault();
      selectTab(tabs[(tabs.indexOf(t) + 1) % tabs.length]);
    }
  });
}

// ---------------------------------------------------------------- commands shown

function card(id, source) {
  let c = cards.get(id);
  if (!c) {
    const node = $("command").content.firstElementChild.cloneNode(true);
    node.dataset.correlationId = id;
    node.querySelector('[data-field="source"]').textContent = source === "voice" ? "Spoken" : "Typed";
    const now = new Date();
    const time = node.querySelector('[data-field="time"]');
    time.dateTime = now.toISOString();
    time.textContent = now.toLocaleTimeString();
    $("log").prepend(node);
    c = { node, latency: {} };
    cards.set(id, c);
  }
  return c;
}

function field(c, name) {
  return c.node.querySelector(`[data-field="${name}"]`);
}

function slotsText(slots) {
  return Object.entries(slots || {})
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(", ");
}

function showIntents(c, intents, plan) {
  const dd = field(c, "intents");
  dd.textContent = "";
  const list = document.createElement("ul");
  for (const intent of intents || []) {
    const li = document.createElement("li");
    li.className = "intent";
    const name = document.createElement("strong");
    name.textContent = intent.intent;
    li.append(name, ` (${Math.round((intent.confidence || 0) * 100)} %)`);
    const slots = slotsText(intent.slots);
    if (slots) {
      const s = document.createElement("span");
      s.className = "slots";
      s.textContent = " " + slots;
      li.append(s);
    }
    list.append(li);
  }
  dd.append(list);
  if (plan && plan.groups && plan.groups.length > 1) {
    const p = document.createElement("p");
    p.className = "plan";
    p.textContent =
      "Plan: " +
      plan.groups
        .map((g) => g.steps.map((s) => plan.steps[s].intent).join(" + ") + (g.after.length ? " (after)" : ""))
        .join(", then ");
    dd.append(p);
  }
}

function showResults(c, results) {
  const dd = field(c, "results");
  dd.textContent = "";
  if (!results || !results.length) {
    dd.textContent = "nothing";
    return;
  }
  const list = document.createElement("ul");
  for (const r of results) {
    const li = document.createElement("li");
    li.className = r.needs_confirmation ? "pending" : r.ok ? "ok" : "failed";
    li.dataset.intent = r.intent;
    li.textContent = `${r.intent}: ${r.response}`;
    list.append(li);
  }
  dd.append(list);
  const question = results.find((r) => r.needs_confirmation);
  if (question) {
    $("confirm-question").textContent = question.response;
    $("confirm").hidden = false;
    $("yes").focus();
  }
}

function showLatency(c, ms) {
  Object.assign(c.latency, ms);
  const box = field(c, "latency");
  const parts = STAGES.filter(([k]) => typeof c.latency[k] === "number");
  if (!parts.length && typeof c.latency.answered !== "number") return;
  if (box.hidden) c.node.dataset.latencyShownAt = performance.now();
  box.hidden = false;
  const bar = box.querySelector(".bar");
  const steps = box.querySelector(".steps");
  bar.textContent = "";
  steps.textContent = "";
  bar.hidden = steps.hidden = !parts.length;
  const sum = parts.reduce((a, [k]) => a + c.latency[k], 0) || 1;
  for (const [k, label] of parts) {
    const v = c.latency[k];
    const seg = document.createElement("span");
    seg.style.width = `${(100 * v) / sum}%`;
    seg.title = `${label} ${Math.round(v)} ms`;
    bar.append(seg);
    const li = document.createElement("li");
    li.dataset.stage = k;
    li.textContent = `${label} ${Math.round(v)} ms`;
    steps.append(li);
  }
  const total = c.latency.speech_end_to_action;
  field(c, "total").textContent =
    typeof total === "number"
      ? `End of speech to action: ${Math.round(total)} ms`
      : `Answered in ${Math.round(c.latency.answered)} ms`;
}

function showOutcome(c, outcome) {
  field(c, "transcript").textContent = outcome.text;
  showIntents(c, outcome.intents, outcome.plan);
  showResults(c, outcome.results);
  field(c, "reply").textContent = outcome.response || "(nothing to say)";
}

// ---------------------------------------------------------------- typed commands

async function typed(text) {
  showError("");
  const started = performance.now();
  setState("doing");
  try {
    const outcome = await api("/v1/commands", { method: "POST", body: JSON.stringify({ text }) });
    const c = card(outcome.correlation_id, "text");
    showOutcome(c, outcome);
    showLatency(c, { answered: performance.now() - started });
    setState("done");
  } catch (err) {
    showError(err.message);
    setState(talk ? "listening" : "idle");
  }
}

$("typed").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("text").value.trim();
  if (!text) return;
  $("text").value = "";
  typed(text);
});

for (const [id, answer] of [["yes", "yes"], ["no", "no"]]) {
  $(id).addEventListener("click", () => {
    $("confirm").hidden = true;
    typed(answer);
  });
}

// ---------------------------------------------------------------- the microphone

// `context` is made and resumed in the key press or click itself: browsers let audio
// run only from a user's gesture (Firefox keeps a context made later suspended).
async function openMicrophone(context, resumed, onChunk) {
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { channelCount: 1, echoCancellation: true, noiseSuppression: false, autoGainControl: true },
  });
  await context.audioWorklet.addModule("worklet.js");
  const source = context.createMediaStreamSource(stream);
  const node = new AudioWorkletNode(context, "luna-microphone");
  node.port.onmessage = (e) => onChunk(e.data.samples, e.data.peak);
  source.connect(node);
  const timeout = new Promise((resolve) => setTimeout(resolve, 3000));
  await Promise.race([resumed, timeout]);
  if (context.state !== "running") {
    for (const track of stream.getTracks()) track.stop();
    throw new Error("the browser has not let this page use audio yet: click the page, then try again");
  }
  return {
    close() {
      node.port.onmessage = null;
      source.disconnect();
      for (const track of stream.getTracks()) track.stop();
      context.close();
    },
  };
}

function playReply(data, c) {
  if (!$("speak").checked) return;
  const url = URL.createObjectURL(new Blob([data], { type: "audio/wav" }));
  const audio = new Audio(url);
  const asked = performance.now();
  audio.addEventListener("playing", () => {
    if (c && c.replyAt) showLatency(c, { reply: performance.now() - c.replyAt });
  });
  audio.addEventListener("ended", () => URL.revokeObjectURL(url));
  audio.play().catch(() => URL.revokeObjectURL(url));
  return asked;
}

function onEvent(t, e) {
  switch (e.event) {
    case "speech":
      setState("speech");
      break;
    case "wake":
      setState("heard", `“${e.phrase}”`);
      break;
    case "ignored":
      setState(t.mode === "handsfree" ? "listening" : "heard", "not addressed to LUNA");
      break;
    case "transcript": {
      const c = card(e.correlation_id, "voice");
      field(c, "transcript").textContent = e.text;
      setState("heard");
      break;
    }
    case "intent": {
      const c = card(e.correlation_id, "voice");
      showIntents(c, e.intents, e.plan);
      setState("understood");
      break;
    }
    case "result": {
      const c = card(e.correlation_id, "voice");
      showResults(c, e.results);
      setState("doing");
      break;
    }
    case "reply": {
      const c = card(e.correlation_id, "voice");
      field(c, "reply").textContent = e.text || "(nothing to say)";
      showLatency(c, e.latency_ms || {});
      c.replyAt = performance.now();
      t.lastReply = c;
      setState(t.stopping ? "done" : "listening");
      break;
    }
    case "error":
      showError(e.message);
      if (e.code === "unauthorized") askForToken("The token was not accepted.");
      break;
  }
}

async function startTalking(mode) {
  if (talk) return;
  const context = new AudioContext();
  const resumed = context.resume();
  showError("");
  const t = { mode, queue: [], stopping: false, lastReply: null };
  talk = t;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const query = new URLSearchParams({ vad: "true", speak: String($("speak").checked) });
  if (mode === "ptt") query.set("no_wake", "true");
  const ws = new WebSocket(`${scheme}//${location.host}/v1/stream?${query}`);
  ws.binaryType = "arraybuffer";
  t.ws = ws;
  ws.onopen = () => {
    if (token) ws.send("auth " + token);
    for (const chunk of t.queue) ws.send(chunk);
    t.queue = [];
    if (t.stopping) ws.send("end");
  };
  ws.onmessage = (m) => {
    if (typeof m.data === "string") onEvent(t, JSON.parse(m.data));
    else playReply(m.data, t.lastReply);
  };
  ws.onclose = () => {
    if (talk === t) stopTalking();
    if (!t.stopping) showError("The connection to LUNA closed.");
    if ($("state").dataset.state === "listening" || $("state").dataset.state === "speech") setState("idle");
  };
  ws.onerror = () => showError("Could not reach LUNA's stream.");
  try {
    t.mic = await openMicrophone(context, resumed, (samples, peak) => {
      // When the first sound arrived (the page's clock), for timing what follows.
      if (!t.started) document.body.dataset.micStartedAt = t.started = performance.now();
      $("level").value = peak;
      if (t.stopping) return;
      if (ws.readyState === WebSocket.OPEN) ws.send(samples);
      else if (ws.readyState === WebSocket.CONNECTING) t.queue.push(samples);
    });
  } catch (err) {
    showError(`No microphone: ${err.message}`);
    context.close();
    t.stopping = true;
    ws.close();
    talk = null;
    updateButtons();
    return;
  }
  if (t.stopping) t.mic.close();
  setState("listening");
  updateButtons();
}

function stopTalking() {
  const t = talk;
  if (!t) return;
  talk = null;
  t.stopping = true;
  if (t.mic) t.mic.close();
  $("level").value = 0;
  // The server finishes the last utterance, answers, then closes.
  if (t.ws.readyState === WebSocket.OPEN) t.ws.send("end");
  updateButtons();
}

function updateButtons() {
  const mode = talk && !talk.stopping ? talk.mode : null;
  $("ptt").setAttribute("aria-pressed", String(mode === "ptt"));
  $("ptt").textContent = mode === "ptt" ? "Listening… let go when done" : "Hold to talk";
  $("handsfree").setAttribute("aria-pressed", String(mode === "handsfree"));
  $("handsfree").textContent = `Hands-free (say “hey luna”): ${mode === "handsfree" ? "on" : "off"}`;
}

// Push-to-talk: the button held with the pointer, or the space bar held anywhere but
// in a text field.
const ptt = $("ptt");
ptt.addEventListener("pointerdown", (e) => {
  e.preventDefault();
  ptt.setPointerCapture(e.pointerId);
  startTalking("ptt");
});
for (const type of ["pointerup", "pointercancel"]) {
  ptt.addEventListener(type, () => {
    if (talk && talk.mode === "ptt") stopTalking();
  });
}
function typing(target) {
  return target instanceof HTMLInputElement && target.type !== "checkbox";
}
document.addEventListener("keydown", (e) => {
  if (e.code !== "Space" || typing(e.target) || e.target.getAttribute("role") === "tab") return;
  if (e.target instanceof HTMLButtonElement && e.target !== ptt) return;
  e.preventDefault();
  if (!e.repeat) startTalking("ptt");
});
document.addEventListener("keyup", (e) => {
  if (e.code !== "Space" || typing(e.target)) return;
  if (talk && talk.mode === "ptt") {
    e.preventDefault();
    stopTalking();
  }
});
// Enter on the focused button toggles push-to-talk for keyboards without a held key.
ptt.addEventListener("keydown", (e) => {
  if (e.key !== "Enter") return;
  e.preventDefault();
  if (talk && talk.mode === "ptt") stopTalking();
  else startTalking("ptt");
});

$("handsfree").addEventListener("click", () => {
  if (talk && talk.mode === "handsfree") stopTalking();
  else if (!talk) startTalking("handsfree");
});

// ---------------------------------------------------------------- history and stats

async function refreshHistory() {
  try {
    const [history, stats] = await Promise.all([api("/v1/history?limit=50"), api("/v1/stats")]);
    const rows = $("history-rows");
    rows.textContent = "";
    for (const r of history.commands) {
      const tr = document.createElement("tr");
      const when = new Date(r.received_at_ms).toLocaleString();
      const intents = (r.parse || []).map((i) => i.intent).join(", ");
      const total = r.latency_ms && r.latency_ms.speech_end_to_action;
      for (const text of [
        when,
        `${r.source === "text" ? "typed" : "said"}: ${r.transcript || ""}`,
        intents,
        `${r.outcome}${r.response ? " — " + r.response : ""}`,
        typeof total === "number" ? `${Math.round(total)} ms` : "",
      ]) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.append(td);
      }
      rows.append(tr);
    }
    $("stats").textContent = stats.summary;
  } catch (err) {
    showError(err.message);
  }
}
$("refresh").addEventListener("click", refreshHistory);

// ---------------------------------------------------------------- start

setState("idle");
api("/v1/history?limit=1").catch(() => {});
