// The page at / of `nertag serve`: tags the text box as you type (debounced) with
// POST /tag and shows the entities as `nertag tag --format html` does. No library,
// nothing from outside: it works offline.
"use strict";

const DELAY_MS = 200;            // wait this long after the last key before tagging
const box = document.getElementById("text");
const decoder = document.getElementById("decoder");
const out = document.getElementById("out");
const status = document.getElementById("status");
const jsonLink = document.getElementById("json");
let timer = null;
let sent = 0;                    // requests sent; only the last one's answer is shown
let jsonUrl = null;

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(tag, DELAY_MS);
}

async function tag() {
  const text = box.value;
  const seq = ++sent;
  out.dataset.state = "tagging";
  const body = { text: text };
  if (decoder.value) body.decoder = decoder.value;
  const t0 = performance.now();
  let answer, reply;
  try {
    reply = await fetch("/tag", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    answer = await reply.json();
  } catch (e) {
    answer = { error: "no answer from the server (" + e.message + ")" };
  }
  if (seq !== sent) return;      // a newer request is on its way
  if (!reply || !reply.ok) {
    status.textContent = "error: " + (answer.error || reply.status);
    status.className = "error";
    out.dataset.state = "error";
    return;
  }
  const ents = answer.docs[0].sentences.flatMap((s) => s.entities);
  render(text, ents);
  const ms = Math.round(performance.now() - t0);
  status.className = "";
  status.textContent = text ? ents.length + " entit" + (ents.length === 1 ? "y" : "ies") +
    " in " + ms + " ms" : "";
  showJson(answer);
  out.dataset.state = "done";
  out.dataset.seq = String(seq);
}

// The server counts offsets in characters (code points); JavaScript strings count
// UTF-16 units: convert when the text has characters outside the BMP (emoji, ...).
function unitOffsets(text) {
  if (!/[\uD800-\uDFFF]/.test(text)) return null;
  const units = [0];
  for (const ch of text) units.push(units[units.length - 1] + ch.length);
  return units;
}

function render(text, ents) {
  const units = unitOffsets(text);
  const at = (i) => (units ? units[i] : i);
  const parts = [];
  let pos = 0;
  for (const e of ents) {
    const a = at(e.start), b = at(e.end);
    parts.push(document.createTextNode(text.slice(pos, a)));
    const mark = document.createElement("mark");
    mark.title = e.label + " " + e.score.toFixed(2);
    mark.dataset.label = e.label;   // its colours: the head's CSS (the model's labels)
    mark.appendChild(document.createTextNode(text.slice(a, b)));
    const lab = document.createElement("span");
    lab.className = "l";
    lab.textContent = e.label;
    mark.appendChild(lab);
    parts.push(mark);
    pos = b;
  }
  parts.push(document.createTextNode(text.slice(pos)));
  out.replaceChildren(...parts);
}

function showJson(answer) {
  if (jsonUrl) URL.revokeObjectURL(jsonUrl);
  const blob = new Blob([JSON.stringify(answer, null, 2)], { type: "application/json" });
  jsonUrl = URL.createObjectURL(blob);
  jsonLink.href = jsonUrl;
  jsonLink.hidden = false;
}

box.addEventListener("input", schedule);
decoder.addEventListener("change", tag);
if (box.value) tag();
