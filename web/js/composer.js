// The composer: Enter sends, Shift+Enter adds a line; emits EVENTS.messageSend with the text.
// It keeps a draft per chat (saved to the chat, or to localStorage for a new chat), grows with
// its content, and refuses a message over the server's limit with a sentence saying so.

import { api, sendWhileLeaving } from "./api.js";
import { hasAttachments, readyToSend } from "./attachments.js";
import { $, EVENTS, emit, on, state } from "./state.js";

const NEW = ""; // the draft owner of a new chat that is not saved yet
const NEW_DRAFT_KEY = "openchat.draft.new";
const SAVE_DELAY_MS = 500;
const DRAFT_LIMIT = 1_000_000; // the longest draft the API stores; a longer one stays on the page
const MEASURE_LIMIT = 50_000; // above this, the JS fallback skips measuring and uses the max height

let maxChars = Infinity; // limits.max_message_chars, read once from the settings
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

// ---- who the box belongs to ----
//
// The box shows one owner's draft: a chat (its id) or NEW. Which one, and what happens to the
// text when a chat opens, is this machine; every change of owner goes through `transition`.
//
//   STARTING        the page's first chat has not opened yet; the box shows the new-chat draft
//     typed   -> STARTING_TYPED
//     sent    -> ADOPTING (when no chat is open)
//     opened  -> OWNED by that chat, showing its draft
//   STARTING_TYPED  as STARTING, and something was typed: it belongs to the chat that opens
//     opened  -> OWNED by that chat, keeping the box; the new-chat draft stays as it was
//   ADOPTING        a new chat's message is on its way: the chat it creates takes the box
//     opened  -> OWNED by that chat, keeping the box (emptied by the send)
//     returned (the send failed before any chat existed) -> OWNED by NEW again
//   OWNED           the box shows `owner`'s draft
//     sent    -> ADOPTING (when the owner is NEW and no chat is open)
//     opened  -> OWNED by that chat, showing its draft (unless it is the owner already)
//   any state:  opening (a chat is picked) -> OWNED, the draft saved;  new -> OWNED by NEW

const Phase = Object.freeze({
  STARTING: "starting",
  STARTING_TYPED: "starting-typed",
  ADOPTING: "adopting",
  OWNED: "owned",
});

let phase = Phase.STARTING;
let owner = NEW; // the chat whose draft the box shows: a session id, or NEW
let newDraftAtStart = ""; // the new-chat draft as the page found it

function switchTo(key, text) {
  flush();
  owner = key;
  show(text);
}

function adopt(session) {
  // What is in the box belongs to this chat: a new chat just saved by sending from it, or
  // text typed before the page's first chat opened.
  flush();
  owner = session.id;
  drafts.set(owner, input().value);
  if (input().value) scheduleSave();
}

function transition(event, session = null) {
  switch (event) {
    case "typed":
      if (phase === Phase.STARTING) phase = Phase.STARTING_TYPED;
      return;
    case "sent":
      if (owner === NEW && !state.current && phase !== Phase.STARTING_TYPED) {
        phase = Phase.ADOPTING;
      }
      return;
    case "returned":
      if (phase === Phase.ADOPTING) phase = Phase.OWNED;
      return;
    case "opening":
      phase = Phase.OWNED;
      flush();
      return;
    case "opened":
      if (phase === Phase.STARTING_TYPED) {
        drafts.set(NEW, newDraftAtStart);
        save(NEW);
        adopt(session);
      } else if (phase === Phase.ADOPTING) {
        adopt(session);
      } else if (session.id !== owner) {
        switchTo(session.id, drafts.has(session.id) ? drafts.get(session.id) : session.draft || "");
      }
      phase = Phase.OWNED;
      return;
    case "new":
      phase = Phase.OWNED;
      if (owner !== NEW) switchTo(NEW, drafts.has(NEW) ? drafts.get(NEW) : readNewDraft());
      return;
    default:
      throw new Error(`unknown composer event ${event}`);
  }
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
    transition("sent");
    save(owner);
    refresh(true);
    emit(EVENTS.messageSend, text);
  });
  box.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      if (!over) $("composer").requestSubmit();
    }
  });
  box.addEventListener("input", () => {
    transition("typed");
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
      sendWhileLeaving("PATCH", `/api/sessions/${owner}`, { draft: text });
    }
  });

  on(EVENTS.sessionOpen, () => transition("opening"));
  on(EVENTS.sessionOpened, (session) => session && transition("opened", session));
  on(EVENTS.sessionNew, () => transition("new"));

  newDraftAtStart = readNewDraft();
  show(newDraftAtStart);
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

/**
 * A message that could not be sent (nothing of it was kept) goes back to the draft of the chat
 * it was written in (NEW: the chat was never made), before anything typed there since.
 */
export function returnText(text, chatId = NEW) {
  const key = chatId || NEW;
  if (key === NEW) transition("returned");
  flush();
  const listed = state.sessions.find((s) => s.id === key);
  const since = key === owner ? input().value
    : drafts.has(key) ? drafts.get(key) : key === NEW ? readNewDraft() : listed?.draft || "";
  const draft = since ? `${text}\n${since}` : text;
  drafts.set(key, draft);
  if (key === owner) show(draft);
  save(key);
}

export function setBusy(busy) {
  $("send").hidden = busy;
  $("stop").hidden = !busy;
  $("stop").disabled = false;
}
