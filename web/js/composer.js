// The composer: Enter sends, Shift+Enter adds a line; emits "message:send" with the text.

import { $, emit, state } from "./state.js";

export function initComposer() {
  const input = $("message-input");
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim() || state.streaming) return;
    input.value = "";
    emit("message:send", text);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  });
}

export function focusComposer() {
  $("message-input").focus();
}

export function setBusy(busy) {
  $("send").hidden = busy;
  $("stop").hidden = !busy;
}
