// The composer: Enter sends, Shift+Enter adds a line; emits "message:send" with the text.
// It keeps a draft per chat (saved to the chat, or to localStorage for a new chat), grows with
// its content, and refuses a message over the server's limit with a sentence saying so.

import { api } from "./api.js";
import { hasAttachments, readyToSend } from "./attachments.js";
import { $, emit, on, state } from "./state.js";

const NEW = ""; // the draft owner of a new chat that is not saved yet
const NEW_DRAFT_KEY = "openchat.draft.new";
const SAVE_DELAY_MS = 500;
const DRAFT_LIMIT = 1_000_000; // the longest draft the API stores; a longer one stays on the page
const MEASURE_LIMIT = 50_000; // above this, the JS fallback skips measuring and uses the max height

let maxChars = Infinity; // limits.max_message_chars, read once from the settings
let owner = NEW; // the chat whose draft the box shows: a session id, or NEW
let adoptNext = false; // a new chat's message is being sent: the chat it creates owns the box
// Until the page has opened its first chat the box shows the new-chat draft; what is typed
// meanwhile belongs to the chat that opens (if one does).
let starting = true;
let typedWhileStarting = false;
let startingNewDraft = "";
const drafts = new Map(); // owner -> text typed on this page (newer than the server's copy)
let saveTimer = 0;
let saving = Promise.resolve(); // draft saves go one at a time, so they arrive in order
let frame = 0;
let over = false;
let commandHook = null; // slash.js: takes a line starting with "/" instead of sending it
const fieldSizing = typeof CSS !== "undefined" && CSS.supports("field-sizing", "content");

function input() {
  return $("message-input");
}

// ---- drafts ----

function readNewDraft() {
  try {
    return localStorage.getItem(NEW_DRAFT_KEY) || "";
  } catch {
    return "";
  }
}

function save(key) {
  clearTimeout(saveTimer);
  saveTimer = 0;
  if (!drafts.has(key)) return;
  const text = drafts.get(key);
  if (key === NEW) {
    try {
      if (text) localStorage.setItem(NEW_DRAFT_KEY, text);
      else localStorage.removeItem(NEW_DRAFT_KEY);
    } catch {
      // storage full or disabled: the draft stays on this page only
    }
    return;
  }
  if (text.length > DRAFT_LIMIT) return;
  const session = state.sessions.find((s) => s.id === key);
  if (session) session.draft = text;
  // A chat deleted meanwhile answers 404: nothing to keep then.
  const body = { draft: text };
  saving = saving.then(() => api("PATCH", `/api/sessions/${key}`, body)).catch(() => {});
}

function scheduleSave() {
  clearTimeout(saveTimer);
  const key = owner;
  saveTimer = setTimeout(() => save(key), SAVE_DELAY_MS);
}

function flush() {
  if (saveTimer) save(owner);
}

function show(text) {
  const box = input();
  if (box.value !== text) box.value = text;
  refresh(true);
}

function onOpened(session) {
  if (!session) return;
  if (starting && typedWhileStarting) {
    starting = false;
    drafts.set(NEW, startingNewDraft); // the new-chat draft stays as it was
    save(NEW);
    adoptNext = true;
  }
  starting = false;
  if (adoptNext) {
    // What is in the box belongs to this chat: a new chat just saved by sending from it, or
    // text typed before the page's first chat opened.
    adoptNext = false;
    flush();
    owner = session.id;
    drafts.set(owner, input().value);
    if (input().value) scheduleSave();
    return;
  }
  if (session.id === owner) return;
  flush();
  owner = session.id;
  show(drafts.has(owner) ? drafts.get(owner) : session.draft || "");
}

function onNew() {
  adoptNext = false;
  starting = false;
  if (owner === NEW) return;
  flush();
  owner = NEW;
  show(drafts.has(NEW) ? drafts.get(NEW) : readNewDraft());
}

// ---- size and limit ----

function grow() {
  if (fieldSizing) return; // CSS sizes the box to its content
  const box = input();
  const max = Math.round(window.innerHeight * 0.4);
  if (box.value.length > MEASURE_LIMIT) {
    box.style.height = `${max}px`;
    return;
  }
  box.style.height = "auto";
  box.style.height = `${Math.min(box.scrollHeight + 2, max)}px`;
}

function checkLimit() {
  const length = input().value.length;
  const nowOver = length > maxChars;
  const alert = $("composer-limit");
  if (nowOver) {
    const count = length.toLocaleString("en-US");
    const limit = maxChars.toLocaleString("en-US");
    const text =
      `This message is ${count} characters; the limit is ${limit}. ` +
      "Shorten it or attach it as a file.";
    if (alert.textContent !== text) alert.textContent = text;
  }
  if (nowOver === over) return;
  over = nowOver;
  alert.hidden = !over;
  if (!over) alert.textContent = "";
  $("send").disabled = over;
  $("composer").classList.toggle("over-limit", over);
  if (over) input().setAttribute("aria-describedby", "composer-limit");
  else input().removeAttribute("aria-describedby");
}

// Layout and counting run at most once a frame, however fast the text changes.
function refresh(now = false) {
  if (now) {
    cancelAnimationFrame(frame);
    frame = 0;
    grow();
    checkLimit();
    return;
  }
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    grow();
    checkLimit();
  });
}

async function loadLimit() {
  try {
    const { settings } = await api("GET", "/api/settings");
    const limit = settings && settings.limits && settings.limits.max_message_chars;
    if (Number.isFinite(limit) && limit > 0) maxChars = limit;
  } catch {
    // without the settings the server still refuses an over-long message with its sentence
  }
  refresh(true);
}

// ---- wiring ----

export function initComposer() {
  const box = input();
  const alert = document.createElement("p");
  alert.id = "composer-limit";
  alert.className = "composer-limit";
  alert.setAttribute("role", "alert");
  alert.hidden = true;
  $("composer").append(alert);

  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = box.value;
    if (commandHook && commandHook(text)) return;
    if ((!text.trim() && !hasAttachments()) || state.streaming) return;
    if (text.length > maxChars) {
      refresh(true);
      return;
    }
    if (!readyToSend()) return; // images for a model without vision: the warning asks first
    clearTimeout(saveTimer);
    saveTimer = 0;
    box.value = "";
    drafts.set(owner, "");
    if (owner === NEW) {
      adoptNext = !state.current;
      save(NEW);
    } else {
      save(owner);
    }
    refresh(true);
    emit("message:send", text);
  });
  box.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      if (!over) $("composer").requestSubmit();
    }
  });
  box.addEventListener("input", () => {
    if (starting) typedWhileStarting = true;
    drafts.set(owner, box.value);
    scheduleSave();
    refresh();
  });
  window.addEventListener("resize", () => refresh());
  // Leaving the page: keep what was typed (a new chat's draft is stored at once; a chat's
  // draft goes with the request if it fits in a keepalive request).
  window.addEventListener("pagehide", () => {
    if (!saveTimer) return;
    clearTimeout(saveTimer);
    saveTimer = 0;
    if (owner === NEW) {
      save(NEW);
      return;
    }
    const text = drafts.get(owner) || "";
    if (text.length < 20_000) {
      fetch(`/api/sessions/${owner}`, {
        method: "PATCH",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ draft: text }),
        keepalive: true,
      });
    }
  });

  on("session:open", () => {
    adoptNext = false;
    starting = false;
    flush();
  });
  on("session:opened", onOpened);
  on("session:new", onNew);

  startingNewDraft = readNewDraft();
  show(startingNewDraft);
  loadLimit();
}

/** `hook(text)` sees every line before it is sent; returning true keeps it from the model. */
export function onCommand(hook) {
  commandHook = hook;
}

/** Put `text` in the box as if typed; `sent`: the box was used up, save its draft now. */
export function replaceText(text, { sent = false } = {}) {
  input().value = text;
  drafts.set(owner, text);
  if (sent) save(owner);
  else scheduleSave();
  refresh(true);
}

export function focusComposer() {
  input().focus();
}

export function setBusy(busy) {
  $("send").hidden = busy;
  $("stop").hidden = !busy;
}
