// The Settings panel's "API keys" section: the keys scripts and teammates use to reach a served
// OpenChat (GET /api/keys), a form that makes one (POST /api/keys) and shows it this once with a
// Copy button, and Revoke after a second press (DELETE /api/keys/<name>). Keys live in the chat
// database, not the settings file; the section sits with the other sections (and is disabled
// with them while the file has an error that must be fixed by hand).

import { api } from "./api.js";
import { field, h } from "./dialogs.js";
import { $ } from "./state.js";

const SCOPES = {
  read: "Read: list and read chats",
  chat: "Chat: also send messages and change chats",
  admin: "Admin: also settings, providers, models and keys",
};

let keys = [];

export function apiKeysSection() {
  const scope = h("select", { id: "key-scope", name: "scope" },
    ...Object.entries(SCOPES).map(([value, label]) => h("option", { value }, label)));
  scope.value = "chat";
  const form = h(
    "form",
    { id: "key-form", className: "provider-form key-form", hidden: true, noValidate: true,
      "aria-labelledby": "key-form-title" },
    h("h4", { id: "key-form-title" }, "New API key"),
    field("Name", h("input", { id: "key-name", name: "name", autocomplete: "off",
                               spellcheck: false, maxLength: 64,
                               placeholder: "e.g. ci-script or Ana's laptop" }),
          "What it is for; you revoke it by this name."),
    field("Scope", scope),
    h("div", { className: "key-limits" },
      field("Requests per minute", h("input", { id: "key-rpm", type: "number", min: 1,
                                                 step: 1, inputMode: "numeric",
                                                 placeholder: "No limit" })),
      field("Tokens per minute", h("input", { id: "key-tpm", type: "number", min: 1, step: 1,
                                               inputMode: "numeric",
                                               placeholder: "No limit" }))),
    h("div", { className: "field check" },
      h("input", { id: "key-record", type: "checkbox", checked: true }),
      h("label", { htmlFor: "key-record" },
        "Keep its OpenAI-compatible conversations as chats")),
    h("p", { id: "key-error", className: "form-error", role: "alert" }),
    h("div", { className: "actions" },
      h("span", { className: "spacer" }),
      h("button", { type: "button", id: "key-cancel" }, "Cancel"),
      h("button", { type: "submit", className: "primary", id: "key-create" }, "Create key")),
  );
  const made = h(
    "div",
    { id: "key-made", className: "key-made", hidden: true, role: "region",
      "aria-labelledby": "key-made-title" },
    h("p", { id: "key-made-title" }, h("strong", { id: "key-made-name" }),
      " Copy it now: it will not be shown again."),
    h("div", { className: "key-made-line" },
      h("input", { id: "key-made-value", readOnly: true, spellcheck: false,
                   "aria-label": "The new API key" }),
      h("button", { type: "button", id: "key-copy" }, "Copy")),
    h("p", { id: "key-copy-status", className: "hint", role: "status" }),
    h("button", { type: "button", id: "key-made-done" }, "Done"),
  );
  const section = h("section", { "aria-labelledby": "keys-title", className: "keys-section" },
    h("h3", { id: "keys-title" }, "API keys"),
    h("p", { className: "hint" }, "For scripts and teammates reaching this OpenChat over the " +
      "network: each sends its key as Authorization: Bearer. A revoked key stops working at " +
      "once."),
    h("ul", { id: "key-list", className: "provider-list key-list" }),
    h("p", { id: "key-list-error", className: "form-error", role: "alert" }),
    made,
    h("button", { type: "button", id: "add-key" }, "Create API key"),
    form);
  section.querySelector("#add-key").addEventListener("click", showForm);
  section.querySelector("#key-cancel").addEventListener("click", () => {
    hideKeyForm();
    $("add-key").focus();
  });
  section.querySelector("#key-copy").addEventListener("click", copyKey);
  section.querySelector("#key-made-done").addEventListener("click", () => {
    forgetShownKey();
    $("add-key").focus();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    createKey();
  });
  return section;
}

/** Load and show the keys (the panel calls it each time it opens). */
export async function loadKeys() {
  setError("key-list-error", "");
  try {
    keys = (await api("GET", "/api/keys")).keys;
  } catch (error) {
    keys = [];
    setError("key-list-error", error.message);
  }
  renderList();
}

/** Close the form and drop a key still shown: it is shown once, while the panel is open. */
export function hideKeyForm() {
  if (!$("key-form")) return;
  $("key-form").hidden = true;
  $("add-key").hidden = false;
}

export function forgetShownKey() {
  if (!$("key-made")) return;
  $("key-made-value").value = "";
  $("key-made").hidden = true;
  $("key-copy-status").textContent = "";
}

// --- the list ------------------------------------------------------------------------------

function when(stamp) {
  if (!stamp) return "never";
  return new Date(stamp).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

function limits(key) {
  const parts = [];
  if (key.rpm) parts.push(`${key.rpm.toLocaleString()} requests`);
  if (key.tpm) parts.push(`${key.tpm.toLocaleString()} tokens`);
  return parts.length ? `${parts.join(" and ")} a minute` : "No limits";
}

function renderList() {
  const list = $("key-list");
  if (!list) return;
  list.replaceChildren(...keys.map(keyItem));
  if (!keys.length) {
    list.append(h("li", { className: "provider-item empty" }, "No API keys yet."));
  }
}

function keyItem(key) {
  const revoked = Boolean(key.revoked_at);
  const revoke = h("button", { type: "button", "data-action": "revoke", className: "danger",
                               "aria-label": `Revoke ${key.name}` }, "Revoke");
  revoke.addEventListener("click", () => revokeKey(key, revoke));
  return h(
    "li",
    { className: `provider-item key-item${revoked ? " revoked" : ""}`, "data-id": key.id },
    h("div", { className: "provider-line" },
      h("strong", { className: "provider-name" }, key.name),
      h("code", { className: "key-prefix" }, `${key.prefix}…`),
      h("span", { className: "provider-kind" }, key.scope),
      revoked ? h("span", { className: "status status-error" }, "revoked") : null),
    h("p", { className: "provider-key" },
      `${limits(key)} · chats ${key.record ? "kept" : "not kept"} · last used ` +
      `${when(key.last_used_at)}` + (revoked ? ` · revoked ${when(key.revoked_at)}` : "")),
    revoked ? null : h("div", { className: "provider-actions" }, revoke),
  );
}

async function revokeKey(key, button) {
  // Two steps instead of a confirm() box, as elsewhere in the panel: the first press asks.
  if (button.dataset.confirm !== "yes") {
    button.dataset.confirm = "yes";
    button.textContent = `Really revoke ${key.name}?`;
    button.setAttribute("aria-label", `Really revoke ${key.name}?`);
    return;
  }
  button.disabled = true;
  setError("key-list-error", "");
  try {
    await api("DELETE", `/api/keys/${encodeURIComponent(key.name)}`);
  } catch (error) {
    setError("key-list-error", error.message);
  }
  await loadKeys();
  $("add-key").focus();
}

// --- the form ------------------------------------------------------------------------------

function showForm() {
  forgetShownKey();
  $("key-name").value = "";
  $("key-scope").value = "chat";
  $("key-rpm").value = "";
  $("key-tpm").value = "";
  $("key-record").checked = true;
  setError("key-error", "");
  $("key-form").hidden = false;
  $("add-key").hidden = true;
  $("key-name").focus();
}

function limitValue(id, what) {
  const text = $(id).value.trim();
  if (!text) return null;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`${what} per minute must be a whole number from 1 up, or empty for no ` +
                    "limit.");
  }
  return value;
}

async function createKey() {
  setError("key-error", "");
  const name = $("key-name").value.trim();
  if (!name) {
    setError("key-error", "Give the key a name, e.g. ci-script.");
    $("key-name").focus();
    return;
  }
  let body;
  try {
    body = { name, scope: $("key-scope").value, rpm: limitValue("key-rpm", "Requests"),
             tpm: limitValue("key-tpm", "Tokens"), record: $("key-record").checked };
  } catch (error) {
    setError("key-error", error.message);
    return;
  }
  $("key-create").disabled = true;
  try {
    const answer = await api("POST", "/api/keys", body);
    hideKeyForm();
    showKey(answer.api_key.name, answer.key); // first: nothing may keep the key from showing
    await loadKeys();
    // The new key's row above it pushed the box down: bring it back into view.
    $("key-made").scrollIntoView({ block: "nearest" });
  } catch (error) {
    setError("key-error", error.message);
  } finally {
    $("key-create").disabled = false;
  }
}

function showKey(name, key) {
  $("key-made-name").textContent = `The key “${name}” is ready.`;
  $("key-made-value").value = key;
  $("key-copy-status").textContent = "";
  $("key-made").hidden = false;
  $("key-made-value").focus();
  $("key-made-value").select();
}

async function copyKey() {
  const status = $("key-copy-status");
  try {
    await navigator.clipboard.writeText($("key-made-value").value);
    status.textContent = "Copied.";
  } catch {
    $("key-made-value").select();
    status.textContent = "Copying needs clipboard permission: press Ctrl+C (⌘C) to copy it.";
  }
}

function setError(id, text) {
  $(id).textContent = text;
}
