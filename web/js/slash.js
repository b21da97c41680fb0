// Slash commands in the message box: the completion list that opens on "/", the inline hint
// for a command that cannot run, the output of /help and /models, and running each command.
// What a command means is in commands.js; a command line is never sent to the model.
//
// Keys while the list is open: ArrowDown/ArrowUp move, Tab fills in the highlighted item,
// Enter fills it in too and runs the line once nothing is missing, Escape closes the list.

import { COMMANDS, applyCompletion, complete, isCommand, parse, usage } from "./commands.js";
import { onCommand, replaceText } from "./composer.js";
import { setPlanMode } from "./plan.js";
import { useRole } from "./roles.js";
import { updateSession } from "./session.js";
import { $, EVENTS, emit, on, state } from "./state.js";

let completion = null; // the last complete() answer shown
let active = 0; // index of the highlighted item
let dismissed = null; // the text for which Escape closed the list

function input() {
  return $("message-input");
}

function context() {
  return {
    models: state.models.map((model) => ({ id: model.id, name: model.name })),
    roles: state.roles.map((role) => ({ id: role.id, name: role.name })),
  };
}

// --- the list -------------------------------------------------------------------------------

function close() {
  completion = null;
  $("slash-list").hidden = true;
  $("slash-list").replaceChildren();
  input().setAttribute("aria-expanded", "false");
  input().removeAttribute("aria-activedescendant");
}

function refresh() {
  const box = input();
  const text = box.value;
  const atEnd = box.selectionStart === text.length && box.selectionEnd === text.length;
  const found = atEnd && text !== dismissed ? complete(text, context()) : null;
  if (!found || !found.items.length) {
    close();
    return;
  }
  completion = found;
  active = Math.min(active, found.items.length - 1);
  const list = $("slash-list");
  list.replaceChildren(...found.items.map((item, index) => {
    const option = document.createElement("li");
    option.id = `slash-option-${index}`;
    option.setAttribute("role", "option");
    option.className = "slash-option";
    const label = document.createElement("span");
    label.className = "slash-label";
    label.textContent = item.label;
    const detail = document.createElement("span");
    detail.className = "slash-detail";
    detail.textContent = item.detail;
    option.append(label, detail);
    option.addEventListener("mousedown", (event) => {
      event.preventDefault(); // keep the focus in the box
      active = index;
      pick(false);
    });
    return option;
  }));
  list.hidden = false;
  box.setAttribute("aria-expanded", "true");
  highlight();
}

function highlight() {
  const options = $("slash-list").children;
  for (let index = 0; index < options.length; index += 1) {
    options[index].setAttribute("aria-selected", index === active ? "true" : "false");
  }
  const option = options[active];
  if (option) {
    input().setAttribute("aria-activedescendant", option.id);
    option.scrollIntoView({ block: "nearest" });
  }
}

// Fill in the highlighted item; with `run`, run the line when it is then complete.
function pick(run) {
  const item = completion.items[active];
  const text = applyCompletion(input().value, completion, item);
  const changed = text !== input().value;
  replaceText(text);
  active = 0;
  if (run && (!changed || parse(text, context()).ok)) {
    close();
    $("composer").requestSubmit();
    return;
  }
  refresh();
}

function onKeydown(event) {
  if (event.target !== input() || event.isComposing) return;
  if (!completion || $("slash-list").hidden) return;
  const count = completion.items.length;
  let handled = true;
  if (event.key === "ArrowDown") {
    active = (active + 1) % count;
    highlight();
  } else if (event.key === "ArrowUp") {
    active = (active - 1 + count) % count;
    highlight();
  } else if (event.key === "Tab" && !event.shiftKey) {
    pick(false);
  } else if (event.key === "Enter" && !event.shiftKey) {
    pick(true);
  } else if (event.key === "Escape") {
    dismissed = input().value;
    close();
  } else {
    handled = false;
  }
  if (handled) {
    event.preventDefault();
    event.stopPropagation(); // the box's own Enter, the page's Escape
  }
}

// --- hint and output ------------------------------------------------------------------------

function hint(text) {
  const box = $("slash-hint");
  box.textContent = text || "";
  box.hidden = !text;
  if (text) input().setAttribute("aria-describedby", "slash-hint");
  else if (input().getAttribute("aria-describedby") === "slash-hint") {
    input().removeAttribute("aria-describedby");
  }
}

function output(title, rows) {
  const box = $("slash-output");
  const heading = document.createElement("strong");
  heading.textContent = title;
  const list = document.createElement("ul");
  for (const [key, text] of rows) {
    const row = document.createElement("li");
    const code = document.createElement("code");
    code.textContent = key;
    row.append(code);
    if (text) row.append(` ${text}`);
    list.append(row);
  }
  box.replaceChildren(heading, list);
  box.hidden = false;
}

function clearOutput() {
  $("slash-output").hidden = true;
  $("slash-output").replaceChildren();
}

// --- running --------------------------------------------------------------------------------

function currentModel() {
  return $("model-select").value;
}

async function execute(command) {
  switch (command.command) {
    case "new":
    case "clear":
      emit(EVENTS.sessionNew);
      return null;
    case "help":
      output("Commands", COMMANDS.map((c) => [usage(c), `— ${c.summary}`]));
      return null;
    case "models": {
      const current = currentModel();
      const rows = state.models.map((m) => [m.id, m.id === current ? "(this chat)" : ""]);
      output(rows.length ? "Models" : "Models: none available", rows);
      return null;
    }
    case "model": {
      const select = $("model-select");
      select.value = command.model;
      select.dispatchEvent(new Event("change")); // the picker remembers it for this chat
      return `Model: ${command.model}`;
    }
    case "roles":
      emit(EVENTS.rolesOpen);
      return null;
    case "role":
      await useRole(command.role.id);
      return `Role: ${command.role.name}`;
    case "clear_role":
      if (!state.current || !state.current.role_id) throw new Error("This chat has no role.");
      await useRole(null);
      return "Role cleared.";
    case "model:plan-mode":
      await setPlanMode({ planner: command.planner, executor: command.executor });
      return `Plan Mode on: ${command.planner} plans, ${command.executor} answers.`;
    case "model:plan-mode-off":
      if (!state.current || !state.current.plan_mode) throw new Error("Plan Mode is already off.");
      await setPlanMode(null);
      return "Plan Mode off.";
    case "title": {
      const saved = await updateSession({ title: command.title });
      return `Renamed to ${saved.title}.`;
    }
    default:
      throw new Error(`/${command.command} cannot run here.`);
  }
}

// Called by the composer for a line starting with "/": true when it was taken as a command.
function run(text) {
  if (!isCommand(text)) return false;
  close();
  const command = parse(text.trim(), context());
  if (!command.ok) {
    hint(command.error);
    return true;
  }
  hint("");
  clearOutput();
  replaceText("", { sent: true });
  execute(command).then(
    (done) => {
      if (done) notifyDone(done);
    },
    (error) => {
      replaceText(text); // give the line back to fix it
      hint(error.message);
    },
  );
  return true;
}

function notifyDone(text) {
  const box = $("slash-status");
  box.textContent = text;
  clearTimeout(notifyDone.timer);
  notifyDone.timer = setTimeout(() => (box.textContent = ""), 4000);
}

export function initSlash() {
  const box = input();
  box.setAttribute("aria-autocomplete", "list");
  box.setAttribute("aria-controls", "slash-list");
  box.setAttribute("aria-expanded", "false");
  // Capture on the form: these keys are handled before the box's own Enter handler.
  $("composer").addEventListener("keydown", onKeydown, true);
  box.addEventListener("input", () => {
    dismissed = null;
    active = 0;
    hint("");
    if (!box.value) clearOutput();
    refresh();
  });
  box.addEventListener("click", refresh);
  box.addEventListener("blur", () => setTimeout(() => {
    if (document.activeElement !== box) close();
  }, 0));
  onCommand(run);
  // Names typed before the lists arrived complete once they are in.
  for (const name of [EVENTS.modelsLoaded, EVENTS.rolesChanged]) {
    on(name, () => {
      if (document.activeElement === box && isCommand(box.value)) refresh();
    });
  }
  window.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !$("slash-output").hidden && !state.streaming) clearOutput();
  });
}
