// Local-only mode and the outbound log in the page: the switch in Settings, the "Local only"
// chip in the header while the mode is on, and the "What left this computer" panel, which
// lists every request to another host, newest first, with a Clear button.

import { api } from "./api.js";
import { h, modalPanel, panelDialog } from "./dialogs.js";
import { $, EVENTS, emit } from "./state.js";
import { initialSettings } from "./theme.js";

const SHOWN = 200; // rows the panel lists; the API pages further back
let dialog = null;
let panel = null;

// --- the switch, a section of the Settings panel ---------------------------------------------

// `onSaved(body)` gets the settings API's answer after the switch changed the file.
export function outboundSection({ onSaved }) {
  const box = h("input", { id: "local-only", type: "checkbox", role: "switch" });
  box.addEventListener("change", () => switchLocalOnly(box, onSaved));
  const open = h("button", { type: "button", id: "open-outbound" }, "What left this computer");
  open.addEventListener("click", () => openOutbound());
  return h("section", { "aria-labelledby": "local-only-title" },
    h("h3", { id: "local-only-title" }, "Local-only mode"),
    h("div", { className: "field check" }, box,
      h("label", { htmlFor: "local-only" }, "Use this computer only")),
    h("p", { className: "hint" }, "Refuses every request to another computer: providers, " +
      "model downloads and tool servers elsewhere. Models on this computer keep working."),
    h("p", { id: "local-only-error", className: "form-error", role: "alert" }),
    open);
}

// Called with every settings answer the Settings panel shows.
export function renderOutbound(body) {
  const on = Boolean(body.settings.local_only);
  const box = $("local-only");
  if (box) box.checked = on;
  showChip(on);
}

async function switchLocalOnly(box, onSaved) {
  $("local-only-error").textContent = "";
  try {
    const body = await api("PATCH", "/api/settings", { local_only: box.checked });
    showChip(Boolean(body.settings.local_only));
    onSaved(body);
    emit(EVENTS.modelsChanged); // remote providers' statuses change with the mode
  } catch (error) {
    box.checked = !box.checked;
    $("local-only-error").textContent = error.message;
  }
}

function showChip(on) {
  $("local-only-chip").hidden = !on;
}

// --- the log panel ---------------------------------------------------------------------------

function build() {
  dialog = panelDialog("outbound", "What left this computer",
      h("p", { id: "outbound-mode", className: "hint" }),
      h("p", { id: "outbound-empty", className: "outbound-empty", hidden: true },
        "Nothing has been sent to another computer."),
      h("table", { id: "outbound-table", className: "outbound-table", hidden: true },
        h("thead", {}, h("tr", {}, ...["Time", "From", "Request", "Status", "Sent", "Received",
                                       "Outcome"].map((name) => h("th", { scope: "col" }, name)))),
        h("tbody", { id: "outbound-rows" })),
      h("p", { id: "outbound-error", className: "form-error", role: "alert" }),
      h("div", { className: "actions" },
        h("button", { type: "button", id: "outbound-refresh" }, "Refresh"),
        h("span", { className: "spacer" }),
        h("button", { type: "button", id: "outbound-clear", className: "danger" }, "Clear")));
  panel = modalPanel(dialog, { closeButton: $("outbound-close"),
                               fallback: () => $("open-settings") });
  $("outbound-refresh").addEventListener("click", () => load());
  $("outbound-clear").addEventListener("click", clear);
}

function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

const OUTCOMES = { sent: "sent", failed: "no answer", refused: "refused (local-only)" };

function row(entry) {
  return h("tr", { className: `outcome-${entry.outcome}` },
    h("td", {}, new Date(entry.at).toLocaleString()),
    h("td", {}, entry.source),
    h("td", { className: "outbound-request" }, `${entry.method} ${entry.host}${entry.path}`),
    h("td", {}, entry.status === null ? "–" : String(entry.status)),
    h("td", {}, size(entry.sent)),
    h("td", {}, size(entry.received)),
    h("td", {}, OUTCOMES[entry.outcome] || entry.outcome));
}

async function load() {
  $("outbound-error").textContent = "";
  let body;
  try {
    body = await api("GET", `/api/outbound?limit=${SHOWN}`);
  } catch (error) {
    $("outbound-error").textContent = error.message;
    return;
  }
  $("outbound-mode").textContent = body.local_only
    ? "Local-only mode is on: requests to other computers are refused, and listed here."
    : "Every request OpenChat made to another computer, newest first. Never a key or a message.";
  showChip(body.local_only);
  const rows = body.requests;
  $("outbound-empty").hidden = rows.length > 0;
  $("outbound-table").hidden = rows.length === 0;
  $("outbound-rows").replaceChildren(...rows.map(row));
  $("outbound-clear").disabled = rows.length === 0;
}

async function clear() {
  try {
    await api("DELETE", "/api/outbound");
  } catch (error) {
    $("outbound-error").textContent = error.message;
    return;
  }
  await load();
  $("outbound-refresh").focus();
}

export async function openOutbound() {
  if (!dialog) build();
  await load();
  if (!dialog.open) panel.show();
}

export function initOutbound() {
  $("local-only-chip").addEventListener("click", () => openOutbound());
  initialSettings.then((body) => showChip(Boolean(body.settings.local_only)), () => {});
}
