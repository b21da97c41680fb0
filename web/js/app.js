// Starts the page: each module wires its own part; they talk through the events in state.js.
// Without a token the server accepts (none in this tab, or the app was started again with a
// new one) the page says how to open it, in place of an app that cannot work.

import "./theme.js"; // first: sets the theme before the rest of the page is built
import { onRefused, signedIn } from "./api.js";
import { focusComposer, initComposer } from "./composer.js";
import {
  copyLastCode, initMessages, newConversation, openSession, sendMessage, stopStreaming,
} from "./messages.js";
import { initAttachments } from "./attachments.js";
import { initContextMeter } from "./context-meter.js";
import { initFallbacks } from "./fallbacks.js";
import { initLinks } from "./links.js";
import { initModels, loadModels } from "./models.js";
import { initModelsPanel } from "./models-panel.js";
import { initParameters } from "./parameters.js";
import { initPlan } from "./plan.js";
import { initRoles } from "./roles.js";
import { initOutbound } from "./outbound.js";
import { initSettings } from "./settings.js";
import { initShortcuts } from "./shortcuts.js";
import { initSidebar, refreshSessions } from "./sidebar.js";
import { initSlash } from "./slash.js";
import { EVENTS, notify, on, state } from "./state.js";
import { initThinking } from "./thinking.js";
import { initTitle } from "./title.js";
import { initToolChoice } from "./tool-choice.js";
import { initWelcome } from "./welcome.js";
import { inDesktopWindow } from "./window.js";

function report(promise) {
  promise.catch((error) => notify(error.message));
}

function showSignedOut(sentence) {
  const text = document.createElement("p");
  text.setAttribute("role", "alert");
  text.textContent = sentence;
  const page = document.createElement("main");
  page.className = "signed-out";
  page.append(text);
  document.body.replaceChildren(page);
}

function init() {
  initLinks();
  initTitle();
  initSidebar();
  initComposer();
  initContextMeter();
  initMessages();
  on(EVENTS.sessionOpen, (id) => report(openSession(id)));
  on(EVENTS.sessionNew, () => {
    newConversation();
    focusComposer();
  });
  on(EVENTS.messageSend, (text) => report(sendMessage(text)));
  on(EVENTS.sessionsChanged, () => report(refreshSessions()));
  on(EVENTS.replyStop, () => report(stopStreaming()));
  on(EVENTS.codeCopyLast, () => report(copyLastCode()));
  initShortcuts();
  initModels();
  initSettings();
  initOutbound();
  initRoles();
  initPlan();
  initSlash();
  initAttachments();
  initThinking();
  initParameters();
  initToolChoice();
  initFallbacks();
  initModelsPanel();
  initWelcome();
  report(loadModels());
  report(inDesktopWindow());
  report(
    refreshSessions().then(() => (state.sessions.length ? openSession(state.sessions[0].id) : null)),
  );
}

onRefused(showSignedOut);
if (signedIn()) init();
