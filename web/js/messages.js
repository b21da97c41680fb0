// The conversation: message elements, applying streamed render updates, sending, stopping and
// re-attaching to a reply that is still being written.

import { api, openStream } from "./api.js";
import { setBusy } from "./composer.js";
import { selectedModel, showModel } from "./models.js";
import { $, emit, notify, state } from "./state.js";
import { readEvents } from "./stream.js";

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
  article.append(body, meta);
  showFinal(article, message);
  return article;
}

function showFinal(article, message) {
  const blocks = article.querySelector(".blocks");
  blocks.innerHTML = message.html || "";
  delete blocks.dataset.mode;
  article.querySelector(".tail").replaceChildren();
  const meta = article.querySelector(".meta");
  meta.replaceChildren();
  article.dataset.status = message.status;
  if (message.role !== "assistant") return;
  const parts = [];
  if (message.model) parts.push(message.model);
  const speed = message.usage && message.usage.tokens_per_second;
  if (speed) parts.push(`${speed.toFixed(1)} tokens/s`);
  if (parts.length) {
    const info = document.createElement("span");
    info.textContent = parts.join(" · ");
    meta.append(info);
  }
  if (["stopped", "error", "interrupted"].includes(message.status)) {
    const badge = document.createElement("span");
    badge.className = `badge ${message.status}`;
    badge.textContent = message.error ? `${message.status}: ${message.error.message}` : message.status;
    meta.append(badge);
  }
}

function applyRender(article, update) {
  const blocks = article.querySelector(".blocks");
  if (blocks.dataset.mode !== "blocks") {
    blocks.replaceChildren();
    blocks.dataset.mode = "blocks";
  }
  // Blocks from `start` on are replaced by the update's blocks (usually: appended).
  while (blocks.children.length > update.start) blocks.lastElementChild.remove();
  for (const html of update.blocks) {
    const block = document.createElement("div");
    block.className = "md-block";
    block.innerHTML = html;
    blocks.append(block);
  }
  article.querySelector(".tail").innerHTML = update.tail;
}

function appendText(article, text) {
  const tail = article.querySelector(".tail");
  let pending = tail.querySelector(".pending");
  if (!pending) {
    pending = document.createElement("span");
    pending.className = "pending";
    const last = tail.lastElementChild;
    (last && /^(P|LI|H[1-6])$/.test(last.tagName) ? last : tail).append(pending);
  }
  pending.append(text);
}

function scrollToEnd(force = false) {
  const box = $("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  if (force || atBottom) box.scrollTop = box.scrollHeight;
}

function showError(article, text) {
  article.dataset.status = "error";
  const badge = document.createElement("span");
  badge.className = "badge error";
  badge.textContent = text;
  article.querySelector(".meta").append(badge);
}

async function follow(response, article) {
  let current = article;
  await readEvents(response, (type, data) => {
    if (type === "start") {
      if (!current) {
        $("messages").append(messageElement(data.user_message));
        current = messageElement(data.assistant_message);
        $("messages").append(current);
      }
      state.streaming.messageId = data.assistant_message.id;
      scrollToEnd(true);
    } else if (type === "delta") {
      appendText(current, data.text);
      scrollToEnd();
    } else if (type === "render") {
      applyRender(current, data);
      scrollToEnd();
    } else if (type === "done") {
      if (data.message) showFinal(current, data.message);
    } else if (type === "error") {
      showError(current, data.message);
    }
  });
}

async function run(opener, article = null) {
  const controller = new AbortController();
  state.streaming = { messageId: article ? article.dataset.id : null, controller };
  setBusy(true);
  try {
    const response = await opener(controller.signal);
    await follow(response, article);
  } catch (error) {
    if (error.name !== "AbortError") notify(error.message);
  } finally {
    if (state.streaming && state.streaming.controller === controller) state.streaming = null;
    setBusy(false);
    emit("sessions:changed");
  }
}

export async function sendMessage(text) {
  if (!state.current) {
    state.current = await api("POST", "/api/sessions", {});
    emit("sessions:changed");
  }
  const session = state.current;
  const body = { message: text, model: selectedModel() };
  await run((signal) => openStream("POST", `/api/sessions/${session.id}/chat/stream`, body, signal));
}

export async function stopStreaming() {
  const streaming = state.streaming;
  if (!streaming || !streaming.messageId) return;
  await api("POST", `/api/messages/${streaming.messageId}/stop`);
}

function detach() {
  if (state.streaming) state.streaming.controller.abort();
  state.streaming = null;
}

export async function openSession(sessionId) {
  detach();
  state.current = await api("GET", `/api/sessions/${sessionId}`);
  $("chat-title").textContent = state.current.title;
  showModel(state.current.model);
  const { messages } = await api("GET", `/api/sessions/${sessionId}/messages?limit=50`);
  const box = $("messages");
  box.replaceChildren(...messages.map(messageElement));
  scrollToEnd(true);
  emit("sessions:changed");
  const last = messages[messages.length - 1];
  if (last && last.status === "streaming") {
    // Rebuild the live reply from its compact replay: the text so far, one render snapshot,
    // then the rest as it streams.
    const article = box.lastElementChild;
    article.querySelector(".blocks").replaceChildren();
    article.querySelector(".tail").replaceChildren();
    const path = `/api/messages/${last.id}/events?after=0`;
    await run((signal) => openStream("GET", path, undefined, signal), article);
  }
}

export function newConversation() {
  detach();
  state.current = null;
  $("chat-title").textContent = "New chat";
  $("messages").replaceChildren();
  emit("sessions:changed");
}

export function initMessages() {
  $("messages").addEventListener("click", (event) => {
    const button = event.target.closest(".copy-code");
    if (!button) return;
    const code = button.closest(".code-block").querySelector("pre code");
    navigator.clipboard.writeText(code.textContent).then(
      () => {
        button.textContent = "Copied";
        setTimeout(() => (button.textContent = "Copy"), 1500);
      },
      () => notify("Copying needs clipboard permission."),
    );
  });
  $("stop").addEventListener("click", stopStreaming);
}
