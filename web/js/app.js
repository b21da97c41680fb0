// The chat page: sidebar of chats, the conversation, the composer. State lives in `state`.

import { api, openStream } from "./api.js";
import { readEvents } from "./stream.js";

const $ = (id) => document.getElementById(id);

const state = {
  sessions: [],
  current: null, // session object
  models: [],
  streaming: null, // { messageId, controller }
};

// --- messages -------------------------------------------------------------------------------

function messageElement(message) {
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
  if (update.start === 0 && blocks.dataset.mode !== "blocks") {
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
  const tail = article.querySelector(".tail");
  tail.innerHTML = update.tail;
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

// --- streaming ------------------------------------------------------------------------------

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
      current.dataset.status = "error";
      const badge = document.createElement("span");
      badge.className = "badge error";
      badge.textContent = data.message;
      current.querySelector(".meta").append(badge);
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
    state.streaming = null;
    setBusy(false);
    refreshSessions();
  }
}

function setBusy(busy) {
  $("send").hidden = busy;
  $("stop").hidden = !busy;
}

async function send(text) {
  if (!state.current) {
    state.current = await api("POST", "/api/sessions", {});
  }
  const session = state.current;
  const model = $("model-select").value || undefined;
  await run((signal) =>
    openStream("POST", `/api/sessions/${session.id}/chat/stream`, { message: text, model }, signal),
  );
}

async function stop() {
  const streaming = state.streaming;
  if (!streaming || !streaming.messageId) return;
  await api("POST", `/api/messages/${streaming.messageId}/stop`);
}

// --- sessions and models --------------------------------------------------------------------

function notify(text) {
  const box = $("notice");
  box.textContent = text || "";
  box.hidden = !text;
}

async function refreshSessions() {
  const { sessions } = await api("GET", "/api/sessions");
  state.sessions = sessions;
  const list = $("chat-list");
  list.replaceChildren(
    ...sessions.map((session) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = session.title;
      if (state.current && state.current.id === session.id) button.setAttribute("aria-current", "page");
      button.addEventListener("click", () => openSession(session.id));
      item.append(button);
      return item;
    }),
  );
}

async function openSession(sessionId) {
  if (state.streaming) state.streaming.controller.abort();
  state.current = await api("GET", `/api/sessions/${sessionId}`);
  $("chat-title").textContent = state.current.title;
  if (state.current.model) $("model-select").value = state.current.model;
  const { messages } = await api("GET", `/api/sessions/${sessionId}/messages?limit=50`);
  const box = $("messages");
  box.replaceChildren(...messages.map(messageElement));
  scrollToEnd(true);
  refreshSessions();
  const last = messages[messages.length - 1];
  if (last && last.status === "streaming") {
    // Rebuild the live reply from its compact replay: the text so far, one render snapshot,
    // then the rest as it streams.
    const article = box.lastElementChild;
    article.querySelector(".blocks").replaceChildren();
    article.querySelector(".tail").replaceChildren();
    await run(
      (signal) => openStream("GET", `/api/messages/${last.id}/events?after=0`, undefined, signal),
      article,
    );
  }
}

async function loadModels() {
  const { models, providers, default_model: fallback } = await api("GET", "/api/models");
  state.models = models;
  const select = $("model-select");
  const groups = providers.map((provider) => {
    const group = document.createElement("optgroup");
    group.label = provider.status === "ok" ? provider.id : `${provider.id} (${provider.status})`;
    for (const model of models.filter((m) => m.provider === provider.id)) {
      const option = document.createElement("option");
      option.value = model.id;
      option.textContent = model.name;
      group.append(option);
    }
    return group;
  });
  select.replaceChildren(...groups);
  if (fallback) select.value = fallback;
  const down = providers.filter((p) => p.status !== "ok");
  if (!models.length && down.length) notify(down.map((p) => p.message).join(" "));
}

function newChat() {
  if (state.streaming) state.streaming.controller.abort();
  state.current = null;
  $("chat-title").textContent = "New chat";
  $("messages").replaceChildren();
  refreshSessions();
  $("message-input").focus();
}

function init() {
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("message-input");
    const text = input.value;
    if (!text.trim() || state.streaming) return;
    input.value = "";
    send(text);
  });
  $("message-input").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && state.streaming) stop();
  });
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
  $("stop").addEventListener("click", stop);
  $("new-chat").addEventListener("click", newChat);
  loadModels().catch((error) => notify(error.message));
  refreshSessions()
    .then(() => (state.sessions.length ? openSession(state.sessions[0].id) : null))
    .catch((error) => notify(error.message));
}

init();
