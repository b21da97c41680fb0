// The Settings panel (a modal <dialog>): providers (add, edit, remove, test a connection),
// MCP servers (mcp-settings.js), the default model and the theme, each saved to the settings
// file through the settings API; and the API keys (api-keys.js), kept in the chat database.
// Also the banner at the top of the page when the settings file has a problem.
//
// API keys are write-only: the key field is never filled in, the panel only says one is set.
// A stored key belongs to the address it was saved with: once the address in the form differs,
// the server neither tests with it nor keeps it, and the form says so and empties its key fields.
// Opens on EVENTS.settingsOpen ({ add: true } opens the new-provider form); emits
// EVENTS.modelsChanged after a save so the model picker reloads.

import { api } from "./api.js";
import { apiKeysSection, forgetShownKey, hideKeyForm, loadKeys } from "./api-keys.js";
import { field, h, keepingFocus, modalPanel } from "./dialogs.js";
import { keyLine, keyStorageSection, renderKeyStorage } from "./key-storage.js";
import { hideMcpForm, mcpSection, renderMcp } from "./mcp-settings.js";
import { modelGroups, statusText } from "./models.js";
import { outboundSection, renderOutbound } from "./outbound.js";
import { $, EVENTS, emit, on, state } from "./state.js";
import { initialSettings, saveTheme, showTheme } from "./theme.js";

const TIMEOUT_KEYS = ["connect_timeout", "first_byte_timeout", "idle_timeout"];
const KIND_NAMES = { ollama: "Ollama", openai: "OpenAI-compatible", anthropic: "Anthropic",
                     gemini: "Google Gemini" };
// What picking a kind fills in: an id, and the address (the vendors' roots are also what an
// empty address means for those kinds).
const KIND_DEFAULTS = {
  ollama: { id: "ollama", url: "http://127.0.0.1:11434" },
  openai: { id: "", url: "" },
  anthropic: { id: "anthropic", url: "https://api.anthropic.com" },
  gemini: { id: "gemini", url: "https://generativelanguage.googleapis.com" },
};
// Common OpenAI-compatible services and servers, with the addresses their own docs give.
const SERVICES = [
  { name: "OpenAI", id: "openai", url: "https://api.openai.com/v1" },
  { name: "OpenRouter", id: "openrouter", url: "https://openrouter.ai/api/v1" },
  { name: "Groq", id: "groq", url: "https://api.groq.com/openai/v1" },
  { name: "Mistral", id: "mistral", url: "https://api.mistral.ai/v1" },
  { name: "LM Studio", id: "lmstudio", url: "http://127.0.0.1:1234/v1" },
  { name: "llama.cpp server", id: "llamacpp", url: "http://127.0.0.1:8080/v1" },
  { name: "vLLM", id: "vllm", url: "http://127.0.0.1:8000/v1" },
];
const KEY_HINT = "Kept in the system keychain when there is one, else in the settings file " +
  "(readable by you only). Never shown again.";

let current = null; // the last GET/PATCH /api/settings answer
let dialog = null;
let panel = null; // dialogs.js's handle: show()
let editing = null; // the stored provider being edited, or null for a new one
let problemTimer = null;
let filled = { id: "", url: "" }; // what the form last filled in itself (kind or service)

// --- the panel's markup, built once --------------------------------------------------------

function build() {
  // OpenAI-compatible only: a known service fills in the id and the address.
  const serviceRow = field("Service",
    h("select", { id: "provider-service" },
      h("option", { value: "" }, "Other (type the address)"),
      ...SERVICES.map((service) => h("option", { value: service.id }, service.name))),
    "Fills in the id and the address; change them if yours differ.");
  serviceRow.id = "provider-service-row";
  const form = h(
    "form",
    { id: "provider-form", className: "provider-form", hidden: true, noValidate: true,
      "aria-labelledby": "provider-form-title" },
    h("h4", { id: "provider-form-title" }, "Add provider"),
    field("Id", h("input", { id: "provider-id", name: "id", required: true, autocomplete: "off",
                             spellcheck: false, maxLength: 64, placeholder: "e.g. openrouter" }),
          "Letters, digits, - and _. Model ids start with it: <id>/<model>."),
    field("Kind", h("select", { id: "provider-kind", name: "kind" },
                    ...Object.entries(KIND_NAMES).map(([value, name]) =>
                      h("option", { value }, name)))),
    serviceRow,
    field("Base URL", h("input", { id: "provider-url", name: "base_url", type: "url",
                                   autocomplete: "off", spellcheck: false }),
          "The server's address."),
    field("API key", h("input", { id: "provider-key", name: "api_key", type: "password",
                                  autocomplete: "new-password", spellcheck: false }),
          KEY_HINT),
    h("div", { className: "field check", id: "provider-key-clear-row", hidden: true },
      h("input", { id: "provider-key-clear", type: "checkbox" }),
      h("label", { htmlFor: "provider-key-clear" }, "Remove the stored key")),
    field("API key environment variable", h("input", { id: "provider-key-env", name: "api_key_env",
                                                      autocomplete: "off", spellcheck: false,
                                                      placeholder: "e.g. OPENROUTER_API_KEY" }),
          "Read the key from this variable instead of the file."),
    field("Models", h("textarea", { id: "provider-models", name: "models", rows: 3,
                                    spellcheck: false }),
          "One per line; offered even when the server does not list them. Optional."),
    h("p", { id: "provider-test-result", className: "test-result", role: "status" }),
    h("p", { id: "provider-error", className: "form-error", role: "alert" }),
    h("div", { className: "actions" },
      h("button", { type: "button", id: "provider-test" }, "Test connection"),
      h("button", { type: "button", id: "provider-use-address", hidden: true },
        "Use this address"),
      h("span", { className: "spacer" }),
      h("button", { type: "button", id: "provider-cancel" }, "Cancel"),
      h("button", { type: "submit", className: "primary", id: "provider-save" }, "Save provider")),
  );

  const themes = ["dark", "light", "system"].map((value) =>
    h("label", { className: "choice" },
      h("input", { type: "radio", name: "theme", value, id: `theme-${value}` }),
      { dark: "Dark", light: "Light", system: "System (follow the computer)" }[value]),
  );

  dialog = h(
    "dialog",
    { id: "settings-dialog", className: "settings-dialog", "aria-labelledby": "settings-title",
      "aria-modal": "true" },
    h("header", { className: "settings-head" },
      h("h2", { id: "settings-title" }, "Settings"),
      h("button", { type: "button", id: "settings-close" }, "Close")),
    h("div", { className: "settings-body" },
      h("div", { id: "settings-problem", className: "settings-problem", role: "alert",
                 hidden: true }),
      h("p", { className: "settings-path" }, "Settings file: ", h("code", { id: "settings-path" })),
      h("fieldset", { id: "settings-editable", className: "settings-editable" },
        h("section", { "aria-labelledby": "providers-title" },
          h("h3", { id: "providers-title" }, "Providers"),
          h("ul", { id: "provider-list", className: "provider-list" }),
          h("p", { id: "providers-error", className: "form-error", role: "alert" }),
          keyStorageSection({ moved: keysMoved }),
          h("button", { type: "button", id: "add-provider" }, "Add provider"),
          form),
        mcpSection({ onSaved: mcpSaved }),
        apiKeysSection(),
        outboundSection({ onSaved: (body) => { current = body; setStatus("Saved."); } }),
        h("section", { "aria-labelledby": "default-model-title" },
          h("h3", { id: "default-model-title" }, "Default model"),
          field("Model for new chats", h("select", { id: "default-model" })),
          h("p", { id: "default-model-error", className: "form-error", role: "alert" })),
        h("section", { "aria-labelledby": "theme-title" },
          h("h3", { id: "theme-title" }, "Theme"),
          h("fieldset", { className: "choices" },
            h("legend", { className: "visually-hidden" }, "Theme"), ...themes),
          h("p", { id: "theme-error", className: "form-error", role: "alert" }))),
      h("p", { id: "settings-status", className: "settings-status", role: "status" })),
  );
  document.body.append(dialog);
  panel = modalPanel(dialog, { closeButton: $("settings-close"),
                               onClose: () => {
                                 hideForm();
                                 hideMcpForm();
                                 hideKeyForm();
                                 forgetShownKey();
                               },
                               fallback: () => $("open-settings") });
  $("add-provider").addEventListener("click", () => showForm(null));
  $("provider-cancel").addEventListener("click", () => {
    hideForm();
    $("add-provider").focus();
  });
  $("provider-kind").addEventListener("change", () => {
    $("provider-service").value = "";
    fillIn(KIND_DEFAULTS[$("provider-kind").value]);
    updateUrlHint();
  });
  $("provider-service").addEventListener("change", () => {
    const service = SERVICES.find((s) => s.id === $("provider-service").value);
    if (service) fillIn(service);
  });
  $("provider-use-address").addEventListener("click", useTestedAddress);
  $("provider-url").addEventListener("input", updateKeyFields);
  $("provider-test").addEventListener("click", testConnection);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    saveProvider();
  });
  $("default-model").addEventListener("change", saveDefaultModel);
  for (const radio of dialog.querySelectorAll("input[name=theme]")) {
    radio.addEventListener("change", () => radio.checked && changeTheme(radio.value));
  }
}

// --- showing the settings ------------------------------------------------------------------

function fatal() {
  return Boolean(current && current.problem && current.problem.fatal);
}

// A refresh re-renders the open panel (the file changed, the models came in): the control that
// had the focus keeps it, or Tab would start again from the page.
function render() {
  if (!dialog || !current) return;
  keepingFocus(dialog, renderSettings);
}

function renderSettings() {
  $("settings-path").textContent = current.path;
  const problem = current.problem;
  const box = $("settings-problem");
  box.hidden = !problem;
  box.className = `settings-problem ${problem && problem.fatal ? "fatal" : "warning"}`;
  box.replaceChildren();
  if (problem) {
    box.append(
      h("p", {}, h("strong", {}, problem.fatal ? "The settings file has an error. " : "Note: "),
        problem.message),
    );
    if (problem.fatal) {
      box.append(h("p", {}, "Changes are disabled until the file is fixed: OpenChat will not " +
        "overwrite it. Fix it in a text editor and save; this panel updates on its own."));
    }
  }
  $("settings-editable").disabled = fatal();
  renderProviders();
  renderKeyStorage(current.settings);
  renderMcp(current);
  renderDefaultModel();
  renderOutbound(current);
  const theme = current.settings.theme;
  for (const radio of dialog.querySelectorAll("input[name=theme]")) {
    radio.checked = radio.value === theme;
  }
}

function renderProviders() {
  const list = $("provider-list");
  const providers = current.settings.providers;
  list.replaceChildren(
    ...providers.map((provider) => {
      const status = state.providers.find((p) => p.id === provider.id);
      const word = status ? (status.status === "ok" ? "connected" : statusText(status)) : "checking…";
      const models = state.models.filter((m) => m.provider === provider.id);
      const key = keyLine(provider);
      const edit = h("button", { type: "button", "data-action": "edit",
                                 "aria-label": `Edit ${provider.id}` }, "Edit");
      const remove = h("button", { type: "button", className: "danger", "data-action": "remove",
                                   "aria-label": `Remove ${provider.id}` }, "Remove");
      edit.addEventListener("click", () => showForm(provider));
      remove.addEventListener("click", () => removeProvider(provider, remove));
      remove.hidden = Boolean(provider.from_environment); // it comes back while the variable is set
      return h(
        "li",
        { className: "provider-item", "data-id": provider.id },
        h("div", { className: "provider-line" },
          h("strong", { className: "provider-name" }, provider.id),
          h("span", { className: "provider-kind" }, KIND_NAMES[provider.kind] || provider.kind),
          h("span", { className: `status status-${status ? status.status : "unknown"}` }, word)),
        h("div", { className: "provider-url" }, h("code", {}, provider.base_url)),
        status && status.message ? h("p", { className: "provider-message" }, status.message) : null,
        status && status.status === "ok"
          ? h("p", { className: "provider-models" },
              models.length ? `${models.length} model${models.length === 1 ? "" : "s"}: ` +
                models.map((m) => m.name).slice(0, 6).join(", ") +
                (models.length > 6 ? ", …" : "") : "No models yet.")
          : null,
        key ? h("p", { className: "provider-key" }, key) : null,
        h("div", { className: "provider-actions" }, edit, remove),
      );
    }),
  );
  if (!providers.length) {
    list.append(h("li", { className: "provider-item empty" }, "No providers: add one below."));
  }
}

function renderDefaultModel() {
  const select = $("default-model");
  const chosen = current.settings.default_model || "";
  select.replaceChildren(h("option", { value: "" }, "The first model available"), ...modelGroups());
  if (chosen && ![...select.options].some((o) => o.value === chosen)) {
    select.append(h("option", { value: chosen }, `${chosen} (not available)`));
  }
  select.value = chosen;
}

// --- the provider form ---------------------------------------------------------------------

function updateUrlHint() {
  const kind = $("provider-kind").value;
  const input = $("provider-url");
  input.placeholder = kind === "openai" ? "https://api.openai.com/v1" : KIND_DEFAULTS[kind].url;
  $("provider-url-hint").textContent = {
    ollama: "Where Ollama listens; empty means this computer (or OLLAMA_HOST).",
    openai: "The part before /chat/completions, usually ending in /v1.",
    anthropic: "Optional: leave empty for Anthropic's own address (https://api.anthropic.com).",
    gemini: "Optional: empty means Google's own address. The key comes from Google AI Studio.",
  }[kind];
  $("provider-service-row").hidden = kind !== "openai" || Boolean(editing);
}

// An id no other provider has: the suggestion itself, else with -2, -3… after it.
function freeId(id) {
  const taken = new Set(current ? current.settings.providers.map((p) => p.id) : []);
  let candidate = id;
  for (let n = 2; taken.has(candidate); n++) candidate = `${id}-${n}`;
  return candidate;
}

// Fill in a new provider's id and address from a kind or a service, leaving alone what the
// person typed themselves (a field is theirs once it differs from what was filled in).
function fillIn(choice) {
  if (editing || !choice) return;
  const id = $("provider-id");
  const url = $("provider-url");
  if (!id.value.trim() || id.value === filled.id) {
    id.value = choice.id ? freeId(choice.id) : "";
    filled.id = id.value;
  }
  if (!url.value.trim() || url.value === filled.url) {
    url.value = choice.url;
    filled.url = url.value;
  }
  clearTestResult();
}

function clearTestResult() {
  $("provider-test-result").textContent = "";
  $("provider-test-result").className = "test-result";
  $("provider-use-address").hidden = true;
}

// "Use this address": the address the server answered at goes into the field.
function useTestedAddress() {
  const button = $("provider-use-address");
  $("provider-url").value = button.dataset.address;
  updateKeyFields();
  button.hidden = true;
  $("provider-test-result").textContent = `The address is now ${button.dataset.address}: ` +
    "save the provider to keep it.";
  $("provider-url").focus();
}

// Whether two provider addresses are the same place however written (case, default port, a
// trailing /), as the server compares them. An empty field means the address stays.
function sameAddress(typed, saved) {
  if (!typed) return true;
  try {
    const [a, b] = [new URL(typed), new URL(saved)];
    const path = (url) => url.pathname.replace(/\/+$/, "");
    return a.protocol === b.protocol && a.hostname === b.hostname && a.port === b.port &&
      path(a) === path(b);
  } catch {
    return typed.replace(/\/+$/, "") === saved.replace(/\/+$/, "");
  }
}

function addressChanged() {
  return Boolean(editing) && !sameAddress($("provider-url").value.trim(), editing.base_url);
}

// The key fields as they stand for the address in the form: the stored key (and the variable
// naming one) only while it is the saved address.
function updateKeyFields() {
  const provider = editing;
  const moved = addressChanged();
  const keySet = Boolean(provider && provider.api_key_set);
  const key = $("provider-key");
  const env = $("provider-key-env");
  key.placeholder = keySet && !moved ? "A key is set; type a new one to replace it" : "";
  $("provider-key-hint").textContent = moved && (keySet || provider.api_key_env)
    ? "The address changed, so the stored key will not be sent there: type the key for the new " +
      "address (or name its variable again after saving)."
    : keySet
      ? `A key is set (${provider.api_key}). Leave this empty to keep it.`
      : KEY_HINT;
  $("provider-key-clear-row").hidden = !keySet || moved;
  if (moved) {
    $("provider-key-clear").checked = false;
    if (provider.api_key_env && env.value.trim() === provider.api_key_env) env.value = "";
  } else if (provider && provider.api_key_env && !env.value.trim()) {
    env.value = provider.api_key_env;
  }
}

function showForm(provider) {
  editing = provider;
  const form = $("provider-form");
  form.hidden = false;
  $("add-provider").hidden = true;
  $("provider-form-title").textContent = provider ? `Edit ${provider.id}` : "Add provider";
  const id = $("provider-id");
  id.value = provider ? provider.id : "";
  id.readOnly = Boolean(provider);
  $("provider-id-hint").textContent = provider
    ? "The id cannot change: chats refer to it. Remove the provider and add a new one instead."
    : "Letters, digits, - and _. Model ids start with it: <id>/<model>.";
  $("provider-kind").value = provider ? provider.kind : "openai";
  $("provider-url").value = provider ? provider.base_url : "";
  $("provider-key").value = ""; // write-only: never filled in
  $("provider-key-clear").checked = false;
  $("provider-key-env").value = provider && provider.api_key_env ? provider.api_key_env : "";
  updateKeyFields();
  $("provider-models").value = provider ? provider.models.join("\n") : "";
  $("provider-service").value = "";
  filled = { id: "", url: "" };
  clearTestResult();
  setError("provider-error", "");
  updateUrlHint();
  (provider ? $("provider-url") : id).focus();
  form.scrollIntoView({ block: "nearest" });
}

function hideForm() {
  if (!dialog) return;
  $("provider-form").hidden = true;
  $("add-provider").hidden = false;
  $("provider-key").value = "";
  editing = null;
}

// A stored provider as the settings API takes it back: no api_key, so the stored key stays.
function storedEntry(provider) {
  const entry = { id: provider.id, kind: provider.kind, base_url: provider.base_url };
  if (provider.models.length) entry.models = provider.models;
  if ((provider.bare_think_models || []).length) entry.bare_think_models = provider.bare_think_models;
  if (Object.keys(provider.headers || {}).length) entry.headers = provider.headers;
  if (provider.api_key_env) entry.api_key_env = provider.api_key_env;
  if (provider.attribution === false) entry.attribution = false;
  for (const key of TIMEOUT_KEYS) if (provider[key] != null) entry[key] = provider[key];
  return entry;
}

// The form as a provider entry (`forTest`: the key only when typed or cleared, as for saving).
function formEntry() {
  const entry = editing ? storedEntry(editing) : {};
  entry.id = $("provider-id").value.trim();
  entry.kind = $("provider-kind").value;
  const url = $("provider-url").value.trim();
  if (url) entry.base_url = url;
  else delete entry.base_url;
  const env = $("provider-key-env").value.trim();
  if (env) entry.api_key_env = env;
  else delete entry.api_key_env;
  const models = $("provider-models").value.split(/[\n,]/).map((m) => m.trim()).filter(Boolean);
  if (models.length) entry.models = models;
  else delete entry.models;
  const key = $("provider-key").value.trim();
  if (key) entry.api_key = key;
  else if ($("provider-key-clear").checked) entry.api_key = "";
  return entry;
}

function setError(id, text) {
  const box = $(id);
  box.textContent = text || "";
  box.hidden = !text;
}

function setStatus(text) {
  $("settings-status").textContent = text;
}

async function testConnection() {
  const result = $("provider-test-result");
  const button = $("provider-test");
  setError("provider-error", "");
  clearTestResult();
  result.textContent = "Testing…";
  button.disabled = true;
  try {
    const answer = await api("POST", "/api/providers/test", formEntry());
    if (answer.status === "ok") {
      result.className = "test-result ok";
      const count = answer.models.length;
      const names = answer.models.slice(0, 8).join(", ") + (count > 8 ? ", …" : "");
      // The server's own sentence says where it answered, or where to name models.
      result.textContent = [
        count ? `Connection ok: ${count} model${count === 1 ? "" : "s"} (${names}).`
          : "Connection ok.",
        answer.message || "",
      ].join(" ").trim();
      if (answer.address) {
        const use = $("provider-use-address");
        use.dataset.address = answer.address;
        use.hidden = false;
      }
    } else {
      result.className = "test-result bad";
      result.textContent = `${statusText(answer)}: ${answer.message || "no answer"}`;
    }
    // What stayed behind because the address is not the saved one.
    if (answer.note) result.textContent += ` ${answer.note}`;
  } catch (error) {
    result.textContent = "";
    setError("provider-error", error.message);
  } finally {
    button.disabled = false;
  }
}

// Save the whole providers list (that is how the settings API takes it).
async function saveProviders(entries, errorId) {
  setError(errorId, "");
  try {
    current = await api("PATCH", "/api/settings", { providers: entries });
  } catch (error) {
    setError(errorId, error.message);
    if (error.status === 409) await refresh();
    return false;
  }
  setStatus("Saved.");
  emit(EVENTS.modelsChanged);
  showBanner();
  render();
  return true;
}

async function saveProvider() {
  const entry = formEntry();
  if (!entry.id) {
    setError("provider-error", "Give the provider an id, e.g. openrouter.");
    $("provider-id").focus();
    return;
  }
  const others = current.settings.providers.map(storedEntry);
  const index = others.findIndex((p) => p.id === (editing ? editing.id : entry.id));
  if (!editing && index >= 0) {
    setError("provider-error", `There is already a provider “${entry.id}”; pick another id.`);
    $("provider-id").focus();
    return;
  }
  if (index >= 0) others[index] = entry;
  else others.push(entry);
  const moved = addressChanged();
  const saved = await saveProviders(others, "provider-error");
  if (saved) {
    const now = current.settings.providers.find((p) => p.id === entry.id);
    if (moved && entry.api_key_env && now && !now.api_key_env) {
      setStatus(`Saved. The key from ${entry.api_key_env} stays with the old address: name ` +
        "the variable again to use it at the new one.");
    }
    hideForm();
    $("add-provider").focus();
  }
}

async function removeProvider(provider, button) {
  // Two steps instead of a confirm() box: the first press asks, the second removes.
  if (button.dataset.confirm !== "yes") {
    button.dataset.confirm = "yes";
    button.textContent = `Really remove ${provider.id}?`;
    button.setAttribute("aria-label", `Really remove ${provider.id}?`);
    return;
  }
  const rest = current.settings.providers.filter((p) => p.id !== provider.id).map(storedEntry);
  if (editing && editing.id === provider.id) hideForm();
  if (await saveProviders(rest, "providers-error")) $("add-provider").focus();
}

function mcpSaved(body) {
  current = body;
  setStatus("Saved.");
  showBanner();
  render();
}

function keysMoved(body, message) {
  mcpSaved(body);
  setStatus(message);
}

async function saveDefaultModel() {
  setError("default-model-error", "");
  const value = $("default-model").value || null;
  try {
    current = await api("PATCH", "/api/settings", { default_model: value });
  } catch (error) {
    setError("default-model-error", error.message);
    return;
  }
  setStatus("Saved.");
  emit(EVENTS.modelsChanged);
}

async function changeTheme(value) {
  setError("theme-error", "");
  try {
    current = await saveTheme(value);
    setStatus("Saved.");
  } catch (error) {
    setError("theme-error", error.message);
    render();
  }
}

// --- opening and the banner ----------------------------------------------------------------

async function refresh() {
  const before = current && JSON.stringify(current.settings);
  current = await api("GET", "/api/settings");
  showTheme(current.settings.theme);
  showBanner();
  render();
  // Edited by hand meanwhile (or fixed): the model list may have changed too.
  if (before && before !== JSON.stringify(current.settings)) emit(EVENTS.modelsChanged);
}

export async function openSettings({ add = false } = {}) {
  if (!dialog) build();
  if (!dialog.open) {
    setStatus("");
    for (const id of ["providers-error", "default-model-error", "theme-error"]) setError(id, "");
    await Promise.all([refresh(), loadKeys()]);
    panel.show();
  }
  if (add && !fatal()) showForm(null);
}

function showBanner() {
  const problem = current && current.problem;
  let banner = $("settings-banner");
  if (!problem) {
    if (banner) banner.remove();
  } else {
    if (!banner) {
      banner = h("div", { id: "settings-banner", className: "settings-banner", role: "alert" });
      const main = document.querySelector("main") || document.body;
      main.prepend(banner);
    }
    banner.className = `settings-banner ${problem.fatal ? "fatal" : "warning"}`;
    const open = h("button", { type: "button" }, "Open Settings");
    open.addEventListener("click", () => openSettings());
    banner.replaceChildren(
      h("p", {},
        h("strong", {}, problem.fatal ? "Settings file error: " : "Settings: "), problem.message,
        problem.fatal ? " OpenChat keeps using the last settings that worked until you fix it." : ""),
      open,
    );
  }
  // While something is wrong, look again every few seconds: fixing the file clears the banner.
  clearTimeout(problemTimer);
  if (problem) problemTimer = setTimeout(() => refresh().catch(() => {}), 4000);
}

export function initSettings() {
  $("open-settings").addEventListener("click", () => openSettings());
  on(EVENTS.settingsOpen, (options) => openSettings(options));
  on(EVENTS.modelsLoaded, () => render());
  // The file may have been edited in another window: look again when the page is back in front.
  window.addEventListener("focus", () => refresh().catch(() => {}));
  initialSettings.then(
    (body) => {
      current = body;
      showBanner();
    },
    () => {},
  );
}
