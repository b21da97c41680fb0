// The conversation: message elements, applying streamed render updates, sending, stopping,
// re-attaching to a reply still being written, editing, regenerating and switching branches.

import { api, openStream } from "./api.js";
import { attachmentList, takeAttachments } from "./attachments.js";
import { setBusy } from "./composer.js";
import { liveText } from "./live-text.js";
import { selectedModel, showModel } from "./models.js";
import { answerLabel, appendPlan, planWritten, showPlan, startPlan } from "./plan.js";
import { $, EVENTS, emit, notify, state } from "./state.js";
import { statsParts, statsTitle } from "./stats.js";
import { readEvents } from "./stream.js";
import { answerStarted, showThinking, thinkingDelta, thinkForRequest } from "./thinking.js";

const PAGE = 50;
const FAILED = ["stopped", "error", "interrupted"];
const known = new Map(); // message id -> message object, for edit, copy and versions
let hasOlder = false;
let loadingOlder = false;
let followBottom = true; // auto-scroll only while the reader is at the bottom

// --- elements ------------------------------------------------------------------------------

function button(label, className, onClick, name = label) {
  const element = document.createElement("button");
  element.type = "button";
  element.className = className;
  element.textContent = label;
  element.setAttribute("aria-label", name);
  element.addEventListener("click", onClick);
  return element;
}

export function messageElement(message) {
  const article = document.createElement("article");
  article.className = `message ${message.role}`;
  article.dataset.id = message.id;
  const body = document.createElement("div");
  body.className = "body";
  const blocks = document.createElement("div");
  blocks.className = "blocks";
  const tail = document.createElement("div");
  tail.className = "tail";
  body.append(blocks, tail);
  const meta = document.createElement("footer");
  meta.className = "meta";
  if (message.attachments && message.attachments.length) article.append(attachmentList(message));
  article.append(body, meta);
  showFinal(article, message);
  return article;
}

function showFinal(article, message) {
  known.set(message.id, { ...known.get(message.id), ...message });
  const blocks = article.querySelector(".blocks");
  blocks.innerHTML = message.html || "";
  delete blocks.dataset.mode;
  article.querySelector(".tail").replaceChildren();
  article.dataset.status = message.status;
  showPlan(article, message);
  if (message.role === "assistant") showThinking(article, message);
  renderMeta(article);
}

function renderMeta(article) {
  const message = known.get(article.dataset.id);
  const meta = article.querySelector(".meta");
  meta.replaceChildren();
  if (!message) return;
  const versions = message.sibling_ids || [];
  if (versions.length > 1) meta.append(switcher(message, versions));
  if (message.role === "assistant") {
    const parts = [];
    const answer = answerLabel(message);
    if (answer) parts.push(answer);
    else if (message.model) parts.push(message.model);
    parts.push(...statsParts(message.usage));
    if (parts.length) {
      const info = document.createElement("span");
      info.className = "info";
      info.textContent = parts.join(" · ");
      info.title = statsTitle(message.usage);
      meta.append(info);
    }
    if (FAILED.includes(message.status)) {
      const badge = document.createElement("span");
      badge.className = `badge ${message.status}`;
      badge.textContent = message.error ? `${message.status}: ${message.error.message}` : message.status;
      meta.append(badge);
    }
  }
  if (message.status === "streaming") return;
  const actions = document.createElement("span");
  actions.className = "actions";
  actions.append(button("Copy", "copy-message", () => copy(message.content), "Copy message"));
  if (message.role === "user") {
    actions.append(button("Edit", "edit-message", () => startEdit(article), "Edit message"));
  } else {
    const label = FAILED.includes(message.status) ? "Retry" : "Regenerate";
    actions.append(button(label, "regenerate", () => regenerate(article), label));
  }
  meta.append(actions);
}

function switcher(message, versions) {
  const index = versions.indexOf(message.id);
  const box = document.createElement("span");
  box.className = "versions";
  const previous = button("‹", "version-prev", () => selectVersion(versions[index - 1]),
    "Previous version");
  previous.disabled = index <= 0;
  const label = document.createElement("span");
  label.textContent = `${index + 1}/${versions.length}`;
  const next = button("›", "version-next", () => selectVersion(versions[index + 1]),
    "Next version");
  next.disabled = index >= versions.length - 1;
  box.append(previous, label, next);
  return box;
}

function showError(article, text) {
  const message = known.get(article.dataset.id) || { id: article.dataset.id, role: "assistant" };
  known.set(message.id, { ...message, status: "error", error: { message: text } });
  article.dataset.status = "error";
  renderMeta(article);
}

// --- scrolling -----------------------------------------------------------------------------

function atBottom() {
  const box = $("messages");
  return box.scrollHeight - box.scrollTop - box.clientHeight < 80;
}

let scrollQueued = false;

function scrollToEnd(force = false) {
  // At most one layout read per frame: reading scrollHeight after every token would force a
  // reflow per token and block the main thread on long replies.
  if (force) followBottom = true;
  if (scrollQueued) return;
  scrollQueued = true;
  requestAnimationFrame(() => {
    scrollQueued = false;
    const box = $("messages");
    if (followBottom) box.scrollTop = box.scrollHeight;
    $("jump-latest").hidden = followBottom;
  });
}

async function loadOlder() {
  const first = $("messages").querySelector("article.message");
  if (!hasOlder || loadingOlder || !state.current || !first) return;
  loadingOlder = true;
  try {
    const path = `/api/sessions/${state.current.id}/messages?limit=${PAGE}&before=${first.dataset.id}`;
    const { messages, has_more: more } = await api("GET", path);
    const box = $("messages");
    const height = box.scrollHeight;
    box.prepend(...messages.map(messageElement));
    box.scrollTop += box.scrollHeight - height; // keep what the reader was looking at in place
    hasOlder = more;
  } finally {
    loadingOlder = false;
  }
}

// --- streaming -----------------------------------------------------------------------------

function articleFor(message) {
  return $("messages").querySelector(`article[data-id="${CSS.escape(message.id)}"]`);
}

function release() {
  // The reply has ended: the composer is free at once, before the stream closes.
  state.streaming = null;
  setBusy(false);
}

async function follow(response, article) {
  let current = article;
  let text = current && liveText(current);
  await readEvents(response, (type, data) => {
    if (type === "start") {
      if (!current) {
        if (!articleFor(data.user_message)) $("messages").append(messageElement(data.user_message));
        current = messageElement(data.assistant_message);
        $("messages").append(current);
        text = liveText(current);
        emit(EVENTS.conversationFilled);
        // A chat's first message names it on the server: show the name now, not at the end.
        if (data.user_message.parent_id === null) emit(EVENTS.sessionsChanged);
      }
      state.streaming.messageId = data.assistant_message.id;
      if (data.plan) startPlan(current, data.plan);
      scrollToEnd(true);
    } else if (type === "plan") {
      appendPlan(current, data.text);
      scrollToEnd();
    } else if (type === "reasoning") {
      thinkingDelta(current, data.text);
      scrollToEnd();
    } else if (type === "delta") {
      planWritten(current);
      answerStarted(current);
      text.append(data.text);
      scrollToEnd();
    } else if (type === "render") {
      answerStarted(current);
      text.render(data);
      scrollToEnd();
    } else if (type === "done") {
      if (data.message) showFinal(current, data.message);
      release();
      scrollToEnd();
    } else if (type === "error") {
      showError(current, data.message);
      release();
    }
  });
}

async function run(opener, article = null) {
  const controller = new AbortController();
  state.streaming = { messageId: article ? article.dataset.id : null, controller };
  setBusy(true);
  let finished = false;
  try {
    const response = await opener(controller.signal);
    await follow(response, article);
    finished = true;
  } catch (error) {
    if (error.name !== "AbortError") notify(error.message);
  } finally {
    // Free the composer the moment the reply ends: the updates below must not delay a send.
    if (state.streaming && state.streaming.controller === controller) release();
    emit(EVENTS.sessionsChanged);
  }
  if (finished) await refreshVersions().catch((error) => notify(error.message));
}

async function refreshVersions() {
  // A send, edit or regenerate adds versions: update the ‹ n/m › switchers shown.
  if (!state.current) return;
  const count = $("messages").querySelectorAll("article.message").length;
  const path = `/api/sessions/${state.current.id}/messages?limit=${Math.max(count, 1)}`;
  const { messages } = await api("GET", path);
  for (const message of messages) {
    const article = articleFor(message);
    if (article && message.status !== "streaming") {
      known.set(message.id, { ...known.get(message.id), ...message });
      renderMeta(article);
    }
  }
}

function removeFrom(article) {
  while (article.nextElementSibling) article.nextElementSibling.remove();
  article.remove();
}

export async function sendMessage(text, parentId, attachmentIds) {
  const think = thinkForRequest(); // a new chat's Think setting, before the chat exists
  if (!state.current) {
    state.current = await api("POST", "/api/sessions", {});
    emit(EVENTS.sessionOpened, state.current);
    emit(EVENTS.sessionsChanged);
  }
  const session = state.current;
  const body = { message: text, model: selectedModel(), ...think };
  if (parentId !== undefined) body.parent_id = parentId;
  if (attachmentIds === undefined) Object.assign(body, await takeAttachments());
  else if (attachmentIds.length) body.attachments = attachmentIds;
  await run((signal) => openStream("POST", `/api/sessions/${session.id}/chat/stream`, body, signal));
}

export async function stopStreaming() {
  const streaming = state.streaming;
  if (!streaming || !streaming.messageId) return;
  await api("POST", `/api/messages/${streaming.messageId}/stop`);
}

async function regenerate(article) {
  if (state.streaming) return;
  const id = article.dataset.id;
  removeFrom(article);
  const body = { model: selectedModel() };
  await run((signal) => openStream("POST", `/api/messages/${id}/regenerate`, body, signal));
}

function startEdit(article) {
  if (state.streaming || article.querySelector(".edit-box")) return;
  const message = known.get(article.dataset.id);
  const form = document.createElement("form");
  form.className = "edit-box";
  const input = document.createElement("textarea");
  input.value = message.content;
  input.setAttribute("aria-label", "Edit message");
  const save = document.createElement("button");
  save.type = "submit";
  save.className = "primary";
  save.textContent = "Save and send";
  const cancel = button("Cancel", "", () => form.remove());
  form.append(input, save, cancel);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    removeFrom(article); // the old version stays on the server, reachable with ‹ ›
    const files = (message.attachments || []).map((file) => file.id);
    sendMessage(text, message.parent_id, files).catch((error) => notify(error.message));
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.stopPropagation();
      form.remove();
    } else if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  article.querySelector(".body").after(form);
  input.focus();
}

async function selectVersion(messageId) {
  if (state.streaming || !messageId) return;
  const { messages, has_more: more } = await api("POST", `/api/messages/${messageId}/select?limit=${PAGE}`);
  showMessages(messages, more);
}

async function copy(text) {
  try {
    await navigator.clipboard.writeText(text || "");
  } catch {
    notify("Copying needs clipboard permission.");
  }
}

export async function copyLastCode() {
  const blocks = $("messages").querySelectorAll(".code-block pre code");
  if (blocks.length) await copy(blocks[blocks.length - 1].textContent);
}

// --- opening chats -------------------------------------------------------------------------

function detach() {
  if (state.streaming) state.streaming.controller.abort();
  state.streaming = null;
}

function showMessages(messages, more) {
  known.clear();
  const box = $("messages");
  box.replaceChildren(...messages.map(messageElement));
  hasOlder = more;
  scrollToEnd(true);
  emit(messages.length ? EVENTS.conversationFilled : EVENTS.conversationEmpty);
}

export async function openSession(sessionId) {
  detach();
  state.current = await api("GET", `/api/sessions/${sessionId}`);
  showModel(state.current.model);
  const { messages, has_more: more } = await api(
    "GET", `/api/sessions/${sessionId}/messages?limit=${PAGE}`);
  showMessages(messages, more);
  emit(EVENTS.sessionOpened, state.current);
  emit(EVENTS.sessionsChanged);
  const last = messages[messages.length - 1];
  if (last && last.status === "streaming") {
    // Rebuild the live reply from its compact replay: the text so far, one render snapshot,
    // then the rest as it streams.
    const article = $("messages").lastElementChild;
    article.querySelector(".blocks").replaceChildren();
    article.querySelector(".tail").replaceChildren();
    article.querySelector("details.thinking")?.remove();
    const path = `/api/messages/${last.id}/events?after=0`;
    await run((signal) => openStream("GET", path, undefined, signal), article);
  }
}

export function newConversation() {
  detach();
  state.current = null;
  known.clear();
  hasOlder = false;
  $("messages").replaceChildren();
  $("jump-latest").hidden = true;
  emit(EVENTS.conversationEmpty);
  emit(EVENTS.sessionsChanged);
}

export function initMessages() {
  const box = $("messages");
  box.addEventListener("click", (event) => {
    const copyButton = event.target.closest(".copy-code");
    if (!copyButton) return;
    const code = copyButton.closest(".code-block").querySelector("pre code");
    copy(code.textContent).then(() => {
      copyButton.textContent = "Copied";
      setTimeout(() => (copyButton.textContent = "Copy"), 1500);
    });
  });
  box.addEventListener("scroll", () => {
    followBottom = atBottom();
    $("jump-latest").hidden = followBottom;
    if (box.scrollTop < 200) loadOlder().catch((error) => notify(error.message));
  }, { passive: true });
  $("jump-latest").addEventListener("click", () => scrollToEnd(true));
  $("stop").addEventListener("click", stopStreaming);
}
