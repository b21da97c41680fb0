// The model's thinking. In a reply: a collapsible "Thinking" block that streams live, folds
// away when the answer starts, and stays with the saved reply (folded, with how long it took).
// In the header: the chat's Think control, shown only for models that can think — on/off, or
// a level for models that take levels — kept per chat (PATCH think).

import { api } from "./api.js";
import { selectedModel } from "./models.js";
import { $, EVENTS, notify, on, state } from "./state.js";
import { duration } from "./stats.js";

// --- the block in a reply ------------------------------------------------------------------

const started = new WeakMap(); // thinking block -> when its first piece arrived (ms)

function words(text) {
  const count = (text.match(/\S+/g) || []).length;
  return `${count.toLocaleString("en-US")} word${count === 1 ? "" : "s"}`;
}

function block(article, create) {
  let details = article.querySelector(":scope > details.thinking");
  if (!details && create) {
    details = document.createElement("details");
    details.className = "thinking";
    const summary = document.createElement("summary");
    const label = document.createElement("span");
    label.className = "thinking-label";
    const info = document.createElement("span");
    info.className = "thinking-info";
    summary.append(label, info);
    const text = document.createElement("div");
    text.className = "thinking-text";
    details.append(summary, text);
    article.querySelector(".body").before(details);
  }
  return details;
}

function label(details, text, info = "") {
  details.querySelector(".thinking-label").textContent = text;
  details.querySelector(".thinking-info").textContent = info;
}

/** A piece of reasoning arrived: show it live, open. */
export function thinkingDelta(article, text) {
  const details = block(article, true);
  if (details.dataset.state !== "live") {
    details.dataset.state = "live";
    details.open = true;
    started.set(details, performance.now());
    label(details, "Thinking…");
  }
  details.querySelector(".thinking-text").append(text);
}

/** The answer began: the thinking folds away, saying how long it took. */
export function answerStarted(article) {
  const details = block(article, false);
  if (!details || details.dataset.state !== "live") return;
  details.dataset.state = "done";
  details.open = false;
  const since = started.get(details);
  const text = details.querySelector(".thinking-text").textContent;
  label(details, since === undefined ? "Thought" : `Thought for ${duration(performance.now() - since)}`,
    words(text));
}

/** A saved (or just finished) reply: its whole reasoning, folded unless opened by hand. */
export function showThinking(article, message) {
  const reasoning = message.reasoning || "";
  if (message.status === "streaming") return; // the live events build it
  const details = block(article, Boolean(reasoning));
  if (!details) return;
  if (!reasoning) {
    details.remove();
    return;
  }
  if (details.dataset.state === "live") details.open = false;
  details.dataset.state = "done";
  const text = details.querySelector(".thinking-text");
  if (text.textContent !== reasoning) text.textContent = reasoning;
  const ms = message.usage && message.usage.thinking_ms;
  label(details, ms ? `Thought for ${duration(ms)}` : "Thinking", words(reasoning));
}

// --- the Think control in the header -------------------------------------------------------

let pending = null; // a new chat's setting, until the chat exists
const LEVEL_NAMES = { low: "Low", medium: "Medium", high: "High" };

function currentModel() {
  const id = selectedModel();
  return state.models.find((m) => m.id === id) || null;
}

// A chat's Think setting changed in the page whose PATCH has not answered yet, by chat id.
const unsaved = new Map();

function setting() {
  return state.current ? state.current.think ?? null : pending;
}

function render() {
  const model = currentModel();
  const box = $("think-control");
  const thinks = Boolean(model && model.capabilities.includes("thinking"));
  box.hidden = !thinks;
  if (!thinks) return;
  const levels = model.think_levels || [];
  const toggle = $("think-toggle");
  const select = $("think-level");
  toggle.hidden = levels.length > 0;
  select.hidden = levels.length === 0;
  const value = setting();
  if (levels.length) {
    select.replaceChildren(
      new Option("Thinking: default", ""),
      ...levels.map((level) => new Option(`Thinking: ${LEVEL_NAMES[level] || level}`, level)),
    );
    select.value = typeof value === "string" && levels.includes(value) ? value : "";
  } else {
    const on = value !== false;
    toggle.setAttribute("aria-pressed", String(on));
    toggle.title = value === null
      ? "The model thinks before answering (its default). Click to turn thinking off."
      : on ? "Thinking is on for this chat. Click to turn it off."
        : "Thinking is off for this chat. Click to turn it on.";
  }
}

async function change(value) {
  if (!state.current) {
    pending = value;
    render();
    return;
  }
  const id = state.current.id;
  state.current = { ...state.current, think: value };
  unsaved.set(id, value);
  render();
  try {
    const saved = await api("PATCH", `/api/sessions/${id}`, { think: value });
    if (state.current && state.current.id === id) state.current = saved;
  } catch (error) {
    notify(error.message);
  }
  if (unsaved.get(id) === value) unsaved.delete(id);
  render();
}

/** What a chat request adds: a new chat's setting, or an existing chat's while its change is
 * still on its way to the server (a person may press Send right after choosing). */
export function thinkForRequest() {
  if (!state.current) return pending !== null ? { think: pending } : {};
  return unsaved.has(state.current.id) ? { think: unsaved.get(state.current.id) } : {};
}

export function initThinking() {
  $("think-toggle").addEventListener("click", () => change(setting() === false));
  $("think-level").addEventListener("change", (event) => change(event.target.value || null));
  $("model-select").addEventListener("change", render);
  on(EVENTS.modelsLoaded, render);
  on(EVENTS.sessionOpened, (session) => {
    // A new chat was just created by sending: it keeps the setting chosen before it existed.
    if (pending !== null && session && session.think === null) {
      const value = pending;
      pending = null;
      change(value);
    }
    render();
  });
  on(EVENTS.sessionNew, () => {
    pending = null;
    render();
  });
  render();
}
