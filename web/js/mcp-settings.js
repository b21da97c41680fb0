// The Settings panel's "MCP servers" section: each server with its status (from GET /api/tools),
// its error and its tools; add and edit (a command with arguments and environment, or an HTTP
// address with headers), enable or disable, the approval of its tools, Test (the entry in the
// form, not saved), Start, and remove after a second press. Saved through PATCH /api/settings
// as the whole list, as the providers are.
//
// Secret-looking env and header values come masked ("…1234"); sent back as they are, they mean
// the stored ones, as long as the server runs the same command or reaches the same address.

import { api } from "./api.js";
import { field, h } from "./dialogs.js";
import { $ } from "./state.js";

const APPROVALS = { ask: "Ask each time", always: "Always allow", never: "Never allow" };
const STATUS_WORDS = { ok: "running", stopped: "stopped", starting: "starting…", error: "error" };

let settings = null; // the settings API's answer, as the panel last rendered it
let sources = {}; // GET /api/tools's sources by id
let editing = null; // the stored server being edited, or null for a new one
let saved = () => {}; // settings.js: takes the answer of a save

export function mcpSection({ onSaved }) {
  saved = onSaved;
  const approval = h("select", { id: "mcp-approval", name: "approval" },
    ...Object.entries(APPROVALS).map(([value, label]) => h("option", { value }, label)));
  const form = h(
    "form",
    { id: "mcp-form", className: "provider-form mcp-form", hidden: true, noValidate: true,
      "aria-labelledby": "mcp-form-title" },
    h("h4", { id: "mcp-form-title" }, "Add MCP server"),
    field("Server id", h("input", { id: "mcp-id", name: "id", autocomplete: "off", spellcheck: false,
                             maxLength: 64, placeholder: "e.g. files" }),
          "Letters, digits, - and _."),
    h("fieldset", { className: "choices mcp-transport" },
      h("legend", {}, "How OpenChat reaches it"),
      h("label", { className: "choice" },
        h("input", { type: "radio", name: "mcp-transport", value: "stdio", id: "mcp-stdio" }),
        "A command on this computer"),
      h("label", { className: "choice" },
        h("input", { type: "radio", name: "mcp-transport", value: "http", id: "mcp-http" }),
        "An HTTP address")),
    h("div", { id: "mcp-stdio-fields" },
      field("Command", h("input", { id: "mcp-command", autocomplete: "off", spellcheck: false,
                                    placeholder: "e.g. npx" })),
      field("Arguments", h("textarea", { id: "mcp-args", rows: 2, spellcheck: false }),
            "One per line."),
      field("Environment", h("textarea", { id: "mcp-env", rows: 2, spellcheck: false }),
            "NAME=value, one per line. A value shown as …1234 is the stored one: leave it to " +
            "keep it.")),
    h("div", { id: "mcp-http-fields", hidden: true },
      field("URL", h("input", { id: "mcp-url", type: "url", autocomplete: "off",
                                spellcheck: false, placeholder: "http://127.0.0.1:8000/mcp" })),
      field("Headers", h("textarea", { id: "mcp-headers", rows: 2, spellcheck: false }),
            "Name: value, one per line, e.g. Authorization: Bearer …. A value shown as …1234 " +
            "is the stored one.")),
    field("Tools run", approval, "Whether a tool of this server runs after asking you."),
    h("div", { className: "field check" },
      h("input", { id: "mcp-enabled", type: "checkbox", checked: true }),
      h("label", { htmlFor: "mcp-enabled" }, "Enabled: chats may use it")),
    h("div", { id: "mcp-test-result", className: "mcp-result", role: "status" }),
    h("p", { id: "mcp-error", className: "form-error", role: "alert" }),
    h("div", { className: "actions" },
      h("button", { type: "button", id: "mcp-test" }, "Test"),
      h("span", { className: "spacer" }),
      h("button", { type: "button", id: "mcp-cancel" }, "Cancel"),
      h("button", { type: "submit", className: "primary", id: "mcp-save" }, "Save server")),
  );
  const section = h("section", { "aria-labelledby": "mcp-title", className: "mcp-section" },
    h("h3", { id: "mcp-title" }, "MCP servers"),
    h("p", { className: "hint" }, "Programs or services whose tools chats may use. A server " +
      "starts when a chat first needs it."),
    h("ul", { id: "mcp-list", className: "provider-list mcp-list" }),
    h("p", { id: "mcp-list-error", className: "form-error", role: "alert" }),
    h("button", { type: "button", id: "add-mcp" }, "Add MCP server"),
    form);
  section.querySelector("#add-mcp").addEventListener("click", () => showForm(null));
  section.querySelector("#mcp-cancel").addEventListener("click", () => {
    hideForm();
    $("add-mcp").focus();
  });
  section.querySelector("#mcp-test").addEventListener("click", testServer);
  for (const radio of section.querySelectorAll("input[name=mcp-transport]")) {
    radio.addEventListener("change", showTransport);
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    saveServer();
  });
  return section;
}

// --- the list ------------------------------------------------------------------------------

/** Render the list from the settings; the statuses come in after (GET /api/tools). */
export function renderMcp(current) {
  settings = current;
  renderList();
  loadStatuses();
}

export function hideMcpForm() {
  hideForm();
}

async function loadStatuses() {
  try {
    const body = await api("GET", "/api/tools");
    sources = Object.fromEntries(body.sources.map((source) => [source.id, source]));
  } catch {
    sources = {};
  }
  renderList();
}

function servers() {
  return (settings && settings.settings.mcp_servers) || [];
}

function where(server) {
  return server.url || [server.command, ...server.args].join(" ");
}

function renderList() {
  const list = $("mcp-list");
  if (!list) return;
  const focused = document.activeElement;
  const focusKey = focused && list.contains(focused)
    ? [focused.closest("[data-id]")?.dataset.id, focused.dataset.action] : null;
  list.replaceChildren(...servers().map(serverItem));
  if (!servers().length) {
    list.append(h("li", { className: "provider-item empty" }, "No MCP servers yet."));
  }
  if (focusKey) {
    const again = list.querySelector(
      `[data-id="${CSS.escape(focusKey[0] || "")}"] [data-action="${focusKey[1]}"]`);
    if (again) again.focus({ preventScroll: true });
  }
}

function serverItem(server) {
  const source = sources[server.id];
  const status = !server.enabled ? "disabled" : source ? source.status : "unknown";
  const word = status === "disabled" ? "disabled" : STATUS_WORDS[status] || "…";
  const tools = source ? source.tools : [];
  const button = (action, label, text, handler, className) => {
    const made = h("button", { type: "button", "data-action": action, "aria-label": label,
                               className }, text);
    made.addEventListener("click", () => handler(server, made));
    return made;
  };
  return h(
    "li",
    { className: "provider-item mcp-item", "data-id": server.id },
    h("div", { className: "provider-line" },
      h("strong", { className: "provider-name" }, server.id),
      h("span", { className: "provider-kind" }, server.url ? "HTTP" : "Command"),
      h("span", { className: `status status-${status}` }, word)),
    h("div", { className: "provider-url" }, h("code", {}, where(server))),
    source && source.message ? h("p", { className: "provider-message mcp-message" },
                                 source.message) : null,
    tools.length
      ? h("p", { className: "provider-models mcp-tools" },
          `${tools.length} tool${tools.length === 1 ? "" : "s"}: ` +
          tools.map((t) => t.name).slice(0, 8).join(", ") + (tools.length > 8 ? ", …" : ""))
      : null,
    h("p", { className: "provider-key" }, `Tools run: ${APPROVALS[server.approval]}`),
    h("div", { className: "provider-actions" },
      button("edit", `Edit ${server.id}`, "Edit", (s) => showForm(s)),
      server.enabled && status !== "ok"
        ? button("start", `Start ${server.id}`, "Start", startServer) : null,
      button("toggle", `${server.enabled ? "Disable" : "Enable"} ${server.id}`,
             server.enabled ? "Disable" : "Enable", toggleServer),
      button("remove", `Remove ${server.id}`, "Remove", removeServer, "danger")),
  );
}

// --- entries as the settings API takes them ------------------------------------------------

function lines(text) {
  return text.split("\n").map((line) => line.trim()).filter(Boolean);
}

function pairs(text, separator) {
  const table = {};
  for (const line of lines(text)) {
    const at = line.indexOf(separator);
    if (at <= 0) throw new Error(`Write “${line}” as name${separator}value.`);
    table[line.slice(0, at).trim()] = line.slice(at + separator.length).trim();
  }
  return table;
}

function formEntry() {
  const http = $("mcp-http").checked;
  const entry = {
    id: $("mcp-id").value.trim(),
    enabled: $("mcp-enabled").checked,
    approval: $("mcp-approval").value,
    tools: editing ? editing.tools : {},
    timeout: editing ? editing.timeout : 120,
  };
  if (http) {
    entry.url = $("mcp-url").value.trim();
    entry.headers = pairs($("mcp-headers").value, ":");
  } else {
    entry.command = $("mcp-command").value.trim();
    entry.args = lines($("mcp-args").value);
    entry.env = pairs($("mcp-env").value, "=");
  }
  return entry;
}

function storedEntry(server) {
  const entry = { id: server.id, enabled: server.enabled, approval: server.approval,
                  tools: server.tools, timeout: server.timeout };
  if (server.url) Object.assign(entry, { url: server.url, headers: server.headers });
  else Object.assign(entry, { command: server.command, args: server.args, env: server.env });
  return entry;
}

// --- the form ------------------------------------------------------------------------------

function showTransport() {
  const http = $("mcp-http").checked;
  $("mcp-http-fields").hidden = !http;
  $("mcp-stdio-fields").hidden = http;
}

function showForm(server) {
  editing = server;
  $("mcp-form-title").textContent = server ? `Edit ${server.id}` : "Add MCP server";
  $("mcp-id").value = server ? server.id : "";
  $("mcp-id").readOnly = Boolean(server);
  (server && server.url ? $("mcp-http") : $("mcp-stdio")).checked = true;
  $("mcp-command").value = server ? server.command || "" : "";
  $("mcp-args").value = server ? server.args.join("\n") : "";
  $("mcp-env").value = server
    ? Object.entries(server.env).map(([k, v]) => `${k}=${v}`).join("\n") : "";
  $("mcp-url").value = server ? server.url || "" : "";
  $("mcp-headers").value = server
    ? Object.entries(server.headers).map(([k, v]) => `${k}: ${v}`).join("\n") : "";
  $("mcp-approval").value = server ? server.approval : "ask";
  $("mcp-enabled").checked = server ? server.enabled : true;
  $("mcp-test-result").replaceChildren();
  setError("mcp-error", "");
  showTransport();
  $("mcp-form").hidden = false;
  $("add-mcp").hidden = true;
  (server ? $("mcp-command") : $("mcp-id")).focus();
}

function hideForm() {
  if (!$("mcp-form")) return;
  $("mcp-form").hidden = true;
  $("add-mcp").hidden = false;
  editing = null;
}

function setError(id, text) {
  $(id).textContent = text;
}

async function testServer() {
  const result = $("mcp-test-result");
  setError("mcp-error", "");
  let entry;
  try {
    entry = formEntry();
  } catch (error) {
    setError("mcp-error", error.message);
    return;
  }
  if (!entry.id) entry.id = "test";
  result.replaceChildren("Starting the server…");
  $("mcp-test").disabled = true;
  try {
    const body = await api("POST", "/api/tools/servers/test", entry);
    if (body.ok) {
      result.replaceChildren(
        h("p", { className: "test-ok" },
          `It works: ${body.tools.length} tool${body.tools.length === 1 ? "" : "s"}.`),
        h("ul", { className: "mcp-test-tools" },
          ...body.tools.map((tool) => h("li", {}, h("code", {}, tool.name),
                                        tool.description ? ` — ${tool.description}` : ""))));
    } else {
      result.replaceChildren(h("p", { className: "test-failed" }, body.message));
    }
  } catch (error) {
    result.replaceChildren(h("p", { className: "test-failed" }, error.message));
  } finally {
    $("mcp-test").disabled = false;
  }
}

async function saveList(entries, errorId) {
  setError(errorId, "");
  try {
    const body = await api("PATCH", "/api/settings", { mcp_servers: entries });
    saved(body);
    return true;
  } catch (error) {
    setError(errorId, error.message);
    return false;
  }
}

async function saveServer() {
  let entry;
  try {
    entry = formEntry();
  } catch (error) {
    setError("mcp-error", error.message);
    return;
  }
  if (!entry.id) {
    setError("mcp-error", "Give the server an id, e.g. files.");
    $("mcp-id").focus();
    return;
  }
  const others = servers().map(storedEntry);
  const index = others.findIndex((s) => s.id === (editing ? editing.id : entry.id));
  if (!editing && index >= 0) {
    setError("mcp-error", `There is already a server “${entry.id}”; pick another id.`);
    $("mcp-id").focus();
    return;
  }
  if (index >= 0) others[index] = entry;
  else others.push(entry);
  if (await saveList(others, "mcp-error")) {
    hideForm();
    $("add-mcp").focus();
  }
}

async function toggleServer(server) {
  const entries = servers().map((s) =>
    s.id === server.id ? { ...storedEntry(s), enabled: !s.enabled } : storedEntry(s));
  await saveList(entries, "mcp-list-error");
}

async function startServer(server, button) {
  button.disabled = true;
  button.textContent = "Starting…";
  try {
    const source = await api("POST", `/api/tools/servers/${encodeURIComponent(server.id)}/start`);
    sources[server.id] = source;
  } catch (error) {
    setError("mcp-list-error", error.message);
  }
  renderList();
}

async function removeServer(server, button) {
  // Two steps instead of a confirm() box: the first press asks, the second removes.
  if (button.dataset.confirm !== "yes") {
    button.dataset.confirm = "yes";
    button.textContent = `Really remove ${server.id}?`;
    button.setAttribute("aria-label", `Really remove ${server.id}?`);
    return;
  }
  if (editing && editing.id === server.id) hideForm();
  const rest = servers().filter((s) => s.id !== server.id).map(storedEntry);
  if (await saveList(rest, "mcp-list-error")) $("add-mcp").focus();
}
