// The header's title: the open chat's title (with the whole of it on hover, as a long one is
// cut short), "New chat" for a chat not saved yet. It follows every change: opening a chat,
// a rename here (sidebar, /title), and the server's own naming of a chat at its first message,
// which the page learns from the chat list (EVENTS.sessionsLoaded).

import { $, EVENTS, on, state } from "./state.js";

const NEW_CHAT = "New chat";

function show(title) {
  const heading = $("chat-title");
  heading.textContent = title;
  heading.title = title;
}

function showCurrent() {
  show(state.current ? state.current.title : NEW_CHAT);
}

// The list is the server's word: a title changed there (named at the first message, or renamed
// in another window) becomes the open chat's title too.
function followList() {
  const listed = state.current && state.sessions.find((s) => s.id === state.current.id);
  if (listed && listed.title !== state.current.title) {
    state.current = { ...state.current, title: listed.title };
  }
  if (state.current) showCurrent();
}

export function initTitle() {
  on(EVENTS.sessionOpened, showCurrent);
  on(EVENTS.sessionChanged, showCurrent);
  on(EVENTS.sessionNew, () => show(NEW_CHAT));
  on(EVENTS.sessionsLoaded, followList);
}
