// Fallback models: the note under a reply another model answered ("Answered by … — … could not
// answer: …"), shown as soon as the `fallback` event arrives and again from the reply's
// meta.fallback after a reload; and the "Fallbacks" panel beside the composer, where the
// chat's own list is edited (saved at once, PATCH fallbacks), put back to the settings' list
// (null), or saved as the settings' list for the model in every chat ([fallbacks]).

import { api } from "./api.js";
import { h, keepingFocus, modalPanel, panelDialog } from "./dialogs.js";
import { modelGroups, selectedModel } from "./models.js";
import { $, EVENTS, notify, on, state } from "./state.js";

const live = new WeakMap(); // a reply's article -> its fallbacks so far, while it streams

/** The note's sentence for a reply's `meta.fallback`, or "". */
export function fallbackText(fallback) {
  const failures = (fallback && fallback.failures) || [];
  if (!failures.length) return "";
  const failed = failures.map((f) => `${f.model} could not answer: ${f.reason}`).join(" ");
  return fallback.answered ? `Answered by ${fallback.answered} — ${failed}` : failed;
}

function showNote(article, fallback) {
  article.querySelector(".fallback-note")?.remove();
  const text = fallbackText(fallback);
  if (!text) return;
  const note = h("p", { className: "fallback-note", role: "status" }, text);
  article.querySelector(".body").after(note);
}

/** A reply as saved: its note, if another model answered it. */
export function showFallback(article, message) {
  live.delete(article);
  showNote(article, message.meta && message.meta.fallback);
}

/** A `fallback` event of the reply being written: the note changes at once. */
export function fallbackArrived(article, { from, to, reason }) {
  const fallback = live.get(article) || { asked: from, failures: [] };
  fallback.failures.push({ model: from, reason });
  fallback.answered = to;
  live.set(article, fallback);
  showNote(article, fallback);
}

// --- the panel -----------------------------------------------------------------------------

let dialog = null;
let panel = null;
let settingsLists = {}; // the settings' [fallbacks], by model id

function build() {
  dialog = panelDialog("fallbacks", "Fallback models",
      h("p", { id: "fallbacks-hint", className: "hint" }),
      h("ol", { id: "fallbacks-list", className: "fallbacks-list", "aria-label": "Fallback models" }),
      h("label", { className: "fallbacks-add" }, "Add ",
        h("select", { id: "fallbacks-add", "aria-label": "Add a fallback model" })),
      h("div", { className: "actions" },
        h("button", { type: "button", id: "fallbacks-settings-list" }, "Use the settings' list"),
        h("button", { type: "button", id: "fallbacks-every-chat" }, "Save for every chat")),
      h("p", { id: "fallbacks-status", className: "hint", role: "status" }));
  panel = modalPanel(dialog, { closeButton: $("fallbacks-close"),
                               fallback: () => $("message-input") });
  $("fallbacks-add").addEventListener("change", (event) => {
    const id = event.target.value;
    if (id) saveForChat([...shownList(), id]);
  });
  $("fallbacks-settings-list").addEventListener("click", () => saveForChat(null));
  $("fallbacks-every-chat").addEventListener("click", () => saveForEveryChat());
}

function model() {
  return selectedModel() || (state.current && state.current.model) || state.defaultModel;
}

/** The chat's own list when it has one, else the settings' for its model. */
function shownList() {
  const own = state.current && state.current.fallbacks;
  return own ? [...own] : [...(settingsLists[model()] || [])];
}

function render() {
  const chat = state.current;
  const own = chat && chat.fallbacks;
  const list = shownList();
  $("fallbacks-hint").textContent = !chat
    ? "Send a first message, then choose this chat's fallbacks; or save a list for every chat."
    : `When ${model()} cannot answer before its first word, these models are asked in turn` +
      (own ? " (this chat's own list)." : " (the settings' list).");
  $("fallbacks-list").replaceChildren(...list.map((id, index) => h("li", {},
    h("span", { className: "fallback-model" }, id), " ",
    h("button", { type: "button", className: "fallback-remove", "aria-label": `Remove ${id}`,
                  onclick: () => saveForChat(list.filter((_, at) => at !== index)) },
      "Remove"))));
  if (!list.length) $("fallbacks-list").append(h("li", { className: "hint" }, "None."));
  const add = $("fallbacks-add");
  add.replaceChildren(h("option", { value: "" }, "a model…"), ...modelGroups());
  for (const option of add.querySelectorAll("option")) {
    if (option.value === model() || list.includes(option.value)) option.disabled = true;
  }
  add.value = "";
  add.disabled = !chat;
  $("fallbacks-settings-list").disabled = !chat || !own;
}

async function saveForChat(list) {
  const chat = state.current;
  if (!chat) return;
  $("fallbacks-status").textContent = "Saving…";
  try {
    const saved = await api("PATCH", `/api/sessions/${chat.id}`, { fallbacks: list });
    if (state.current && state.current.id === chat.id) state.current = saved;
    $("fallbacks-status").textContent = "Saved for this chat.";
  } catch (error) {
    $("fallbacks-status").textContent = `Not saved: ${error.message}`;
  }
  keepingFocus(dialog, render);
}

async function saveForEveryChat() {
  const id = model();
  if (!id) return;
  const lists = { ...settingsLists, [id]: shownList() };
  if (!lists[id].length) delete lists[id];
  $("fallbacks-status").textContent = "Saving…";
  try {
    await api("PATCH", "/api/settings", { fallbacks: lists });
    settingsLists = lists;
    $("fallbacks-status").textContent = `Saved in Settings as ${id}'s fallbacks.`;
  } catch (error) {
    $("fallbacks-status").textContent = `Not saved: ${error.message}`;
  }
  keepingFocus(dialog, render);
}

async function open() {
  if (!dialog) build();
  $("fallbacks-status").textContent = "";
  try {
    settingsLists = (await api("GET", "/api/settings")).settings.fallbacks || {};
  } catch (error) {
    notify(error.message);
  }
  render();
  panel.show();
}

export function initFallbacks() {
  const button = h("button", { type: "button", id: "open-fallbacks", className: "open-tools",
                               "aria-haspopup": "dialog",
                               title: "The models that answer when this chat's model cannot" },
    "Fallbacks");
  button.addEventListener("click", () => open());
  $("open-tools").after(button);
  on(EVENTS.sessionChanged, () => dialog && dialog.open && keepingFocus(dialog, render));
}
