// Keyboard shortcuts, and the help dialog that lists them (opened with "?").

import { modalPanel } from "./dialogs.js";
import { $, EVENTS, emit, state } from "./state.js";

const mod = navigator.platform.startsWith("Mac") ? "⌘" : "Ctrl";

// [keys shown, what it does, matcher, action]
const SHORTCUTS = [
  [`${mod}+Shift+O`, "New chat", (e) => primary(e) && e.shiftKey && e.code === "KeyO",
    () => emit(EVENTS.sessionNew)],
  [`${mod}+K`, "Find a chat", (e) => primary(e) && !e.shiftKey && e.code === "KeyK",
    () => focusFilter()],
  ["Esc", "Stop the reply", (e) => e.key === "Escape" && state.streaming !== null,
    () => emit(EVENTS.replyStop)],
  [`${mod}+Shift+;`, "Copy the last code block",
    (e) => primary(e) && e.shiftKey && e.code === "Semicolon", () => emit(EVENTS.codeCopyLast)],
  [`${mod}+B`, "Show or hide the chat list", (e) => primary(e) && !e.shiftKey && e.code === "KeyB",
    () => document.body.classList.toggle("sidebar-hidden")],
  [`${mod}+Shift+L`, "Roles and this chat's system prompt",
    (e) => primary(e) && e.shiftKey && e.code === "KeyL", () => emit(EVENTS.rolesOpen)],
  ["/", "Commands, typed at the start of the message box (/help lists them)", () => false,
    () => {}],
  ["Shift+Esc", "Go to the message box", (e) => e.key === "Escape" && e.shiftKey,
    () => $("message-input").focus()],
  ["?", "Show these shortcuts", (e) => e.key === "?" && !typing(e) && !primary(e),
    () => openHelp()],
];

function primary(event) {
  return mod === "⌘" ? event.metaKey : event.ctrlKey;
}

function typing(event) {
  const target = event.target;
  return target instanceof HTMLElement &&
    (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

function focusFilter() {
  document.body.classList.remove("sidebar-hidden");
  const filter = document.querySelector('[aria-label="Filter chats"]');
  if (filter) filter.focus();
}

let help = null; // the help panel (dialogs.js's handle), made on first use

function helpPanel() {
  if (help) return help;
  const dialog = document.createElement("dialog");
  dialog.id = "help-dialog";
  dialog.className = "help-dialog";
  dialog.setAttribute("aria-labelledby", "help-title");
  const title = document.createElement("h2");
  title.id = "help-title";
  title.textContent = "Keyboard shortcuts";
  const table = document.createElement("table");
  for (const [keys, what] of SHORTCUTS) {
    const row = table.insertRow();
    const key = document.createElement("kbd");
    key.textContent = keys;
    row.insertCell().append(key);
    row.insertCell().textContent = what;
  }
  const close = document.createElement("button");
  close.type = "button";
  close.textContent = "Close";
  dialog.append(title, table, close);
  document.body.append(dialog);
  help = modalPanel(dialog, { closeButton: close, fallback: () => $("message-input") });
  return help;
}

export function openHelp() {
  helpPanel().show();
}

export function initShortcuts() {
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented) return;
    for (const [, , matches, action] of SHORTCUTS) {
      if (matches(event)) {
        event.preventDefault();
        action();
        return;
      }
    }
  });
}
