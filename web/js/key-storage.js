// Where API keys are kept, in the Settings panel: each provider's line says where its key comes
// from (the keychain, the settings file, an environment variable) without showing it, and a
// one-click "Move keys to the keychain" appears while the file holds keys and a keychain is
// usable. Without one, a note says the keys stay in the file and why.
//
// GET /api/settings/keys is asked only while the file holds a key: asking makes the server load
// its keychain library, which an app keeping no key in the file has no use for.

import { api } from "./api.js";
import { h } from "./dialogs.js";

let onMoved = null; // settings.js's callback with the settings after a move

/** The section under the provider list; `moved(body, message)` takes the settings after a
 * move and the sentence saying how it went (the section hides once the file holds no key). */
export function keyStorageSection({ moved }) {
  onMoved = moved;
  const button = h("button", { type: "button", id: "move-keys" }, "Move keys to the keychain");
  button.addEventListener("click", moveKeys);
  return h("div", { id: "key-storage", className: "key-storage", hidden: true },
    h("p", { id: "key-storage-note", className: "hint" }),
    button,
    h("p", { id: "key-storage-status", role: "status" }));
}

/** A provider's key line: where the key comes from, or null when it has none. */
export function keyLine(provider) {
  if (provider.key_problem) return provider.key_problem;
  if (provider.from_environment) return `From ${provider.from_environment}; its key stays there.`;
  const masked = provider.api_key ? ` (${provider.api_key})` : "";
  switch (provider.key_place) {
    case "keychain": return `API key in the keychain${masked}`;
    case "file": return `API key in the settings file${masked}`;
    case "environment": return `API key from $${provider.key_variable}${masked}`;
    default:
      return provider.api_key_env ? `API key from $${provider.api_key_env} (not set)` : null;
  }
}

/** Show the move button or the note for the settings shown (`settings` as GET returns it). */
export async function renderKeyStorage(settings) {
  const section = document.getElementById("key-storage");
  if (!section) return;
  const inFile = settings.providers.some((p) => p.key_place === "file");
  if (!inFile) {
    section.hidden = true;
    return;
  }
  let where;
  try {
    where = await api("GET", "/api/settings/keys");
  } catch {
    section.hidden = true;
    return;
  }
  const count = where.file_keys;
  section.hidden = count === 0;
  document.getElementById("move-keys").hidden = !where.keychain;
  document.getElementById("key-storage-note").textContent = where.keychain
    ? `${count} key${count === 1 ? " is" : "s are"} in the settings file. Move ${
      count === 1 ? "it" : "them"} to ${where.keychain_name}, so the file holds no key.`
    : where.reason;
}

async function moveKeys() {
  const button = document.getElementById("move-keys");
  const status = document.getElementById("key-storage-status");
  button.disabled = true;
  status.textContent = "Moving…";
  try {
    const body = await api("POST", "/api/settings/keys/move");
    status.textContent = body.message;
    if (onMoved) {
      onMoved({ path: body.path, problem: body.problem, settings: body.settings }, body.message);
    }
  } catch (error) {
    status.textContent = error.message;
  } finally {
    button.disabled = false;
  }
}
