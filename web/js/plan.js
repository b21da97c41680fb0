// Plan Mode on the page: the header's "Plan: planner → executor" indicator (with a button that
// turns it off), and in a reply the collapsible "Plan" block that streams while the planner
// writes, with each phase's model and time.

import { $, EVENTS, notify, on, state } from "./state.js";
import { updateSession } from "./session.js";
import { duration } from "./stats.js";

function shortName(modelId) {
  const found = state.models.find((model) => model.id === modelId);
  return found ? found.name : modelId;
}

// --- the header indicator -------------------------------------------------------------------

function showIndicator() {
  const chip = $("plan-chip");
  const plan = state.current && state.current.plan_mode;
  chip.hidden = !plan;
  if (!plan) return;
  const label = $("plan-chip-label");
  label.textContent = `Plan: ${shortName(plan.planner)} → ${shortName(plan.executor)}`;
  label.title = `Plan Mode: ${plan.planner} writes a plan, then ${plan.executor} answers.`;
}

export async function setPlanMode(plan) {
  return updateSession({ plan_mode: plan });
}

// --- the block in a reply -------------------------------------------------------------------

function block(article, create) {
  let details = article.querySelector(":scope > details.plan-block");
  if (!details && create) {
    details = document.createElement("details");
    details.className = "plan-block";
    const summary = document.createElement("summary");
    const text = document.createElement("div");
    text.className = "plan-text";
    details.append(summary, text);
    article.querySelector(".body").before(details);
  }
  return details;
}

function summarize(details, parts) {
  details.querySelector("summary").textContent = ["Plan", ...parts.filter(Boolean)].join(" · ");
}

/** A reply starts in Plan Mode (the stream's `start` event): show the empty, open block. */
export function startPlan(article, plan) {
  const details = block(article, true);
  details.open = true;
  details.dataset.phase = "planning";
  details.dataset.model = plan.planner;
  details.querySelector(".plan-text").replaceChildren();
  summarize(details, [plan.planner, "planning…"]);
}

/** A `plan` event: the text is shown as typed (escaped) until the reply ends. */
export function appendPlan(article, text) {
  const details = block(article, true);
  if (!details.dataset.phase) {
    details.open = true;
    details.dataset.phase = "planning";
  }
  details.querySelector(".plan-text").append(text);
}

/** The first answer token: the plan is written. */
export function planWritten(article) {
  const details = block(article, false);
  if (!details || details.dataset.phase !== "planning") return;
  details.dataset.phase = "answering";
  summarize(details, details.dataset.model ? [details.dataset.model] : []);
}

/** A message as the server has it: the rendered plan with its model and time, or no block. */
export function showPlan(article, message) {
  const existing = block(article, false);
  if (message.plan === null || message.plan === undefined) {
    if (existing) existing.remove();
    return;
  }
  const details = block(article, true);
  if (!existing) details.open = message.status === "streaming";
  const text = details.querySelector(".plan-text");
  if (message.plan_html) text.innerHTML = message.plan_html; // rendered by the server, no raw HTML
  else text.textContent = message.plan;
  text.classList.toggle("rendered", Boolean(message.plan_html));
  const phase = message.meta && message.meta.plan;
  if (message.status === "streaming") {
    details.dataset.phase = "planning";
    return;
  }
  delete details.dataset.phase;
  const parts = [];
  if (phase) parts.push(phase.model, duration(phase.ms));
  if (phase && phase.status !== "complete") parts.push(phase.status);
  summarize(details, parts);
}

/** "Answer · model · 3.4 s" for a Plan Mode reply's footer, or null for other replies. */
export function answerLabel(message) {
  const phase = message.meta && message.meta.executor;
  if (!phase) return null;
  return ["Answer", phase.model, duration(phase.ms)].join(" · ");
}

export function initPlan() {
  $("plan-off").addEventListener("click", () => {
    setPlanMode(null).then(() => $("message-input").focus(), (error) => notify(error.message));
  });
  on(EVENTS.sessionOpened, showIndicator);
  on(EVENTS.sessionChanged, showIndicator);
  on(EVENTS.sessionNew, showIndicator);
  on(EVENTS.modelsLoaded, showIndicator);
}
