// What an empty conversation shows: on first run (no model ready but the starter) the built-in
// engine first (chat now with the starter model, or download a better one), then how to start
// Ollama or add an endpoint; otherwise a welcome with the models ready to answer and a few
// prompts. Shown inside #messages while it holds no message; EVENTS.conversationEmpty and
// EVENTS.conversationFilled (from the messages module) and a watch on #messages keep it in step.

import { api } from "./api.js";
import { h } from "./dialogs.js";
import { openModels } from "./models-panel.js";
import { loadModels, modelLabel, modelName, modelNote, showModel, statusText } from "./models.js";
import { $, EVENTS, emit, notify, on, state } from "./state.js";

const LOCAL = "local"; // the built-in engine's provider id

const PROMPTS = [
  "Explain how a hash map works, with a small example",
  "Write a Python function that checks whether a word is a palindrome",
  "Give me a 3-day plan to learn the basics of SQL",
  "Summarize the pros and cons of remote work in a table",
];

let modelsKnown = false; // nothing is shown before the first model list: no first-run flash
let recommended; // the catalog entry this machine suits (null: none), once asked

function button(text, onClick, props = {}) {
  const element = h("button", { type: "button", ...props }, text);
  element.addEventListener("click", onClick);
  return element;
}

function answering() {
  return state.providers.filter((p) => p.status === "ok");
}

// Only an answering provider's models are ready: one that is down still lists the models its
// settings name, and a chat with them would fail.
function readyModels() {
  const ids = new Set(answering().map((p) => p.id));
  return state.models.filter((model) => ids.has(model.provider));
}

const isStarter = (model) => Boolean(model.details && model.details.starter);

function nothingAnswers() {
  return answering().length === 0;
}

// The starter model always answers, but it is a tiny one: while it is the only model ready,
// this is still a first run, and the page offers a better model beside it.
function firstRun() {
  return nothingAnswers() || (builtIn() && readyModels().every(isStarter));
}

function starter() {
  return readyModels().find(isStarter);
}

// The built-in engine can be offered: set up and answering (a download makes it useful even
// without the starter model).
function builtIn() {
  return answering().some((p) => p.id === LOCAL);
}

function approximately(bytes) {
  return bytes >= 1e9 ? `≈${(bytes / 1e9).toFixed(1)} GB` : `≈${Math.round(bytes / 1e6)} MB`;
}

function downloadText() {
  const better = starter() ? "a better model" : "a model";
  return recommended ? `Download ${better} (${approximately(recommended.size)})` : `Download ${better}`;
}

function downloadWhy() {
  return recommended ? `${recommended.name} suits this computer's memory.` : "";
}

// The catalog's choice for this machine, asked once: the button names its size.
function askCatalog() {
  if (recommended !== undefined) return;
  recommended = null;
  api("GET", "/api/local/catalog").then(({ recommended: id, models }) => {
    recommended = models.find((entry) => entry.id === id) || null;
    const download = $("welcome-download");
    if (download) download.textContent = downloadText();
    const why = $("welcome-download-why");
    if (why) why.textContent = downloadWhy();
  }, () => {}); // without the catalog the button still opens the Models panel
}

function chatWithStarter(model) {
  showModel(model.id);
  $("model-select").dispatchEvent(new Event("change"));
  $("message-input").focus();
}

function builtInSection() {
  const model = starter();
  askCatalog();
  return h("section", { className: "option built-in" },
    h("h3", {}, "Chat on this computer with the built-in engine"),
    h("p", {}, "No account, no network: the model runs here."),
    model ? h("div", { className: "offer" },
      button("Chat now with the starter model", () => chatWithStarter(model),
             { className: "primary", id: "welcome-starter" }),
      h("p", { className: "hint" }, `${modelName(model)}: ${modelNote(model)}.`)) : null,
    h("div", { className: "offer" },
      button(downloadText(), () => openModels().catch((error) => notify(error.message)),
             { className: model ? "" : "primary", id: "welcome-download" }),
      h("p", { className: "hint", id: "welcome-download-why" }, downloadWhy())));
}

function command(text) {
  return h("pre", { className: "command" }, h("code", {}, text));
}

function firstRunPanel() {
  const down = state.providers.filter((p) => p.status !== "ok").map((p) =>
    h("li", {}, h("strong", {}, p.id), ` — ${statusText(p)}${p.message ? `: ${p.message}` : ""}`),
  );
  const link = h("a", { href: "https://ollama.com/download", target: "_blank",
                        rel: "noopener noreferrer" }, "ollama.com");
  const local = builtIn();
  return h(
    "div",
    { id: "welcome", className: "welcome first-run" },
    h("h2", {}, local ? "Start chatting" : "Connect a model to start chatting"),
    h("p", { className: "lead" }, local
      ? "OpenChat runs models on your computer with its built-in engine, or talks to a model " +
        "server."
      : "OpenChat runs on your computer and talks to a model server. None is answering yet."),
    local ? builtInSection() : null,
    local ? h("h3", { className: "or" }, "Or connect a model server") : null,
    down.length ? h("ul", { className: "provider-status" }, ...down) : null,
    h("div", { className: "options" },
      h("section", { className: "option" },
        h("h3", {}, "Run models on this computer with Ollama"),
        h("ol", {},
          h("li", {}, "Install Ollama from ", link, "."),
          h("li", {}, "Start it (the desktop app does this for you):", command("ollama serve")),
          h("li", {}, "Download a model, in a terminal:", command("ollama pull llama3.2")),
          h("li", {}, "Then check again.")),
        button("Check again", () => {
          notify("");
          $("welcome-checked").textContent = "Checking…";
          loadModels().then(
            () => {
              const still = $("welcome-checked"); // present only if nothing answers yet
              if (still) still.textContent = `Still no answer (checked ${new Date().toLocaleTimeString()}).`;
            },
            (error) => notify(error.message),
          );
        }),
        h("p", { id: "welcome-checked", className: "checked", role: "status" })),
      h("section", { className: "option" },
        h("h3", {}, "Or use an OpenAI-compatible endpoint"),
        h("p", {}, "OpenAI, OpenRouter, Groq, LM Studio, llama.cpp, vLLM… Add its address " +
          "and, if it needs one, an API key."),
        button("Add provider", () => emit(EVENTS.settingsOpen, { add: true }),
               { className: local ? "" : "primary", id: "welcome-add-provider" }))),
  );
}

function welcomePanel() {
  const ok = answering();
  const down = state.providers.filter((p) => p.status !== "ok");
  // The starter comes last: it is there, not recommended.
  const ready = readyModels().sort((a, b) => isStarter(a) - isStarter(b));
  const models = ready.slice(0, 12).map((model) =>
    h("li", {}, button(modelLabel(model), () => {
      showModel(model.id);
      $("model-select").dispatchEvent(new Event("change"));
    }, { className: "chip", title: [`Chat with ${model.id}`, modelNote(model)].filter(Boolean).join(": "),
         dataset: { model: model.id } })),
  );
  return h(
    "div",
    { id: "welcome", className: "welcome" },
    h("h2", {}, "What shall we talk about?"),
    h("p", { className: "lead" },
      ready.length
        ? `${ready.length} model${ready.length === 1 ? "" : "s"} ready from ` +
          `${ok.map((p) => p.id).join(", ")}. Pick one to use it:`
        : "Your providers answer but list no models yet."),
    models.length ? h("ul", { className: "chips", ariaLabel: "Available models" }, ...models) : null,
    ready.length > 12 ? h("p", { className: "more" },
      `…and ${ready.length - 12} more in the model list above.`) : null,
    down.length
      ? h("p", { className: "down" }, "Not answering: ",
          down.map((p) => `${p.id} (${statusText(p)})`).join(", "), ".")
      : null,
    h("h3", {}, "Try"),
    h("ul", { className: "prompts", ariaLabel: "Example prompts" },
      ...PROMPTS.map((text) => h("li", {}, button(text, () => fill(text), { className: "prompt" })))),
  );
}

function fill(text) {
  const input = $("message-input");
  input.value = text;
  input.dispatchEvent(new Event("input", { bubbles: true }));
  input.focus();
  input.setSelectionRange(text.length, text.length);
}

function empty() {
  const box = $("messages");
  return !box.querySelector(".message") && !state.streaming;
}

/** Show the right panel if the conversation is empty, or remove it. */
export function updateWelcome() {
  const box = $("messages");
  const shown = $("welcome");
  if (!modelsKnown || !empty()) {
    if (shown) shown.remove();
    // In a chat there is no panel: say why nothing answers as a notice instead.
    if (modelsKnown && nothingAnswers()) {
      notify(state.providers.map((p) => p.message).filter(Boolean).join(" "));
    }
    box.classList.remove("has-welcome");
    return;
  }
  const panel = firstRun() ? firstRunPanel() : welcomePanel();
  // With nothing to chat with, the panel says why, with each provider's reason: not twice. With
  // the starter there is no such notice, and one that is there (a failed send) stays.
  if (firstRun() && !starter()) notify("");
  const focused = shown && shown.contains(document.activeElement);
  if (shown) shown.replaceWith(panel);
  else box.append(panel);
  box.classList.add("has-welcome");
  markChips();
  if (focused) panel.querySelector("button")?.focus();
}

// The model chips say which one the picker holds.
function markChips() {
  const chosen = $("model-select").value;
  for (const chip of document.querySelectorAll("#welcome .chip")) {
    chip.setAttribute("aria-pressed", String(chip.dataset.model === chosen));
  }
}

export function initWelcome() {
  $("model-select").addEventListener("change", markChips);
  on(EVENTS.conversationEmpty, updateWelcome);
  on(EVENTS.conversationFilled, updateWelcome);
  on(EVENTS.modelsLoaded, () => {
    modelsKnown = true;
    updateWelcome();
  });
  // Messages arrive (or the list is cleared) without an event too: watch the container.
  new MutationObserver((records) => {
    const ours = records.every((r) =>
      [...r.addedNodes, ...r.removedNodes].every((n) => n.id === "welcome"));
    if (!ours) updateWelcome();
  }).observe($("messages"), { childList: true });
}
