// The model picker: every provider's models, grouped, with their capabilities; a provider that
// is down stays in the list with its reason. The open chat's model is remembered per chat.
// Emits EVENTS.modelsLoaded after each load; reloads on EVENTS.modelsChanged.

import { api } from "./api.js";
import { $, EVENTS, emit, notify, on, state } from "./state.js";

// Capabilities worth showing next to a name: every model can complete text.
const SHOWN = ["vision", "thinking", "tools", "embedding"];
const STATUS_WORDS = {
  unreachable: "not reachable",
  unauthorized: "key refused",
  error: "error",
};

let wanted = null; // the model to show once the list is in (a chat may open first)
let loading = null;

export function capabilityText(model) {
  return (model.capabilities || []).filter((c) => SHOWN.includes(c)).join(", ");
}

/** What the page calls a model: the label its provider gives it (the starter's), else its name. */
export function modelName(model) {
  return (model.details && model.details.label) || model.name;
}

/** A word about the model worth a hint (the starter's "fast, but limited…"), or "". */
export function modelNote(model) {
  return (model.details && model.details.note) || "";
}

export function modelLabel(model) {
  const caps = capabilityText(model);
  return caps ? `${modelName(model)} — ${caps}` : modelName(model);
}

export function statusText(provider) {
  return STATUS_WORDS[provider.status] || provider.status;
}

/** <optgroup>s of the models, one per provider, for a <select> (the picker and Settings). */
export function modelGroups() {
  return state.providers.map((provider) => {
    const group = document.createElement("optgroup");
    const models = state.models.filter((m) => m.provider === provider.id);
    group.label = provider.status === "ok" ? provider.id : `${provider.id} — ${statusText(provider)}`;
    if (provider.status !== "ok") {
      const reason = document.createElement("option");
      reason.disabled = true;
      reason.value = "";
      reason.className = "provider-down";
      reason.textContent = `⚠ ${statusText(provider)}: ${provider.message || "no answer"}`;
      reason.title = provider.message || "";
      group.append(reason);
    }
    for (const model of models) {
      const option = document.createElement("option");
      option.value = model.id;
      option.textContent = modelLabel(model);
      option.title = modelNote(model);
      group.append(option);
    }
    if (!models.length && provider.status === "ok") {
      const none = document.createElement("option");
      none.disabled = true;
      none.value = "";
      none.textContent = "no models yet";
      group.append(none);
    }
    return group;
  });
}

function render() {
  const select = $("model-select");
  select.replaceChildren(...modelGroups());
  if (!state.models.length) {
    const none = document.createElement("option");
    none.value = "";
    none.textContent = "No models";
    none.disabled = true;
    select.prepend(none);
  }
  apply(wanted || state.defaultModel || (state.models[0] && state.models[0].id));
}

// Select `modelId`; a model no provider lists any more is still shown, marked unavailable.
function apply(modelId) {
  const select = $("model-select");
  select.querySelector("option.missing")?.remove();
  if (!modelId) {
    select.value = "";
    return;
  }
  const known = [...select.options].some((o) => o.value === modelId && !o.disabled);
  if (!known) {
    const missing = document.createElement("option");
    missing.className = "missing";
    missing.value = modelId;
    missing.textContent = `${modelId} (not available)`;
    select.prepend(missing);
  }
  select.value = modelId;
  const shown = select.selectedOptions[0];
  select.title = shown ? [shown.textContent, shown.title].filter(Boolean).join(": ") : "";
}

export function loadModels() {
  loading = (async () => {
    const { models, providers, default_model: fallback } = await api("GET", "/api/models");
    state.models = models;
    state.providers = providers;
    state.defaultModel = fallback;
    render();
    const down = providers.filter((p) => p.status !== "ok");
    if (!models.length && down.length) notify(down.map((p) => p.message).join(" "));
    emit(EVENTS.modelsLoaded);
  })();
  return loading;
}

/** Resolves once the model list has been loaded at least once. */
export function modelsReady() {
  return loading || loadModels();
}

export function selectedModel() {
  return $("model-select").value || undefined;
}

/** Show the open chat's model (null: the default from settings). */
export function showModel(modelId) {
  wanted = modelId || null;
  apply(wanted || state.defaultModel || (state.models[0] && state.models[0].id));
}

async function remember() {
  const select = $("model-select");
  const model = select.value;
  wanted = model || null;
  apply(model);
  const session = state.current;
  if (!session || !model || session.model === model) return;
  try {
    const saved = await api("PATCH", `/api/sessions/${session.id}`, { model });
    if (state.current && state.current.id === saved.id) state.current = saved;
  } catch (error) {
    notify(error.message);
  }
}

export function initModels() {
  $("model-select").addEventListener("change", () => remember());
  on(EVENTS.modelsChanged, () => loadModels().catch((error) => notify(error.message)));
  on(EVENTS.sessionNew, () => showModel(null));
}
