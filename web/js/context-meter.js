// The context meter by the composer: how much of the model's window the chat and the text
// being typed take ("1.2k / 4k tokens"), a warning when the next message will cut or summarize
// older messages, and a popover to choose what happens to them (the chat's context policy).
// Also the marker a reply carries when history was cut or summarized for it.

import { api } from "./api.js";
import { selectedModel } from "./models.js";
import { updateSession } from "./session.js";
import { $, EVENTS, notify, on, state } from "./state.js";

const TYPING_DELAY_MS = 300;
const MODES = [
  ["", "As in Settings"],
  ["drop", "Leave out the oldest messages"],
  ["summarize", "Summarize the oldest messages"],
];

let timer = 0;
let asked = 0; // the latest request: an older answer arriving late is ignored
const summaries = new Map(); // "<session>/<message>" -> summary text

/** 1234 -> "1.2k", 32768 -> "33k", 950 -> "950". */
export function tokenCount(value) {
  if (value < 1000) return String(value);
  const thousands = value / 1000;
  return `${thousands < 10 ? thousands.toFixed(1).replace(/\.0$/, "") : Math.round(thousands)}k`;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// --- the meter -------------------------------------------------------------------------------

function show(meter) {
  const button = $("context-meter");
  const { window: size, used, reply_room: room } = meter;
  const cuts = Boolean(size) && used + room > size;
  button.hidden = false;
  button.classList.toggle("warn", cuts);
  $("context-meter-text").textContent = size
    ? `${tokenCount(used)} / ${tokenCount(size)} tokens`
    : `${tokenCount(used)} tokens`;
  const policy = (state.current && state.current.context_policy) || null;
  const summarizing = (policy ? policy.mode : meter.policy.mode) === "summarize";
  const warning = cuts
    ? (summarizing
      ? "The next message will summarize older messages to fit the model's window."
      : "The next message will leave out older messages to fit the model's window.")
    : "";
  $("context-warning").textContent = warning;
  $("context-warning").hidden = !cuts;
  const about = size
    ? `About ${used.toLocaleString("en-US")} of the model's ${size.toLocaleString("en-US")} ` +
      `tokens, ${room.toLocaleString("en-US")} kept for the reply.`
    : `About ${used.toLocaleString("en-US")} tokens; the model does not say how many it reads.`;
  $("context-about").textContent = about;
  button.title = warning ? `${about} ${warning}` : about;
  button.setAttribute("aria-label", `Context: ${$("context-meter-text").textContent}` +
    (cuts ? ", history will be cut" : ""));
}

async function measure() {
  clearTimeout(timer);
  timer = 0;
  const session = state.current;
  if (!session) {
    $("context-meter").hidden = true;
    return;
  }
  const number = ++asked;
  const query = new URLSearchParams({ chars: String($("message-input").value.length) });
  const model = selectedModel();
  if (model) query.set("model", model);
  try {
    const meter = await api("GET", `/api/sessions/${session.id}/context?${query}`);
    if (number === asked && state.current && state.current.id === session.id) show(meter);
  } catch {
    // no model or its provider is away: the meter waits for the next change
    if (number === asked) $("context-meter").hidden = true;
  }
}

function later() {
  clearTimeout(timer);
  timer = setTimeout(measure, TYPING_DELAY_MS);
}

// --- the popover: the chat's policy --------------------------------------------------------

function fillPolicy() {
  const policy = (state.current && state.current.context_policy) || null;
  const mode = policy ? policy.mode : "";
  for (const radio of document.querySelectorAll('input[name="context-mode"]')) {
    radio.checked = radio.value === mode;
  }
  const select = $("context-summary-model");
  select.replaceChildren(new Option("The chat's model", ""));
  for (const model of state.models) select.append(new Option(model.id, model.id));
  select.value = (policy && policy.model) || "";
  $("context-summary-row").hidden = mode !== "summarize";
}

async function savePolicy() {
  const checked = document.querySelector('input[name="context-mode"]:checked');
  const mode = checked ? checked.value : "";
  $("context-summary-row").hidden = mode !== "summarize";
  const model = $("context-summary-model").value || null;
  try {
    await updateSession({ context_policy: mode ? { mode, model } : null });
  } catch (error) {
    notify(error.message);
  }
  measure();
}

function openPopover(open) {
  const popover = $("context-popover");
  popover.hidden = !open;
  $("context-meter").setAttribute("aria-expanded", String(open));
  if (open) {
    fillPolicy();
    const first = popover.querySelector('input[name="context-mode"]:checked') ||
      popover.querySelector('input[name="context-mode"]');
    first.focus();
  }
}

function build() {
  const holder = element("div", "context-meter-holder");
  const button = element("button", "context-meter");
  button.type = "button";
  button.id = "context-meter";
  button.hidden = true;
  button.setAttribute("aria-haspopup", "dialog");
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("aria-controls", "context-popover");
  const text = element("span", "", "");
  text.id = "context-meter-text";
  button.append(text);

  const popover = element("div", "context-popover");
  popover.id = "context-popover";
  popover.hidden = true;
  popover.setAttribute("role", "dialog");
  popover.setAttribute("aria-label", "Context window");
  const about = element("p", "context-about");
  about.id = "context-about";
  const warning = element("p", "context-warning");
  warning.id = "context-warning";
  warning.hidden = true;
  const group = element("fieldset", "context-modes");
  group.append(element("legend", "", "When the chat no longer fits"));
  for (const [value, label] of MODES) {
    const row = element("label", "context-mode");
    const radio = document.createElement("input");
    radio.type = "radio";
    radio.name = "context-mode";
    radio.value = value;
    radio.addEventListener("change", savePolicy);
    row.append(radio, document.createTextNode(` ${label}`));
    group.append(row);
  }
  const summaryRow = element("label", "context-summary-row");
  summaryRow.id = "context-summary-row";
  summaryRow.append(document.createTextNode("Summaries written by "));
  const select = document.createElement("select");
  select.id = "context-summary-model";
  select.addEventListener("change", savePolicy);
  summaryRow.append(select);
  group.append(summaryRow);
  popover.append(about, warning, group);
  holder.append(button, popover);
  return holder;
}

// --- the marker of a reply -----------------------------------------------------------------

async function summaryText(sessionId, messageId) {
  const key = `${sessionId}/${messageId}`;
  if (!summaries.has(key)) {
    const summary = await api("GET", `/api/sessions/${sessionId}/summaries/${messageId}`);
    summaries.set(key, summary.content);
  }
  return summaries.get(key);
}

function markerText(context) {
  const dropped = context.dropped_messages || 0;
  const summarized = context.summarized_messages || 0;
  const count = (n) => `${n} message${n === 1 ? "" : "s"}`;
  const parts = [];
  if (summarized) {
    parts.push(`Older messages were summarized to fit the model's window (${count(summarized)})`);
  }
  if (dropped) {
    parts.push(`${summarized ? "More" : "Older"} messages were left out to fit the model's ` +
      `window (${count(dropped)})`);
  }
  return parts.join("; ");
}

/** Show above a reply where history was cut or summarized for it (from `meta.context`). */
export function showContextMarker(article, message) {
  const old = article.querySelector(":scope > .context-marker");
  const context = message.meta && message.meta.context;
  const text = context ? markerText(context) : "";
  if (!text) {
    if (old) old.remove();
    return;
  }
  if (old && old.dataset.text === text) return;
  let marker;
  if (context.summary_until) {
    marker = element("details", "context-marker summarized");
    const summary = element("summary", "", text);
    const body = element("p", "context-summary", "…");
    marker.append(summary, body);
    const load = () => {
      if (marker.dataset.loaded) return;
      marker.dataset.loaded = "1";
      summaryText(message.session_id, context.summary_until)
        .then((content) => {
          body.textContent = content;
          summary.title = content;
        })
        .catch((error) => {
          body.textContent = error.message;
          delete marker.dataset.loaded;
        });
    };
    marker.addEventListener("toggle", () => marker.open && load());
    summary.addEventListener("mouseenter", load);
  } else {
    marker = element("p", "context-marker dropped", text);
  }
  if (context.summary_error) {
    marker.append(element("span", "context-summary-error", ` ${context.summary_error}`));
  }
  marker.dataset.text = text;
  if (old) old.replaceWith(marker);
  else article.prepend(marker);
}

// --- wiring ----------------------------------------------------------------------------------

export function initContextMeter() {
  const composer = $("composer");
  composer.append(build());
  $("context-meter").addEventListener("click", () => openPopover($("context-popover").hidden));
  $("context-popover").addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    event.stopPropagation();
    openPopover(false);
    $("context-meter").focus();
  });
  document.addEventListener("click", (event) => {
    if (!$("context-popover").hidden && !event.target.closest(".context-meter-holder")) {
      openPopover(false);
    }
  });
  $("message-input").addEventListener("input", later);
  $("model-select").addEventListener("change", later);
  on(EVENTS.sessionOpened, measure);
  on(EVENTS.sessionChanged, later);
  on(EVENTS.sessionsChanged, later); // after each reply, among others
  on(EVENTS.sessionNew, () => {
    $("context-meter").hidden = true;
    openPopover(false);
  });
  on(EVENTS.modelsLoaded, later);
}
