// The Parameters panel (a modal <dialog>): the open chat's model options — a slider with its
// value for each bounded number, a field for the others, the presets, and a reset to the
// model's default for each option and for all. Changes are saved to the chat (PATCH options,
// key by key, a moment after the last one); a failure stays on screen until a save works. A
// new chat keeps the choice until its first message, which carries it. Each reply shows the
// options it was written with (`optionsUsed`, in its meta line).

import { api } from "./api.js";
import { h, modalPanel } from "./dialogs.js";
import { selectedModel } from "./models.js";
import { $, EVENTS, notify, on, state } from "./state.js";

const SAVE_DELAY = 400; // ms after the last change: a slider dragged is one save
// The bounded numbers get a slider; the rest a field of their own kind.
const SLIDERS = new Set(["temperature", "top_p", "min_p", "repeat_penalty", "presence_penalty",
  "frequency_penalty"]);
// Where an unset slider rests when no default is known: the value that leaves sampling as it
// is (for temperature, Ollama's and llama.cpp's own default).
const RESTING = { temperature: 0.8, top_p: 1, min_p: 0, repeat_penalty: 1, presence_penalty: 0,
  frequency_penalty: 0 };
const LABELS = {
  temperature: "Temperature", top_p: "Top P", top_k: "Top K", min_p: "Min P",
  max_tokens: "Max tokens", seed: "Seed", stop: "Stop texts", repeat_penalty: "Repeat penalty",
  presence_penalty: "Presence penalty", frequency_penalty: "Frequency penalty",
  context_length: "Context length", keep_alive: "Keep alive",
};

let choices = null; // GET /api/options: { options, presets, defaults, models }
let shown = {}; // the open chat's own options as the panel shows them, unsaved changes included
let unsaved = {}; // option -> value, or null to remove it: not yet saved to the chat
let savingFor = null; // the chat the unsaved changes belong to (null: a new chat)
let timer = null;
let panel = null;

// --- values ----------------------------------------------------------------------------------

function spec(name) {
  return choices.options.find((o) => o.name === name);
}

/** What applies where the chat sets nothing: the model's defaults over the global ones. */
function defaults() {
  const model = choices.models[selectedModel()];
  return { ...choices.defaults, ...(model ? model.options : {}) };
}

function textOf(value) {
  if (Array.isArray(value)) return value.map((s) => JSON.stringify(s)).join(", ");
  return String(value);
}

/** "temperature 0.2 · top_p 0.9": the options a reply was written with. */
export function optionsUsed(options) {
  const names = Object.keys(options || {});
  if (!names.length) return null;
  return h("span", { className: "options-used", title: "Model options this reply used" },
    names.map((name) => `${name} ${textOf(options[name])}`).join(" · "));
}

/** What a chat request adds: a new chat's options (an existing chat's are on the server). */
export function optionsForRequest() {
  return savingFor === null && Object.keys(shown).length ? { options: { ...shown } } : {};
}

// --- saving ------------------------------------------------------------------------------------

function status(text, failed = false) {
  const line = $("parameters-status");
  if (!line) return;
  line.textContent = text;
  line.classList.toggle("failed", failed);
  line.setAttribute("role", failed ? "alert" : "status");
}

function change(name, value) {
  if (value === null) delete shown[name];
  else shown[name] = value;
  if (!state.current) {
    status("Used from this chat's first message.");
    renderValues();
    return;
  }
  unsaved[name] = value;
  savingFor = state.current.id;
  renderValues();
  clearTimeout(timer);
  timer = setTimeout(save, SAVE_DELAY);
}

async function save() {
  clearTimeout(timer);
  timer = null;
  const id = savingFor;
  const sending = unsaved;
  if (!id || !Object.keys(sending).length) return;
  unsaved = {};
  status("Saving…");
  try {
    const saved = await api("PATCH", `/api/sessions/${id}`, { options: sending });
    if (state.current && state.current.id === id) {
      state.current = saved;
      if (!Object.keys(unsaved).length) shown = { ...(saved.options || {}) };
    }
    status(Object.keys(unsaved).length ? "Saving…" : "Saved.");
  } catch (error) {
    // Kept to send again with the next change; the sentence stays until a save works.
    unsaved = { ...sending, ...unsaved };
    status(`Not saved: ${error.message}`, true);
    notify(`The parameters were not saved: ${error.message}`);
  }
  renderValues();
}

function applyPreset(preset) {
  for (const name of Object.keys(shown)) {
    if (!(name in preset.options)) change(name, null);
  }
  for (const [name, value] of Object.entries(preset.options)) change(name, value);
}

function resetAll() {
  for (const name of Object.keys(shown)) change(name, null);
}

// --- the panel ---------------------------------------------------------------------------------

function control(option) {
  const id = `param-${option.name}`;
  const label = LABELS[option.name] || option.name;
  const reset = h("button", {
    type: "button", className: "param-reset", dataset: { action: "reset" },
    "aria-label": `Reset ${label} to the model's default`, title: "Back to the model's default",
  }, "Reset");
  reset.addEventListener("click", () => change(option.name, null));
  let input;
  let output = null;
  if (SLIDERS.has(option.name)) {
    const low = option.name === "repeat_penalty" ? option.step : option.min;
    input = h("input", { type: "range", id, min: low, max: option.max, step: option.step });
    // The slider says its value itself (aria-valuetext); this is the same for the eye.
    output = h("span", { className: "param-value", id: `${id}-value`, "aria-hidden": "true" });
    input.addEventListener("input", () => change(option.name, Number(input.value)));
  } else if (option.type === "integer") {
    input = h("input", { type: "number", id, min: option.min ?? undefined, step: 1,
                         inputMode: "numeric" });
    input.addEventListener("change", () => {
      const text = input.value.trim();
      change(option.name, text === "" ? null : Number(text));
    });
  } else if (option.type === "text list") {
    input = h("textarea", { id, rows: 2, spellcheck: false });
    input.addEventListener("change", () => {
      // One stop text a line; "\n" stands for a line break inside one.
      const lines = input.value.split("\n").filter((l) => l !== "").map((l) => l.replaceAll("\\n", "\n"));
      change(option.name, lines.length ? lines : null);
    });
  } else {
    input = h("input", { type: "text", id, spellcheck: false, autocomplete: "off" });
    input.addEventListener("change", () => {
      const text = input.value.trim();
      change(option.name, text === "" ? null : (/^-?\d+$/.test(text) ? Number(text) : text));
    });
  }
  input.setAttribute("aria-describedby", `${id}-help`);
  return h("div", { className: "param", dataset: { option: option.name } },
    h("label", { htmlFor: id }, label),
    input, output, reset,
    h("p", { className: "hint", id: `${id}-help` }, option.help));
}

function renderValues() {
  const button = $("open-parameters");
  button.classList.toggle("has-options", Object.keys(shown).length > 0);
  button.title = Object.keys(shown).length
    ? `Parameters for this chat: ${Object.entries(shown).map(([k, v]) => `${k} ${textOf(v)}`).join(", ")}`
    : "Parameters: temperature, length and more for this chat";
  if (!choices || !$("parameters-dialog")) return;
  const fallback = defaults();
  for (const option of choices.options) {
    const row = $("parameters-dialog").querySelector(`[data-option="${option.name}"]`);
    const input = row.querySelector("input, textarea");
    const set = option.name in shown;
    const value = set ? shown[option.name] : fallback[option.name];
    row.classList.toggle("unset", !set);
    row.querySelector(".param-reset").disabled = !set;
    const output = row.querySelector(".param-value");
    if (output) {
      input.value = String(value ?? RESTING[option.name]);
      output.textContent = set ? String(value)
        : value === undefined ? "default" : `default (${value})`;
      input.setAttribute("aria-valuetext", output.textContent);
      continue;
    }
    if (document.activeElement === input && set) continue; // keep what is being typed
    if (option.type === "text list") {
      input.value = set ? value.map((s) => s.replaceAll("\n", "\\n")).join("\n") : "";
    } else {
      input.value = set ? String(value) : "";
    }
    const shownDefault = value === undefined ? "default" : `default (${textOf(value)})`;
    input.placeholder = option.type === "text list" ? `${shownDefault}; one per line` : shownDefault;
  }
  for (const button of $("parameters-dialog").querySelectorAll(".preset")) {
    const preset = choices.presets.find((p) => p.name === button.dataset.id);
    const same = preset && JSON.stringify(Object.entries(preset.options).sort()) ===
      JSON.stringify(Object.entries(shown).sort());
    button.setAttribute("aria-pressed", String(Boolean(same)));
  }
  $("parameters-reset-all").disabled = !Object.keys(shown).length;
  const model = selectedModel();
  $("parameters-for").textContent = state.current
    ? `For this chat${model ? `, on ${model}` : ""}. Unset options take the model's default.`
    : "For the new chat: kept until its first message is sent.";
}

function renderPresets() {
  $("preset-list").replaceChildren(...choices.presets.map((preset) => {
    const button = h("button", { type: "button", className: "preset", dataset: { id: preset.name },
      title: Object.entries(preset.options).map(([k, v]) => `${k} ${textOf(v)}`).join(", ") },
    preset.name);
    button.addEventListener("click", () => applyPreset(preset));
    return h("li", {}, button);
  }));
}

function build() {
  const resetAllButton = h("button", { type: "button", id: "parameters-reset-all" },
    "Reset all to the model's default");
  resetAllButton.addEventListener("click", resetAll);
  const dialog = h("dialog",
    { id: "parameters-dialog", className: "settings-dialog parameters-dialog",
      "aria-labelledby": "parameters-title", "aria-modal": "true" },
    h("header", { className: "settings-head" },
      h("h2", { id: "parameters-title" }, "Parameters"),
      h("button", { type: "button", id: "parameters-close" }, "Close")),
    h("div", { className: "settings-body" },
      h("p", { id: "parameters-for", className: "hint" }),
      h("h3", { id: "presets-title" }, "Presets"),
      h("ul", { id: "preset-list", className: "preset-list", "aria-labelledby": "presets-title" }),
      h("div", { className: "param-grid" }, ...choices.options.map(control)),
      h("div", { className: "actions" }, resetAllButton,
        h("p", { id: "parameters-status", className: "parameters-status", role: "status" }))),
  );
  document.body.append(dialog);
  panel = modalPanel(dialog, { closeButton: $("parameters-close"),
                               fallback: () => $("message-input"), onClose: save });
}

async function open() {
  try {
    choices = await api("GET", "/api/options");
  } catch (error) {
    notify(error.message);
    return;
  }
  if (!$("parameters-dialog")) build();
  renderPresets(); // the settings' presets and defaults may have changed since last time
  renderValues();
  panel.show();
  $("parameters-dialog").querySelector(".preset, input").focus();
}

function chatOpened(session) {
  if (timer) save(); // the previous chat's last change goes to that chat
  if (session && !session.options && Object.keys(shown).length && savingFor === null) {
    // The new chat was just created (by sending, say): it keeps what was chosen before.
    unsaved = { ...shown };
    savingFor = session.id;
    save();
    return;
  }
  shown = { ...((session && session.options) || {}) };
  savingFor = session ? session.id : null;
  status("");
  renderValues();
}

export function initParameters() {
  $("open-parameters").addEventListener("click", open);
  $("model-select").addEventListener("change", renderValues);
  on(EVENTS.modelsLoaded, renderValues); // the model's defaults apply once it is known
  on(EVENTS.sessionOpened, chatOpened);
  on(EVENTS.sessionOpen, () => {
    if (savingFor === null) shown = {}; // another chat was picked: the new one's choice goes
  });
  on(EVENTS.sessionNew, () => {
    if (timer) save();
    shown = {};
    unsaved = {};
    savingFor = null;
    status("");
    renderValues();
  });
}
