// Starts the page: each module wires its own part; they talk through the events in state.js.

import { focusComposer, initComposer } from "./composer.js";
import { initMessages, newConversation, openSession, sendMessage, stopStreaming } from "./messages.js";
import { loadModels } from "./models.js";
import { initSidebar, refreshSessions } from "./sidebar.js";
import { notify, on, state } from "./state.js";

function report(promise) {
  promise.catch((error) => notify(error.message));
}

function init() {
  initSidebar();
  initComposer();
  initMessages();
  on("session:open", (id) => report(openSession(id)));
  on("session:new", () => {
    newConversation();
    focusComposer();
  });
  on("message:send", (text) => report(sendMessage(text)));
  on("sessions:changed", () => report(refreshSessions()));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && state.streaming) report(stopStreaming());
  });
  report(loadModels());
  report(
    refreshSessions().then(() => (state.sessions.length ? openSession(state.sessions[0].id) : null)),
  );
}

init();
