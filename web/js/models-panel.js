// The Models panel (a modal <dialog>). The built-in engine: its model files with their size,
// parameters, quantization, context and whether loaded; "Add a model file…" (the desktop
// window's Open dialog, or a browser's file input or drop); the catalog of models to download
// from Hugging Face, or a pasted repository or file address. Ollama servers: the installed
// models with their details; pull a model by name. Downloads of both show a live progress bar
// with Cancel (one follower, `followPull`, for both); delete asks first. The model picker
// reloads (EVENTS.modelsChanged) after a download, an added file or a delete.

import { api, openStream, upload } from "./api.js";
import { h, modalPanel } from "./dialogs.js";
import { modelsReady } from "./models.js";
import { $, EVENTS, emit, state } from "./state.js";
import { readEvents } from "./stream.js";
import { inDesktopWindow } from "./window.js";

const CAPABILITY_WORDS = ["vision", "thinking", "tools", "embedding"];
const ADD_MODES = [["copy", "Copy it into the models folder"], ["move", "Move it there"],
  ["link", "Link to it where it is"]];
let dialog = null;
let panel = null; // dialogs.js's handle: show()

// A download followed here: one for Ollama's pulls, one for the built-in engine's. `job` is
// { id, name, provider } while it runs; `stream` the AbortController of its event stream.
function downloadBox(prefix, { starts, ended }) {
  return { prefix, starts, ended, job: null, stream: null };
}
const ollamaPull = downloadBox("pull", { starts: ["pull-start"], ended: () => loadInstalled() });
const hubPull = downloadBox("hub", {
  starts: ["hub-start"],
  ended: () => Promise.all([loadLocal(), loadCatalog()]),
});
const part = (box, name) => $(`${box.prefix}-${name}`);

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

function progressArea(prefix) {
  return h("div", { id: `${prefix}-progress`, className: "pull-progress", hidden: true },
    h("div", { className: "pull-line" },
      h("strong", { id: `${prefix}-label` }),
      h("span", { id: `${prefix}-status`, className: "pull-status", role: "status" })),
    h("div", { className: "pull-bar-row" },
      h("progress", { id: `${prefix}-bar`, max: 1, "aria-label": "Download progress" }),
      h("button", { type: "button", id: `${prefix}-cancel` }, "Cancel")));
}

function tableHead(names) {
  return h("thead", {}, h("tr", {},
    ...names.map((name) => h("th", { scope: "col" }, name)),
    h("th", { scope: "col" }, h("span", { className: "visually-hidden" }, "Actions"))));
}

function builtInSections() {
  return [
    h("section", { "aria-labelledby": "local-title", id: "local-section" },
      h("h3", { id: "local-title" }, "Built-in engine"),
      h("p", { className: "hint" },
        "Runs models on this computer: no account, no network, nothing else to install."),
      h("p", { id: "local-error", className: "form-error", role: "alert" }),
      h("div", { className: "table-wrap" },
        h("table", { className: "models-table local-table" },
          tableHead(["Name", "Size", "Parameters", "Quantization", "Context", "Memory"]),
          h("tbody", { id: "local-rows" }))),
      h("div", { className: "local-add", id: "local-add" },
        h("button", { type: "button", id: "local-add-file" }, "Add a model file…"),
        h("select", { id: "local-add-mode", "aria-label": "How to add the file", hidden: true },
          ...ADD_MODES.map(([value, text]) => new Option(text, value))),
        h("span", { id: "local-add-status", className: "pull-status", role: "status" }),
        h("input", { type: "file", id: "local-add-input", accept: ".gguf", hidden: true,
                     tabIndex: -1 })),
      h("p", { className: "hint", id: "local-add-hint" },
        "A .gguf file you already have (from LM Studio, Jan or Hugging Face) — or drop it on " +
        "this panel.")),
    h("section", { "aria-labelledby": "catalog-title", id: "catalog-section" },
      h("h3", { id: "catalog-title" }, "Download for the built-in engine"),
      // Above the list: a download started from any of its buttons shows here, in view.
      progressArea("hub"),
      h("p", { id: "hub-error", className: "form-error", role: "alert" }),
      h("ul", { id: "catalog-list", className: "catalog-list", "aria-label": "Models to download" }),
      h("form", { id: "hub-form", className: "pull-form" },
        h("input", { id: "hub-name", "aria-label": "Hugging Face repository or file URL",
                     autocomplete: "off", spellcheck: false,
                     placeholder: "https://huggingface.co/owner/model-GGUF or owner/repo/file.gguf" }),
        h("button", { type: "submit", id: "hub-start" }, "Download"))),
  ];
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
      ...builtInSections(),
      h("h3", { className: "models-group-title" }, "Ollama"),
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
        progressArea("pull"),
        h("p", { id: "pull-error", className: "form-error", role: "alert" })),
      h("section", { "aria-labelledby": "installed-title", id: "installed-section" },
        h("h3", { id: "installed-title" }, "Installed"),
        h("p", { id: "models-error", className: "form-error", role: "alert" }),
        h("div", { className: "table-wrap" },
          h("table", { className: "models-table" },
            tableHead(["Name", "Size", "Parameters", "Quantization", "Capabilities", "Memory"]),
            h("tbody", { id: "models-rows" }))))),
  );
  document.body.append(dialog);
  panel = modalPanel(dialog, { closeButton: $("models-close"), fallback: () => $("open-models") });
  $("models-provider").addEventListener("change", () => loadInstalled());
  $("pull-form").addEventListener("submit", (event) => {
    event.preventDefault();
    startPull();
  });
  $("hub-form").addEventListener("submit", (event) => {
    event.preventDefault();
    startHubPull($("hub-name").value.trim());
  });
  for (const box of [ollamaPull, hubPull]) {
    part(box, "cancel").addEventListener("click", () => cancelPull(box));
  }
  $("local-add-file").addEventListener("click", addModelFile);
  $("local-add-input").addEventListener("change", () => {
    const [file] = $("local-add-input").files;
    $("local-add-input").value = "";
    if (file) uploadModelFile(file);
  });
  // A file dropped anywhere on the panel is added (the browser would otherwise open it).
  dialog.addEventListener("dragover", (event) => {
    if (![...event.dataTransfer.types].includes("Files")) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  dialog.addEventListener("drop", (event) => {
    const [file] = event.dataTransfer.files;
    if (!file) return;
    event.preventDefault();
    uploadModelFile(file);
  });
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
  remove.addEventListener("click", () => deleteModel(model, remove, providerId(), loadInstalled));
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

async function deleteModel(model, button, provider, reload) {
  // Two steps instead of a confirm() box: the first press asks, the second deletes.
  const label = button.dataset.label || model.name;
  if (button.dataset.confirm !== "yes") {
    button.dataset.confirm = "yes";
    button.textContent = `Really delete ${label}?`;
    button.setAttribute("aria-label", `Really delete ${label}?`);
    return;
  }
  button.disabled = true;
  const errorBox = provider === providerId() ? "models-error" : "local-error";
  try {
    await api("DELETE", `/api/providers/${encodeURIComponent(provider)}/models/${model.name
      .split("/").map(encodeURIComponent).join("/")}`);
    emit(EVENTS.modelsChanged);
  } catch (error) {
    setText(errorBox, error.message);
  }
  await reload();
  (provider === providerId() ? $("pull-name") : $("local-add-file")).focus();
}

// --- the built-in engine's models ----------------------------------------------------------

function localProviderId() {
  return state.providers.find((p) => p.kind === "local")?.id || null;
}

// A parameter count as model names say it: 134515008 → "135M", 1720000000 → "1.7B".
function parameterText(count) {
  if (!count) return "—";
  if (count >= 1e9) return `${(count / 1e9).toFixed(count < 1e10 ? 1 : 0).replace(/\.0$/, "")}B`;
  if (count >= 1e6) return `${Math.round(count / 1e6)}M`;
  return `${Math.round(count / 1e3)}K`;
}

function contextText(tokens) {
  return tokens ? `${tokens.toLocaleString("en-US")} tokens` : "—";
}

// The engine gives a model the smaller of what it was trained for and its context setting.
function localContext(model, engine) {
  const trained = model.context_length;
  const setting = engine && engine.settings ? engine.settings.context_size : 0;
  if (!trained || !setting || setting >= trained) return contextText(trained);
  const used = setting.toLocaleString("en-US");
  return h("span", {
    title: `Trained for ${contextText(trained)}; the built-in engine gives it ${used} ` +
           "(the local.context_size setting).",
  }, `${used} of ${contextText(trained)}`);
}

function memoryCell(model, engine) {
  if (engine && engine.model === model.name && engine.state === "loaded") {
    return h("span", { className: "loaded" }, "Loaded");
  }
  if (engine && engine.model === model.name && engine.state === "loading") {
    return h("span", { className: "loading" }, "Loading…");
  }
  return h("span", { className: "not-loaded" }, "Not loaded");
}

function localRow(model, engine) {
  const details = model.details || {};
  const label = details.label || model.name;
  const name = h("th", { scope: "row", className: "model-name" }, label);
  if (details.vision) {
    name.append(" ", h("span", { className: "capability cap-vision" }, "vision"));
  }
  if (details.note) name.append(h("span", { className: "model-note" }, details.note));
  if (details.problem) {
    name.append(h("span", { className: "model-problem" }, details.problem));
  }
  let action;
  if (details.bundled) {
    action = h("span", { className: "not-loaded", title: "Models that come with OpenChat stay" },
      "Comes with OpenChat");
  } else {
    action = h("button", { type: "button", className: "danger model-delete",
                           "aria-label": `Delete ${label}`, dataset: { label } }, "Delete");
    action.addEventListener("click",
      () => deleteModel(model, action, localProviderId(), loadLocal));
  }
  return h("tr", { "data-name": model.name, className: details.starter ? "starter" : "" },
    name,
    h("td", { className: "number" }, bytes(details.size)),
    h("td", {}, parameterText(details.parameters)),
    h("td", {}, details.quantization || "—"),
    h("td", { className: "number" }, localContext(model, engine)),
    h("td", { className: "memory" }, details.problem ? "—" : memoryCell(model, engine)),
    h("td", { className: "actions-cell" }, action));
}

async function loadLocal() {
  const provider = localProviderId();
  const rows = $("local-rows");
  setText("local-error", "");
  if (!provider) return;
  try {
    const [{ models }, engine] = await Promise.all([
      api("GET", "/api/models"),
      api("GET", "/api/local/engine").catch(() => null),
    ]);
    const mine = models.filter((m) => m.provider === provider);
    rows.replaceChildren(...mine.map((m) => localRow(m, engine)));
    if (!mine.length) {
      rows.append(h("tr", {}, h("td", { colSpan: 7, className: "empty" },
        "No model files yet: download one below, or add a file you have.")));
    }
  } catch (error) {
    rows.replaceChildren();
    setText("local-error", error.message);
  }
}

function addingStatus(text) {
  $("local-add-status").textContent = text;
}

// Sends the file (its path, or its bytes) and shows what came of it.
async function addWith(send, fileName) {
  const button = $("local-add-file");
  button.disabled = true;
  setText("local-error", "");
  addingStatus(`Adding ${fileName}…`);
  try {
    const { model, note } = await send();
    const name = model ? (model.details?.label || model.name) : fileName;
    addingStatus(note ? `Added ${name}. ${note}` : `Added ${name}. It is ready to chat with.`);
    emit(EVENTS.modelsChanged);
    await loadLocal();
  } catch (error) {
    addingStatus("");
    setText("local-error", error.message);
  } finally {
    button.disabled = false;
  }
}

// In the desktop window the system's Open dialog gives a path, and the file is copied, moved or
// linked as chosen (no bytes through HTTP); a browser picks the file and uploads it.
async function addModelFile() {
  if (!(await inDesktopWindow())) {
    $("local-add-input").click();
    return;
  }
  setText("local-error", "");
  let path;
  try {
    ({ path } = await api("POST", "/api/local/models/pick"));
  } catch (error) {
    setText("local-error", error.message);
    return;
  }
  if (!path) return;
  const mode = $("local-add-mode").value;
  await addWith(() => api("POST", "/api/local/models", { path, mode }),
    path.split(/[\\/]/).pop());
}

function uploadModelFile(file) {
  if (!file.name.toLowerCase().endsWith(".gguf")) {
    setText("local-error", `“${file.name}” is not a GGUF model file: model files for the ` +
      "built-in engine end in .gguf.");
    return;
  }
  const form = new FormData();
  form.append("file", file);
  return addWith(() => upload("/api/local/models", form), file.name);
}

// --- the catalog ---------------------------------------------------------------------------

function catalogItem(entry) {
  const facts = [`${bytes(entry.size)} download`, `needs ${bytes(entry.ram)} of memory`,
    entry.license];
  if (entry.gated) facts.push("needs a Hugging Face token");
  const head = h("div", { className: "catalog-head" }, h("strong", {}, entry.name));
  if (entry.recommended) {
    head.append(h("span", { className: "badge recommended" }, "Recommended for this computer"));
  }
  let action;
  if (entry.downloaded) {
    head.append(h("span", { className: "badge downloaded" }, "Downloaded"));
  } else {
    const resume = entry.partial > 0;
    action = h("button", {
      type: "button", className: entry.recommended ? "primary" : "",
      "aria-label": `${resume ? "Resume" : "Download"} ${entry.name}`,
      title: resume ? `${bytes(entry.partial)} of ${bytes(entry.size)} downloaded so far` : "",
    }, resume ? "Resume" : "Download");
    action.addEventListener("click", () => startHubPull(entry.id, entry.name));
  }
  return h("li", { className: `catalog-item${entry.recommended ? " is-recommended" : ""}`,
                   "data-id": entry.id },
    h("div", { className: "catalog-text" }, head,
      h("p", { className: "catalog-facts" }, facts.join(" · ")),
      h("p", { className: "catalog-good" }, entry.good_at)),
    action);
}

async function loadCatalog() {
  try {
    const { models } = await api("GET", "/api/local/catalog");
    $("catalog-list").replaceChildren(...models.map(catalogItem));
  } catch (error) {
    setText("hub-error", error.message);
  }
}

// --- following a download (Ollama's pulls and the built-in engine's alike) -----------------

function duration(seconds) {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

function showProgress(box, data) {
  const bar = part(box, "bar");
  const status = data.status || "";
  const line = part(box, "status");
  if (data.total) {
    const share = Math.min(1, (data.completed || 0) / data.total);
    bar.value = share;
    let text = `${status} — ${Math.floor(share * 100)}% (${bytes(data.completed || 0)} of ` +
      `${bytes(data.total)})`;
    if (data.speed) text += ` · ${bytes(data.speed)}/s`;
    if (data.seconds_left != null && share < 1) text += ` · ${duration(data.seconds_left)} left`;
    line.textContent = text;
  } else {
    bar.removeAttribute("value"); // indeterminate until the size is known
    line.textContent = status;
  }
}

function setStarting(box, started) {
  for (const id of box.starts) $(id).disabled = started;
}

function pullEnded(box, text, ok) {
  box.job = null;
  box.stream = null;
  part(box, "cancel").hidden = true;
  setStarting(box, false);
  part(box, "status").textContent = text;
  part(box, "progress").classList.toggle("finished", ok);
}

async function followPull(box, open, label) {
  box.stream = new AbortController();
  part(box, "progress").hidden = false;
  part(box, "progress").classList.remove("finished");
  part(box, "progress").scrollIntoView({ block: "nearest" });
  part(box, "cancel").hidden = false;
  setStarting(box, true);
  setText(`${box.prefix}-error`, "");
  try {
    const response = await open(box.stream.signal);
    await readEvents(response, (type, data) => {
      if (type === "start") {
        box.job = { id: data.pull.id, name: data.pull.name, provider: data.pull.provider };
        part(box, "label").textContent = label || data.pull.name;
        showProgress(box, data.pull);
      } else if (type === "progress") {
        showProgress(box, data);
      } else if (type === "done") {
        part(box, "bar").value = 1;
        pullEnded(box, `Downloaded. ${part(box, "label").textContent} is ready to chat with.`,
          true);
        emit(EVENTS.modelsChanged);
        box.ended();
      } else if (type === "error") {
        const cancelled = data.code === "cancelled";
        pullEnded(box, cancelled ? "Cancelled." : "Failed.", false);
        if (!cancelled) setText(`${box.prefix}-error`, data.message);
        box.ended();
      }
    });
  } catch (error) {
    if (error.name === "AbortError") return;
    pullEnded(box, "", false);
    part(box, "progress").hidden = true;
    setText(`${box.prefix}-error`, error.message);
  } finally {
    if (box.job) pullEnded(box, "", false); // the stream ended without an ending: look again later
  }
}

function startFollowing(box, provider, name, label) {
  part(box, "label").textContent = label;
  part(box, "status").textContent = "Starting…";
  part(box, "bar").removeAttribute("value");
  const path = `/api/providers/${encodeURIComponent(provider)}/models/pull`;
  followPull(box, (signal) => openStream("POST", path, { name }, signal), label);
}

function startPull() {
  const name = $("pull-name").value.trim();
  if (!name) {
    setText("pull-error", "Type the name of a model, for example llama3.2:3b.");
    $("pull-name").focus();
    return;
  }
  startFollowing(ollamaPull, providerId(), name, name);
}

function startHubPull(name, label = name) {
  if (hubPull.stream) return; // one download at a time here: the buttons wait for it
  if (!name) {
    setText("hub-error", "Paste a Hugging Face address, for example " +
      "https://huggingface.co/unsloth/Qwen3-1.7B-GGUF, or pick a model above.");
    $("hub-name").focus();
    return;
  }
  startFollowing(hubPull, localProviderId(), name, label);
}

async function cancelPull(box) {
  if (!box.job) return;
  const button = part(box, "cancel");
  button.disabled = true;
  try {
    await api("POST", `/api/pulls/${box.job.id}/cancel`);
  } catch (error) {
    setText(`${box.prefix}-error`, error.message);
  } finally {
    button.disabled = false;
  }
}

// Downloads started earlier (the panel was closed meanwhile) are followed again.
async function resumePulls() {
  const { pulls } = await api("GET", "/api/pulls");
  for (const [box, provider] of [[ollamaPull, providerId()], [hubPull, localProviderId()]]) {
    const running = pulls.find((p) => p.state === "running" && p.provider === provider);
    if (box.job || box.stream || !running || !provider) continue;
    followPull(box, (signal) =>
      openStream("GET", `/api/pulls/${running.id}/events`, undefined, signal));
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
  $("installed-section").hidden = !providers.length;
  const local = Boolean(localProviderId());
  $("local-section").hidden = !local;
  $("catalog-section").hidden = !local;
  for (const box of [ollamaPull, hubPull]) {
    setText(`${box.prefix}-error`, "");
    if (!box.job) part(box, "progress").hidden = true;
  }
  setText("local-error", "");
  addingStatus("");
  const windowed = await inDesktopWindow().catch(() => false);
  $("local-add-mode").hidden = !windowed;
  panel.show();
  (local ? $("local-add-file") : $("pull-name")).focus();
  await Promise.all([loadLocal(), loadCatalog(), loadInstalled()]);
  await resumePulls().catch(() => {});
}

export function initModelsPanel() {
  $("open-models").addEventListener("click", () => openModels());
}
