// The model picker: every provider's models, grouped; a provider that is down shows its reason.

import { api } from "./api.js";
import { $, notify, state } from "./state.js";

export async function loadModels() {
  const { models, providers, default_model: fallback } = await api("GET", "/api/models");
  state.models = models;
  state.providers = providers;
  state.defaultModel = fallback;
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

export function selectedModel() {
  return $("model-select").value || undefined;
}

export function showModel(modelId) {
  if (modelId) $("model-select").value = modelId;
}
