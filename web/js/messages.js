// The conversation: message elements, sending (the message on screen at once, and after a
// failure what the server kept of it), following and stopping a reply, re-attaching to a reply
// still being written, editing, regenerating, continuing a reply cut short, and switching
// branches.

import { api, openStream } from "./api.js";
import { attachmentList, takeAttachments } from "./attachments.js";
import { showContextMarker } from "./context-meter.js";
import { fallbackArrived, showFallback } from "./fallbacks.js";
import { returnText, setBusy } from "./composer.js";
import { liveText } from "./live-text.js";
import { modelName, selectedModel, showModel } from "./models.js";
import { optionsUsed, optionsForRequest } from "./parameters.js";
import { answerLabel, appendPlan, planWritten, showPlan, startPlan } from "./plan.js";
import { ensureSession } from "./session.js";
import { $, EVENTS, emit, notify, state } from "./state.js";
import { statsParts, statsTitle } from "./stats.js";
import { readEvents } from "./stream.js";
import { answerStarted, showThinking, thinkingDelta, thinkForRequest } from "./thinking.js";
import { showTools, toolApproval, toolCall, toolResult } from "./tools.js";

const PAGE = 50;
const FAILED = ["stopped", "error", "interrupted"];
const RETRY_TICK_MS = 250;
const known = new Map(); // message id -> message object, for edit, copy and versions
let hasOlder = false;
let loadingOlder = false;
let followBottom = true; // auto-scroll only while the reader is at the bottom
let sends = 0; // messages sent from this page, so a chat that opens late does not hide one

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
  if (message.role === "assistant") {
    showThinking(article, message);
    showContextMarker(article, message);
    showTools(article, message);
    showFallback(article, message);
  }
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
    const used = optionsUsed(message.meta && message.meta.options);
    if (used) meta.append(used);
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
    if (continuable(message)) {
      actions.append(button("Continue", "continue-reply", () => continueReply(article),
        "Continue this reply"));
    }
  }
  meta.append(actions);
}

// A reply cut short (by its length, Stop, an error or a crash) can be continued in place.
function continuable(message) {
  return FAILED.includes(message.status) ||
    (message.status === "complete" && message.usage?.finish_reason === "length");
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

// --- the reply being sent or followed ------------------------------------------------------
//
// From the moment Send is pressed until the reply ends, state.streaming holds it, so Stop (and
// Esc) always has something to act on. The server names the reply (the `start` event) only once
// the model's first words arrive; a Stop pressed before that finds the reply by asking for the
// chat's latest messages, which the server saves before it waits for the model.

const STOP_RETRY_MS = 50;

function articleFor(message) {
  return $("messages").querySelector(`article[data-id="${CSS.escape(message.id)}"]`);
}

/**
 * The reply the page now waits for. `isOurs(user, reply)` tells it among the chat's saved
 * messages (for a Stop pressed before the server names it).
 */
function begin({ messageId = null, sessionId = null, isOurs = () => false } = {}) {
  const reply = {
    messageId, // the assistant message, once known
    sessionId,
    isOurs,
    controller: new AbortController(),
    sent: false, // the request has gone out
    started: false, // the `start` event arrived
    stopping: false, // Stop was pressed
    ended: false,
    unwatch: () => {}, // ends the loading line (see watchLoading)
  };
  state.streaming = reply;
  setBusy(true);
  return reply;
}

function free(reply) {
  reply.unwatch();
  if (state.streaming !== reply) return;
  state.streaming = null;
  setBusy(false);
}

function release(reply) {
  // The reply has ended: the composer is free at once, before the stream closes.
  reply.ended = true;
  free(reply);
}

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A built-in model loads on the reply's first use (a large one may take a minute): until the
// reply's first words, a line says so, with the seconds gone, while the engine says it loads
// this model. The seconds are counted here, from Send: the server's clock may differ.
const LOCAL_MODEL = "local/";
const LOADING_TICK_MS = 1000;

function watchLoading(reply, modelId) {
  if (!modelId || !modelId.startsWith(LOCAL_MODEL)) return;
  const name = modelId.slice(LOCAL_MODEL.length);
  const model = state.models.find((m) => m.id === modelId);
  const sentAt = performance.now();
  const line = document.createElement("p");
  line.className = "engine-loading";
  line.setAttribute("role", "status");
  const seconds = document.createElement("span");
  seconds.setAttribute("aria-hidden", "true"); // read once, not every second
  line.append(`Loading ${model ? modelName(model) : name}… `, seconds);
  let watching = true;
  let asking = false;
  const tick = async () => {
    seconds.textContent = `${Math.floor((performance.now() - sentAt) / 1000)} s`;
    if (asking) return;
    asking = true;
    const engine = await api("GET", "/api/local/engine").catch(() => null);
    asking = false;
    if (!watching) return;
    if (engine && engine.state === "loading" && engine.model === name) {
      if (!line.isConnected) {
        $("messages").append(line);
        scrollToEnd();
      }
    } else {
      line.remove();
    }
  };
  const timer = setInterval(tick, LOADING_TICK_MS);
  tick();
  reply.unwatch = () => {
    watching = false;
    clearInterval(timer);
    line.remove();
  };
}

// The reply among the chat's latest messages, before `start` names it.
async function lookUp(reply) {
  const path = `/api/sessions/${reply.sessionId}/messages?limit=2`;
  const found = await api("GET", path).then(({ messages }) => messages, () => []);
  const [user, answer] = found.length === 2 ? found : [null, null];
  if (!reply.messageId && answer && answer.role === "assistant" &&
      answer.status === "streaming" && answer.parent_id === user.id &&
      reply.isOurs(user, answer)) {
    reply.messageId = answer.id;
  }
}

export async function stopStreaming() {
  const reply = state.streaming;
  if (!reply || reply.stopping) return;
  reply.stopping = true;
  $("stop").disabled = true; // pressed: it may take a moment, while the reply is not named yet
  // Asked again until the server has taken it: the reply may not be named yet, or saved but
  // not yet running (the server then answers with it still streaming).
  for (;;) {
    if (!reply.messageId && reply.sent && reply.sessionId) await lookUp(reply);
    if (reply.ended) return;
    if (reply.messageId) {
      const { message } = await api("POST", `/api/messages/${reply.messageId}/stop`);
      if (message.status !== "streaming") return;
    }
    await pause(STOP_RETRY_MS);
  }
}

// Before the model's first words the server may wait and ask again (it is busy, or not
// answering): a line counts the wait down, with Cancel, which stops the reply like Stop.
function showRetry(article, { seconds, reason }) {
  clearRetry(article);
  const line = document.createElement("p");
  line.className = "retry-line";
  line.setAttribute("role", "status");
  const count = document.createElement("span");
  count.className = "retry-count";
  const why = document.createElement("span");
  why.className = "retry-reason";
  why.textContent = reason;
  const cancel = button("Cancel", "retry-cancel", () => emit(EVENTS.replyStop),
    "Cancel the reply");
  line.append(count, " ", why, " ", cancel);
  const until = performance.now() + seconds * 1000;
  const tick = () => {
    if (!line.isConnected) { // the chat was left meanwhile
      clearInterval(Number(line.dataset.timer));
      return;
    }
    const left = Math.ceil((until - performance.now()) / 1000);
    count.textContent = left > 0 ? `Retrying in ${left} s…` : "Retrying now…";
  };
  tick();
  line.dataset.timer = String(setInterval(tick, RETRY_TICK_MS));
  article.querySelector(".body").after(line);
}

function clearRetry(article) {
  const line = article && article.querySelector(".retry-line");
  if (!line) return;
  clearInterval(Number(line.dataset.timer));
  line.remove();
}

async function follow(response, reply, article) {
  let current = article;
  let text = current && liveText(current);
  await readEvents(response, (type, data) => {
    if (type !== "start" && type !== "retry" && type !== "render") clearRetry(current);
    if (type === "start") {
      reply.started = true;
      reply.unwatch();
      reply.messageId = data.assistant_message.id;
      if (!current) {
        const shown = $("messages").querySelector("article.message.sending");
        const user = articleFor(data.user_message) || messageElement(data.user_message);
        if (shown) shown.replaceWith(user);
        else if (!user.isConnected) $("messages").append(user);
        current = messageElement(data.assistant_message);
        $("messages").append(current);
        text = liveText(current);
        emit(EVENTS.conversationFilled);
        // A chat's first message names it on the server: show the name now, not at the end.
        if (data.user_message.parent_id === null) emit(EVENTS.sessionsChanged);
      }
      if (data.plan) startPlan(current, data.plan);
      scrollToEnd(true);
    } else if (type === "retry") {
      showRetry(current, data);
      scrollToEnd();
    } else if (type === "fallback") {
      fallbackArrived(current, data);
      // The reply now comes from the next model: its line says so while it streams.
      const message = known.get(current.dataset.id);
      if (message) {
        message.model = data.to;
        renderMeta(current);
      }
      scrollToEnd();
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
    } else if (type === "tool_call") {
      toolCall(current, data);
      scrollToEnd();
    } else if (type === "tool_approval") {
      toolApproval(current, data);
      scrollToEnd();
    } else if (type === "tool_result") {
      toolResult(current, data);
      scrollToEnd();
    } else if (type === "done") {
      if (data.message) showFinal(current, data.message);
      release(reply);
      scrollToEnd();
    } else if (type === "error") {
      showError(current, data.message);
      release(reply);
    }
  });
}

/**
 * Send the request `opener` makes and show the reply. A failure before the reply started is
 * thrown, the reply still held, for the caller to show what the server kept and then release
 * it; a later one is a notice.
 */
async function run(reply, opener, article = null) {
  let finished = false;
  let early = false;
  try {
    reply.sent = true;
    const response = await opener(reply.controller.signal);
    if (state.streaming !== reply) {
      // Another chat was opened meanwhile: the reply goes on there, this page moved on.
      response.body.cancel().catch(() => {});
      return;
    }
    await follow(response, reply, article);
    finished = true;
  } catch (error) {
    if (error.name === "AbortError") return;
    early = !reply.started;
    if (early) throw error;
    notify(error.message);
  } finally {
    // Free the composer the moment the reply ends: the updates below must not delay a send.
    if (!early) release(reply);
    emit(EVENTS.sessionsChanged);
  }
  if (finished) await refreshVersions().catch((error) => notify(error.message));
}

/**
 * After a request failed before its reply started: show what the server kept of it (the
 * message and its failed reply, when the model failed), reloaded from the chat. True when it
 * kept something new; else the caller gives the message back.
 */
async function showWhatWasKept(reply, before) {
  const sessionId = reply.sessionId;
  if (!sessionId) return false;
  let messages;
  let more;
  try {
    ({ messages, has_more: more } = await api(
      "GET", `/api/sessions/${sessionId}/messages?limit=${PAGE}`));
  } catch {
    return false;
  }
  const open = state.current && state.current.id === sessionId && state.streaming === reply;
  if (open) showMessages(messages, more);
  return messages.some((message) => !before.has(message.id));
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

// The message as typed, on screen from the moment it is sent until the server's copy replaces it.
function showSending(text) {
  const article = document.createElement("article");
  article.className = "message user sending";
  const body = document.createElement("div");
  body.className = "body";
  const blocks = document.createElement("div");
  blocks.className = "blocks";
  const paragraph = document.createElement("p");
  paragraph.className = "user-text";
  paragraph.textContent = text;
  blocks.append(paragraph);
  const meta = document.createElement("footer");
  meta.className = "meta";
  body.append(blocks);
  article.append(body, meta);
  $("messages").append(article);
  scrollToEnd(true);
  return article;
}

export async function sendMessage(text, parentId, attachmentIds) {
  if (state.streaming) return;
  sends += 1;
  const before = new Set(known.keys());
  const reply = begin({ isOurs: (user) => user.content === text && !before.has(user.id) });
  const shown = showSending(text);
  const think = thinkForRequest(); // a new chat's Think setting, before the chat exists
  const options = optionsForRequest(); // and its parameters
  let taken = null;
  try {
    const session = await ensureSession();
    reply.sessionId = session.id;
    const body = { message: text, model: selectedModel(), ...think, ...options };
    watchLoading(reply, body.model);
    if (parentId !== undefined) body.parent_id = parentId;
    if (attachmentIds === undefined) {
      taken = await takeAttachments();
      Object.assign(body, taken.fields);
    } else if (attachmentIds.length) {
      body.attachments = attachmentIds;
    }
    await run(reply, (signal) =>
      openStream("POST", `/api/sessions/${session.id}/chat/stream`, body, signal));
    if (taken) taken.sent();
  } catch (error) {
    const kept = await showWhatWasKept(reply, before);
    release(reply);
    if (kept) {
      if (taken) taken.sent();
      return;
    }
    // Nothing was kept: the message goes back where it was written.
    shown.remove();
    if (!$("messages").querySelector("article.message")) emit(EVENTS.conversationEmpty);
    returnText(text, reply.sessionId);
    if (taken) taken.giveBack();
    notify(error.message);
  }
}

async function regenerate(article) {
  if (state.streaming) return;
  const id = article.dataset.id;
  const parentId = known.get(id)?.parent_id;
  const before = new Set(known.keys());
  const reply = begin({
    sessionId: state.current.id,
    isOurs: (user, answer) => user.id === parentId && !before.has(answer.id),
  });
  removeFrom(article);
  const body = { model: selectedModel() };
  watchLoading(reply, body.model);
  try {
    await run(reply, (signal) =>
      openStream("POST", `/api/messages/${id}/regenerate`, body, signal));
  } catch (error) {
    const kept = await showWhatWasKept(reply, before);
    release(reply);
    if (!kept) notify(error.message);
  }
}

// More text streamed into the same reply: the article grows in place (the server's first
// render shows the text so far, then the new text follows), and Stop works as for any reply.
async function continueReply(article) {
  if (state.streaming) return;
  const id = article.dataset.id;
  const reply = begin({ messageId: id, sessionId: state.current.id });
  known.set(id, { ...known.get(id), status: "streaming", error: null });
  article.dataset.status = "streaming";
  renderMeta(article);
  try {
    await run(reply, (signal) =>
      openStream("POST", `/api/messages/${id}/continue`, undefined, signal), article);
  } catch (error) {
    // Refused or failed before it started: the reply shows what the server kept of it.
    const kept = await api("GET", `/api/messages/${id}`).catch(() => null);
    if (kept) showFinal(article, kept);
    release(reply);
    notify(error.message);
  }
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
    if (!text.trim() || state.streaming) return;
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
  const reply = state.streaming;
  if (!reply) return;
  // A reply already asked for goes on on the server; this page just stops following it.
  if (reply.sent) reply.controller.abort();
  free(reply);
}

function showMessages(messages, more) {
  known.clear();
  const box = $("messages");
  box.replaceChildren(...messages.map(messageElement));
  hasOlder = more;
  scrollToEnd(true);
  emit(messages.length ? EVENTS.conversationFilled : EVENTS.conversationEmpty);
}

let opens = 0; // counts chats asked for: only the last one asked for is shown
let opening = false;

export async function openSession(sessionId) {
  if (!opening && state.current && state.current.id === sessionId) {
    // Picking the chat already on screen leaves it as it is: the place read, a reply followed.
    emit(EVENTS.sessionOpened, state.current);
    return;
  }
  const ticket = ++opens;
  opening = true;
  detach();
  const sendsBefore = sends;
  let session, messages, more;
  try {
    session = await api("GET", `/api/sessions/${sessionId}`);
    ({ messages, has_more: more } = await api(
      "GET", `/api/sessions/${sessionId}/messages?limit=${PAGE}`));
  } finally {
    if (ticket === opens) opening = false;
  }
  // A chat picked later, or a message sent while this one was loading, wins the screen.
  if (ticket !== opens || sends !== sendsBefore) return;
  state.current = session;
  showModel(state.current.model);
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
    const reply = begin({ messageId: last.id, sessionId });
    reply.started = true; // the page shows it already: a failure now is only a notice
    await run(reply, (signal) => openStream("GET", path, undefined, signal), article);
  }
}

export function newConversation() {
  opens += 1; // a chat still loading stays off the screen
  opening = false;
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
  $("stop").addEventListener("click", () => emit(EVENTS.replyStop));
}
