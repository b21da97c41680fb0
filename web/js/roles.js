// Roles (reusable system prompts) and this chat's own system prompt: the Roles panel (a modal
// <dialog>: list, create, edit, delete, use in this chat) and the header's role chip with its
// clear button. The model gets both as one system message: the role's instructions, a blank
// line, then the chat's prompt (the server's rule; the panel shows the result).
//
// Opens on EVENTS.rolesOpen; keeps state.roles and emits EVENTS.rolesChanged after every change.

import { api } from "./api.js";
import { field, h, keepingFocus, modalPanel } from "./dialogs.js";
import { $, EVENTS, emit, notify, on, state } from "./state.js";
import { updateSession } from "./session.js";

let dialog = null;
let panel = null; // dialogs.js's handle: show()
let editing = null; // the role being edited, or null for a new one

export async function loadRoles() {
  const { roles } = await api("GET", "/api/roles");
  state.roles = roles;
  emit(EVENTS.rolesChanged);
  return roles;
}

function activeRole() {
  const id = state.current && state.current.role_id;
  return id ? state.roles.find((role) => role.id === id) || null : null;
}

/** Use `roleId` (null: none) in the open chat, creating the chat if it is new. */
export async function useRole(roleId) {
  return updateSession({ role_id: roleId });
}

// --- the header chip ------------------------------------------------------------------------

function showChip() {
  const role = activeRole();
  $("role-chip").hidden = !role;
  if (!role) return;
  const name = $("role-chip-name");
  name.textContent = `Role: ${role.name}`;
  name.title = `Role: ${role.name} (click to change it)`;
}

// --- the panel ------------------------------------------------------------------------------

function build() {
  const form = h(
    "form",
    { id: "role-form", className: "provider-form role-form", hidden: true, noValidate: true,
      "aria-labelledby": "role-form-title" },
    h("h4", { id: "role-form-title" }, "New role"),
    field("Name", h("input", { id: "role-name", autocomplete: "off", maxLength: 200,
                               placeholder: "e.g. Translator" })),
    field("Instructions", h("textarea", { id: "role-instructions", rows: 6 }),
          "Sent as the system message of every chat using this role. Ctrl+Enter saves."),
    h("p", { id: "role-error", className: "form-error", role: "alert" }),
    h("div", { className: "actions" },
      h("span", { className: "spacer" }),
      h("button", { type: "button", id: "role-cancel" }, "Cancel"),
      h("button", { type: "submit", className: "primary", id: "role-save" }, "Save role")),
  );
  dialog = h(
    "dialog",
    { id: "roles-dialog", className: "settings-dialog roles-dialog",
      "aria-labelledby": "roles-title", "aria-modal": "true" },
    h("header", { className: "settings-head" },
      h("h2", { id: "roles-title" }, "Roles"),
      h("button", { type: "button", id: "roles-close" }, "Close")),
    h("div", { className: "settings-body" },
      h("section", { "aria-labelledby": "role-list-title" },
        h("h3", { id: "role-list-title" }, "Roles"),
        h("p", { className: "hint" }, "Reusable system prompts. A chat uses at most one."),
        h("ul", { id: "role-list", className: "provider-list role-list" }),
        h("p", { id: "roles-error", className: "form-error", role: "alert" }),
        h("button", { type: "button", id: "new-role" }, "New role"),
        form),
      h("section", { "aria-labelledby": "chat-prompt-title" },
        h("h3", { id: "chat-prompt-title" }, "This chat"),
        field("System prompt for this chat", h("textarea", { id: "chat-system-prompt", rows: 3 }),
              "Added after the role's instructions, separated by a blank line."),
        h("div", { className: "actions" },
          h("button", { type: "button", id: "save-chat-prompt" }, "Save prompt"),
          h("span", { id: "chat-prompt-status", className: "hint", role: "status" })),
        h("p", { className: "hint" }, "What the model receives as its system message:"),
        h("pre", { id: "system-preview", className: "system-preview" }))),
  );
  document.body.append(dialog);
  panel = modalPanel(dialog, { closeButton: $("roles-close"), onClose: hideForm,
                               fallback: () => $("message-input") });
  $("new-role").addEventListener("click", () => showForm(null));
  $("role-cancel").addEventListener("click", () => {
    hideForm();
    $("new-role").focus();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    saveRole();
  });
  $("role-instructions").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  $("save-chat-prompt").addEventListener("click", saveChatPrompt);
  $("chat-system-prompt").addEventListener("input", renderPreview);
}

function render() {
  if (dialog) keepingFocus(dialog, renderList);
}

function renderList() {
  const active = activeRole();
  const list = $("role-list");
  list.replaceChildren(...state.roles.map((role) => {
    const inUse = active && active.id === role.id;
    const use = h("button", { type: "button", className: inUse ? "primary" : "",
                              "data-action": "use", "aria-pressed": inUse ? "true" : "false",
                              "aria-label": inUse ? `Stop using ${role.name}` : `Use ${role.name}` },
                  inUse ? "In use" : "Use");
    const edit = h("button", { type: "button", "data-action": "edit",
                               "aria-label": `Edit ${role.name}` }, "Edit");
    const remove = h("button", { type: "button", className: "danger", "data-action": "delete",
                                 "aria-label": `Delete ${role.name}` }, "Delete");
    use.addEventListener("click", () => toggleUse(role, inUse));
    edit.addEventListener("click", () => showForm(role));
    remove.addEventListener("click", () => deleteRole(role, remove));
    return h("li", { className: `provider-item role-item${inUse ? " in-use" : ""}`,
                     "data-id": role.id },
      h("div", { className: "provider-line" }, h("strong", { className: "role-name" }, role.name)),
      h("p", { className: "role-instructions" }, role.instructions || "(no instructions)"),
      h("div", { className: "provider-actions" }, use, edit, remove));
  }));
  if (!state.roles.length) {
    list.append(h("li", { className: "provider-item empty" }, "No roles yet: create one below."));
  }
  renderPreview();
}

function renderPreview() {
  if (!dialog) return;
  const role = activeRole();
  const parts = [];
  if (role && role.instructions.trim()) parts.push(role.instructions.trim());
  const own = $("chat-system-prompt").value.trim();
  if (own) parts.push(own);
  $("system-preview").textContent = parts.length ? parts.join("\n\n") : "(none: no system message)";
}

function setError(id, text) {
  $(id).textContent = text || "";
}

function showForm(role) {
  editing = role;
  $("role-form").hidden = false;
  $("new-role").hidden = true;
  $("role-form-title").textContent = role ? `Edit ${role.name}` : "New role";
  $("role-name").value = role ? role.name : "";
  $("role-instructions").value = role ? role.instructions : "";
  setError("role-error", "");
  $("role-name").focus();
}

function hideForm() {
  if (!dialog) return;
  $("role-form").hidden = true;
  $("new-role").hidden = false;
  editing = null;
}

async function saveRole() {
  const body = { name: $("role-name").value.trim(), instructions: $("role-instructions").value };
  if (!body.name) {
    setError("role-error", "Give the role a name.");
    $("role-name").focus();
    return;
  }
  const wasNew = !editing;
  try {
    await (editing ? api("PUT", `/api/roles/${editing.id}`, body) : api("POST", "/api/roles", body));
  } catch (error) {
    setError("role-error", error.message);
    $("role-name").focus();
    return;
  }
  hideForm();
  await loadRoles();
  const item = [...$("role-list").children].find(
    (li) => li.querySelector(".role-name")?.textContent === body.name);
  // Focus the saved role's first button, so Enter uses it right away.
  (item ? item.querySelector("button") : $("new-role")).focus();
  $("chat-prompt-status").textContent = wasNew ? `Created ${body.name}.` : `Saved ${body.name}.`;
}

async function deleteRole(role, button) {
  // Two steps instead of a confirm() box: the first press asks, the second deletes.
  if (button.dataset.confirm !== "yes") {
    button.dataset.confirm = "yes";
    button.textContent = `Really delete ${role.name}?`;
    button.setAttribute("aria-label", `Really delete ${role.name}?`);
    return;
  }
  setError("roles-error", "");
  try {
    await api("DELETE", `/api/roles/${role.id}`);
  } catch (error) {
    setError("roles-error", error.message);
    return;
  }
  if (state.current && state.current.role_id === role.id) {
    state.current = { ...state.current, role_id: null }; // the server cleared it too
    emit(EVENTS.sessionChanged, state.current);
  }
  await loadRoles();
  $("new-role").focus();
}

async function toggleUse(role, inUse) {
  setError("roles-error", "");
  try {
    await useRole(inUse ? null : role.id);
  } catch (error) {
    setError("roles-error", error.message);
    return;
  }
  const item = $("role-list").querySelector(`li[data-id="${CSS.escape(role.id)}"] button`);
  if (item) item.focus();
}

async function saveChatPrompt() {
  const value = $("chat-system-prompt").value;
  try {
    await updateSession({ system_prompt: value.trim() ? value : null });
  } catch (error) {
    $("chat-prompt-status").textContent = error.message;
    return;
  }
  $("chat-prompt-status").textContent = "Saved.";
}

export async function openRoles() {
  if (!dialog) build();
  if (dialog.open) return;
  hideForm();
  setError("roles-error", "");
  $("chat-prompt-status").textContent = "";
  $("chat-system-prompt").value = (state.current && state.current.system_prompt) || "";
  await loadRoles().catch((error) => setError("roles-error", error.message));
  render();
  panel.show();
  $("new-role").focus();
}

export function initRoles() {
  state.roles = [];
  $("open-roles").addEventListener("click", () => openRoles());
  $("role-chip-name").addEventListener("click", () => openRoles());
  $("role-clear").addEventListener("click", () => {
    useRole(null).then(() => $("message-input").focus(), (error) => notify(error.message));
  });
  on(EVENTS.rolesOpen, () => openRoles().catch((error) => notify(error.message)));
  on(EVENTS.rolesChanged, () => {
    showChip();
    render();
  });
  for (const name of [EVENTS.sessionOpened, EVENTS.sessionChanged, EVENTS.sessionNew]) {
    on(name, () => {
      showChip();
      render();
    });
  }
  loadRoles().catch((error) => notify(error.message));
}
