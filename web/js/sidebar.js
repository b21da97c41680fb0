// The chat list: newest first with pinned ones on top; opening a chat emits "session:open".

import { api } from "./api.js";
import { $, emit, state } from "./state.js";

export async function refreshSessions() {
  const { sessions } = await api("GET", "/api/sessions");
  state.sessions = sessions;
  render();
}

function render() {
  const list = $("chat-list");
  list.replaceChildren(
    ...state.sessions.map((session) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = session.title;
      if (state.current && state.current.id === session.id) button.setAttribute("aria-current", "page");
      button.addEventListener("click", () => emit("session:open", session.id));
      item.append(button);
      return item;
    }),
  );
}

export function initSidebar() {
  $("new-chat").addEventListener("click", () => emit("session:new"));
}
