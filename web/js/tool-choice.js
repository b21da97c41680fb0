// The chat's choice of tool servers: a "Tools" button beside the composer opens a panel with a
// checkbox per tool source (OpenChat's own tools and each MCP server, from GET /api/tools).
// Each change is saved to the chat at once (PATCH tool_servers); "Use every enabled server"
// goes back to the default (null), which follows the servers added later.

import { api } from "./api.js";
import { h, keepingFocus, modalPanel } from "./dialogs.js";
import { $, EVENTS, notify, on, state } from "./state.js";

let dialog = null;
let panel = null;
let sources = [];

const KIND_WORDS = {
  builtin: "date and time, arithmetic, chat search, attached files", stdio: "command",
  http: "HTTP",
};

function build() {
  dialog = h(
    "dialog",
    { id: "tool-choice-dialog", className: "settings-dialog tool-choice-dialog",
      "aria-labelledby": "tool-choice-title", "aria-modal": "true" },
    h("header", { className: "settings-head" },
      h("h2", { id: "tool-choice-title" }, "Tools for this chat"),
      h("button", { type: "button", id: "tool-choice-close" }, "Close")),
    h("div", { className: "settings-body" },
      h("p", { id: "tool-choice-hint", className: "hint" }),
      h("fieldset", { id: "tool-choice-fields", className: "choices" },
        h("legend", { className: "visually-hidden" }, "Tool servers this chat uses"),
        h("ul", { id: "tool-choice-list", className: "tool-choice-list" })),
      h("div", { className: "actions" },
        h("button", { type: "button", id: "tool-choice-all" }, "Use every enabled server")),
      h("p", { id: "tool-choice-status", className: "hint", role: "status" })),
  );
  document.body.append(dialog);
  panel = modalPanel(dialog, { closeButton: $("tool-choice-close"),
                               fallback: () => $("message-input") });
  $("tool-choice-all").addEventListener("click", () => save(null));
}

function chosen(source) {
  const list = state.current && state.current.tool_servers;
  return list ? list.includes(source.id) : source.enabled;
}

function render() {
  const chat = state.current;
  $("tool-choice-hint").textContent = chat
    ? "The model may use the tools of the servers ticked here."
    : "Send a first message, then choose the tools of this chat.";
  $("tool-choice-fields").disabled = !chat;
  $("tool-choice-all").disabled = !chat || chat.tool_servers === null;
  const list = $("tool-choice-list");
  list.replaceChildren(...sources.map((source) => {
    const box = h("input", { type: "checkbox", id: `tool-choice-${source.id}`,
                             name: "tool-server", value: source.id,
                             checked: chosen(source), disabled: !source.enabled });
    box.addEventListener("change", changed);
    const note = !source.enabled ? "Disabled in Settings."
      : source.status === "error" ? source.message : null;
    return h("li", {},
      h("label", { htmlFor: box.id }, box,
        h("strong", {}, source.kind === "builtin" ? "Built-in tools" : source.id),
        h("span", { className: "hint" }, KIND_WORDS[source.kind] || source.kind)),
      note ? h("p", { className: "tool-choice-note" }, note) : null);
  }));
  if (!sources.length) {
    list.append(h("li", {}, "No tools yet: add an MCP server in Settings."));
  }
}

function changed() {
  const ticked = [...dialog.querySelectorAll("input[name=tool-server]:checked")]
    .map((box) => box.value);
  save(ticked);
}

async function save(ids) {
  const chat = state.current;
  if (!chat) return;
  $("tool-choice-status").textContent = "Saving…";
  try {
    const saved = await api("PATCH", `/api/sessions/${chat.id}`, { tool_servers: ids });
    if (state.current && state.current.id === chat.id) state.current = saved;
    $("tool-choice-status").textContent = "Saved.";
  } catch (error) {
    $("tool-choice-status").textContent = `Not saved: ${error.message}`;
    notify(`The chat's tools were not saved: ${error.message}`);
  }
  keepingFocus(dialog, render);
}

async function open() {
  if (!dialog) build();
  $("tool-choice-status").textContent = "";
  try {
    sources = (await api("GET", "/api/tools")).sources;
  } catch (error) {
    sources = [];
    $("tool-choice-status").textContent = error.message;
  }
  render();
  panel.show();
}

export function initToolChoice() {
  // Beside the composer: the chat's header has no room left at 1040 px.
  const button = h("button", { type: "button", id: "open-tools", className: "open-tools",
                               "aria-haspopup": "dialog",
                               title: "The tool servers this chat may use" }, "Tools");
  button.addEventListener("click", () => open());
  $("attach").after(button);
  on(EVENTS.sessionChanged, () => dialog && dialog.open && keepingFocus(dialog, render));
}
