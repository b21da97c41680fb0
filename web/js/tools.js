// Tool calls in a reply: one collapsible block per call (the tool, its arguments, its result or
// error, how long it took, a spinner while it runs), and the question while a call waits for
// the person: Allow once, Always allow or Deny, with the time left. Arguments and results are
// text, never HTML. Blocks are found again by call id, so a replay after a reload updates them.

import { api } from "./api.js";
import { notify } from "./state.js";
import { duration } from "./stats.js";

const TICK_MS = 1000;
const STATUS_TEXT = {
  running: "running…", waiting: "waiting for you", done: "", error: "error", denied: "denied",
  stopped: "stopped", interrupted: "interrupted",
};

function list(article) {
  let box = article.querySelector(":scope > .tool-calls");
  if (!box) {
    box = document.createElement("div");
    box.className = "tool-calls";
    article.querySelector(".body").before(box);
  }
  return box;
}

function pretty(value) {
  if (typeof value === "string") return value; // raw text the model sent (not JSON)
  return JSON.stringify(value ?? {}, null, 2);
}

function part(className, label) {
  const section = document.createElement("div");
  section.className = className;
  const title = document.createElement("div");
  title.className = "tool-label";
  title.textContent = label;
  const text = document.createElement("pre");
  section.append(title, text);
  return section;
}

function block(article, id, create = true) {
  const box = create ? list(article) : article.querySelector(":scope > .tool-calls");
  if (!box) return null;
  let details = [...box.children].find((child) => child.dataset.id === id);
  if (!details && create) {
    details = document.createElement("details");
    details.className = "tool-call";
    details.dataset.id = id;
    const summary = document.createElement("summary");
    const spinner = document.createElement("span");
    spinner.className = "tool-spinner";
    spinner.setAttribute("aria-hidden", "true");
    const name = document.createElement("span");
    name.className = "tool-name";
    const status = document.createElement("span");
    status.className = "tool-status";
    summary.append(spinner, name, status);
    details.append(summary, part("tool-arguments", "Arguments"), part("tool-result", "Result"));
    details.querySelector(".tool-result").hidden = true;
    box.append(details);
  }
  return details;
}

function setStatus(details, status, ms = null) {
  details.dataset.status = status;
  const parts = [STATUS_TEXT[status] ?? status];
  if (ms !== null && ms !== undefined) parts.push(duration(ms));
  details.querySelector(".tool-status").textContent = parts.filter(Boolean).join(" · ");
}

/** A `tool_call` event, or a saved call: the block with the tool and its arguments. */
export function toolCall(article, call) {
  const details = block(article, call.id);
  details.querySelector(".tool-name").textContent = call.name;
  details.querySelector(".tool-arguments pre").textContent = pretty(call.arguments);
  if (!details.dataset.status) setStatus(details, "running");
  return details;
}

function clearQuestion(details) {
  const question = details.querySelector(".tool-question");
  if (!question) return;
  clearInterval(Number(question.dataset.timer));
  question.remove();
}

function timeLeft(deadline) {
  const seconds = Math.max(0, Math.round((Date.parse(deadline) - Date.now()) / 1000));
  const minutes = Math.floor(seconds / 60);
  return `${minutes}:${String(seconds % 60).padStart(2, "0")} left`;
}

async function answerCall(article, details, body) {
  const buttons = details.querySelectorAll(".tool-question button");
  buttons.forEach((button) => { button.disabled = true; });
  try {
    await api("POST", `/api/messages/${article.dataset.id}/tool-calls/${details.dataset.id}`, body);
    clearQuestion(details);
    // The result may have come while the answer was on its way: it is the later news.
    if (details.dataset.status === "waiting") {
      setStatus(details, body.approve ? "running" : "denied");
    }
  } catch (error) {
    buttons.forEach((button) => { button.disabled = false; });
    notify(error.message);
  }
}

/** A `tool_approval` event (or a saved call still waiting): ask the person. */
export function toolApproval(article, call) {
  const details = toolCall(article, call);
  setStatus(details, "waiting");
  details.open = true;
  if (details.querySelector(".tool-question")) return;
  const question = document.createElement("div");
  question.className = "tool-question";
  question.setAttribute("role", "group");
  question.setAttribute("aria-label", `Allow ${call.name} to run?`);
  const text = document.createElement("span");
  text.className = "tool-ask";
  text.textContent = `Allow ${call.name} to run?`;
  const left = document.createElement("span");
  left.className = "tool-time-left";
  const choices = [
    ["Allow once", { approve: true }],
    ["Always allow", { approve: true, always: true }],
    ["Deny", { approve: false }],
  ].map(([label, body]) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = label;
    button.addEventListener("click", () => answerCall(article, details, body));
    return button;
  });
  choices[0].classList.add("primary");
  question.append(text, ...choices, left);
  details.querySelector(".tool-arguments").after(question);
  const tick = () => { left.textContent = timeLeft(call.deadline); };
  tick();
  question.dataset.timer = String(setInterval(tick, TICK_MS));
}

/** A `tool_result` event, or a saved call's end. */
export function toolResult(article, result) {
  const details = block(article, result.id);
  clearQuestion(details);
  const section = details.querySelector(".tool-result");
  section.hidden = result.content === null || result.content === undefined;
  section.classList.toggle("error", Boolean(result.is_error));
  section.querySelector(".tool-label").textContent = result.is_error ? "Error" : "Result";
  section.querySelector("pre").textContent = result.content ?? "";
  setStatus(details, result.status || (result.is_error ? "error" : "done"), result.ms);
}

/** A reply as the server has it: its saved calls, a question still open while it streams. */
export function showTools(article, message) {
  const calls = message.tools || [];
  const box = article.querySelector(":scope > .tool-calls");
  if (!calls.length) {
    if (box) box.remove();
    return;
  }
  const live = message.status === "streaming";
  for (const call of calls) {
    toolCall(article, call);
    const unfinished = call.status === "running" || call.status === "waiting";
    if (call.status === "waiting" && live) toolApproval(article, call);
    else if (!unfinished) toolResult(article, call);
    else if (!live) toolResult(article, { ...call, status: message.status }); // a killed app
  }
}
