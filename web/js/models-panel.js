// The Models panel (a modal <dialog>) for Ollama servers: the installed models with their size,
// parameters, quantization, capabilities and whether they are loaded; pull a model by name with
// a live progress bar and Cancel; delete a model after confirming. The model picker reloads
// (EVENTS.modelsChanged) after a pull or a delete.

import { api, openStream } from "./api.js";
import { h, modalPanel } from "./dialogs.js";
import { modelsReady } from "./models.js";
import { $, EVENTS, emit, state } from "./state.js";
import { readEvents } from "./stream.js";

const CAPABILITY_WORDS = ["vision", "thinking", "tools", "embedding"];
let dialog = null;
let panel = null; // dialogs.js's handle: show()
let pull = null; // { id, name, provider } while a download is followed here
let follow = null; // AbortController of the followed download's stream

function bytes(size) {
  if (size == null) return "—";
  const units = ["bytes", "KB", "MB", "GB", "TB"];
  let value = size;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit ? `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}` : `${value} bytes`;
}

function build() {
  dialog = h(
    "dialog",
    { id: "models-dialog", className: "settings-dialog models-dialog",
      "aria-labelledby": "models-title", "aria-modal": "true" },
    h("header", { className: "settings-head" },
      h("h2", { id: "models-title" }, "Models"),
      h("button", { type: "button", id: "models-close" }, "Close")),
    h("div", { className: "settings-body" },
      h("div", { className: "field models-server", id: "models-server-row", hidden: true },
        h("label", { htmlFor: "models-provider" }, "Ollama server"),
        h("select", { id: "models-provider" })),
      h("p", { id: "models-none", className: "models-none", hidden: true }),
      h("section", { "aria-labelledby": "pull-title", id: "pull-section" },
        h("h3", { id: "pull-title" }, "Download a model"),
        h("form", { id: "pull-form", className: "pull-form" },
          h("input", { id: "pull-name", "aria-label": "Model name", autocomplete: "off",
                       spellcheck: false, placeholder: "e.g. llama3.2:3b, llava:7b, qwen3:8b",
                       "aria-describedby": "pull-hint" }),
          h("button", { type: "submit", id: "pull-start", className: "primary" }, "Pull")),
        h("p", { id: "pull-hint", className: "hint" },
          "Any name from ollama.com/library. Models marked “vision” can read pictures; " +
          "“thinking” ones think before answering."),
        h("div", { id: "pull-progress", className: "pull-progress", hidden: true },
          h("div", { className: "pull-line" },
            h("strong", { id: "pull-label" }),
            h("span", { id: "pull-status", className: "pull-status", role: "status" })),
          h("div", { className: "pull-bar-row" },
            h("progress", { id: "pull-bar", max: 1, "aria-label": "Download progress" }),
            h("button", { type: "button", id: "pull-cancel" }, "Cancel"))),
        h("p", { id: "pull-error", className: "form-error", role: "alert" })),
      h("section", { "aria-labelledby": "installed-title" },
        h("h3", { id: "installed-title" }, "Installed"),
        h("p", { id: "models-error", className: "form-error", role: "alert" }),
        h("div", { className: "table-wrap" },
          h("table", { className: "models-table" },
            h("thead", {}, h("tr", {},
              ...["Name", "Size", "Parameters", "Quantization", "Capabilities", "Memory"]
                .map((name) => h("th", { scope: "col" }, name)),
              h("th", { scope: "col" }, h("span", { className: "visually-hidden" }, "Actions")))),
            h("tbody", { id: "models-rows" }))))),
  );
  document.body.append(dialog);
  panel = modalPanel(dialog, { closeButton: $("models-close"), fallback: () => $("open-models") });
  $("models-provider").addEventListener("change", () => loadInstalled());
  $("pull-form").addEventListener("submit", (event) => {
    event.preventDefault();
    startPull();
  });
  $("pull-cancel").addEventListener("click", cancelPull);
}

function setText(id, text) {
  const box = $(id);
  box.textContent = text || "";
  box.hidden = !text;
}

function ollamaProviders() {
  return state.providers.filter((p) => p.kind === "ollama");
}

function providerId() {
  return $("models-provider").value;
}

// --- installed models ----------------------------------------------------------------------

function row(model) {
  const capabilities = model.capabilities.filter((c) => CAPABILITY_WORDS.includes(c));
  const remove = h("button", { type: "button", className: "danger model-delete",
                               "aria-label": `Delete ${model.name}` }, "Delete");
  remove.addEventListener("click", () => deleteModel(model, remove));
  return h("tr", { "data-name": model.name },
    h("th", { scope: "row", className: "model-name" }, model.name),
    h("td", { className: "number" }, bytes(model.size)),
    h("td", {}, model.parameter_size || "—"),
    h("td", {}, model.quantization || "—"),
    h("td", {}, capabilities.length
      ? h("span", { className: "capabilities" },
        ...capabilities.map((c) => h("span", { className: `capability cap-${c}` }, c)))
      : "text"),
    h("td", {}, model.loaded
      ? h("span", { className: "loaded", title: model.size_vram ? `${bytes(model.size_vram)} in GPU memory` : "" }, "Loaded")
      : h("span", { className: "not-loaded" }, "Not loaded")),
    h("td", { className: "actions-cell" }, remove));
}

async function loadInstalled() {
  const provider = providerId();
  const rows = $("models-rows");
  setText("models-error", "");
  if (!provider) return;
  try {
    const { models } = await api("GET", `/api/providers/${encodeURIComponent(provider)}/models`);
    if (provider !== providerId()) return;
    rows.replaceChildren(...models.map(row));
    if (!models.length) {
      rows.append(h("tr", {}, h("td", { colSpan: 7, className: "empty" },
        "No models yet: download one above.")));
    }
  } catch (error) {
    rows.replaceChildren();
    setText("models-error", error.message);
  }
}

async function deleteModel(model, button) {
  // Two steps instead of a confirm() box: the first press asks, the second deletes.
  if (button.dataset.confirm !== "yes") {
    button.dataset.confirm = "yes";
    button.textContent = `Really delete ${model.name}?`;
    button.setAttribute("aria-label", `Really delete ${model.name}?`);
    return;
  }
  button.disabled = true;
  const provider = providerId();
  try {
    await api("DELETE", `/api/providers/${encodeURIComponent(provider)}/models/${model.name
      .split("/").map(encodeURIComponent).join("/")}`);
    emit(EVENTS.modelsChanged);
  } catch (error) {
    setText("models-error", error.message);
  }
  await loadInstalled();
  $("pull-name").focus();
}

// --- pulling -------------------------------------------------------------------------------

function showProgress(data) {
  const bar = $("pull-bar");
  const status = data.status || "";
  if (data.total) {
    const share = Math.min(1, (data.completed || 0) / data.total);
    bar.value = share;
    $("pull-status").textContent =
      `${status} — ${Math.floor(share * 100)}% (${bytes(data.completed || 0)} of ${bytes(data.total)})`;
  } else {
    bar.removeAttribute("value"); // indeterminate until Ollama says how much there is
    $("pull-status").textContent = status;
  }
}

function pullEnded(text, ok) {
  pull = null;
  follow = null;
  $("pull-cancel").hidden = true;
  $("pull-start").disabled = false;
  $("pull-status").textContent = text;
  $("pull-progress").classList.toggle("finished", ok);
}

async function followPull(open) {
  follow = new AbortController();
  $("pull-progress").hidden = false;
  $("pull-progress").classList.remove("finished");
  $("pull-cancel").hidden = false;
  $("pull-start").disabled = true;
  setText("pull-error", "");
  try {
    const response = await open(follow.signal);
    await readEvents(response, (type, data) => {
      if (type === "start") {
        pull = { id: data.pull.id, name: data.pull.name, provider: data.pull.provider };
        $("pull-label").textContent = data.pull.name;
        showProgress(data.pull);
      } else if (type === "progress") {
        showProgress(data);
      } else if (type === "done") {
        $("pull-bar").value = 1;
        const name = data.pull.name;
        pullEnded(`Downloaded. ${name} is ready to chat with.`, true);
        emit(EVENTS.modelsChanged);
        loadInstalled();
      } else if (type === "error") {
        const cancelled = data.code === "cancelled";
        pullEnded(cancelled ? "Cancelled." : "Failed.", false);
        if (!cancelled) setText("pull-error", data.message);
      }
    });
  } catch (error) {
    if (error.name === "AbortError") return;
    pullEnded("", false);
    $("pull-progress").hidden = true;
    setText("pull-error", error.message);
  } finally {
    if (pull) pullEnded("", false); // the stream ended without an ending: look again later
  }
}

function startPull() {
  const name = $("pull-name").value.trim();
  if (!name) {
    setText("pull-error", "Type the name of a model, for example llama3.2:3b.");
    $("pull-name").focus();
    return;
  }
  const provider = providerId();
  $("pull-label").textContent = name;
  $("pull-status").textContent = "Starting…";
  $("pull-bar").removeAttribute("value");
  const path = `/api/providers/${encodeURIComponent(provider)}/models/pull`;
  followPull((signal) => openStream("POST", path, { name }, signal));
}

async function cancelPull() {
  if (!pull) return;
  $("pull-cancel").disabled = true;
  try {
    await api("POST", `/api/pulls/${pull.id}/cancel`);
  } catch (error) {
    setText("pull-error", error.message);
  } finally {
    $("pull-cancel").disabled = false;
  }
}

// A download started earlier (the panel was closed meanwhile) is followed again.
async function resumePull() {
  if (pull) return;
  const { pulls } = await api("GET", "/api/pulls");
  const running = pulls.find((p) => p.state === "running" && p.provider === providerId());
  if (running) {
    followPull((signal) => openStream("GET", `/api/pulls/${running.id}/events`, undefined, signal));
  }
}

// --- opening -------------------------------------------------------------------------------

export async function openModels() {
  if (!dialog) build();
  if (dialog.open) return;
  await modelsReady().catch(() => {}); // the providers come with the model list
  if (dialog.open) return;
  const providers = ollamaProviders();
  const select = $("models-provider");
  const chosen = select.value;
  select.replaceChildren(...providers.map((p) => new Option(p.id, p.id)));
  if (providers.some((p) => p.id === chosen)) select.value = chosen;
  $("models-server-row").hidden = providers.length < 2;
  setText("models-none", providers.length ? "" :
    "No Ollama server is set up. Add one in Settings (kind “Ollama”) to download models here.");
  $("pull-section").hidden = !providers.length;
  setText("pull-error", "");
  if (!pull) $("pull-progress").hidden = true;
  panel.show();
  $("pull-name").focus();
  await loadInstalled();
  await resumePull().catch(() => {});
}

export function initModelsPanel() {
  $("open-models").addEventListener("click", () => openModels());
}
