// The open chat's settings from anywhere on the page: create the chat when none is open yet,
// change its fields, and tell the rest of the page (EVENTS.sessionChanged).

import { api } from "./api.js";
import { EVENTS, emit, state } from "./state.js";

/** The open chat; a new, unsaved chat is created first (with `fields`). */
export async function ensureSession(fields = {}) {
  if (state.current) return state.current;
  state.current = await api("POST", "/api/sessions", fields);
  emit(EVENTS.sessionOpened, state.current);
  emit(EVENTS.sessionsChanged);
  return state.current;
}

/** PATCH the open chat (creating it if needed); resolves to the saved chat. */
export async function updateSession(fields) {
  const session = await ensureSession();
  const saved = await api("PATCH", `/api/sessions/${session.id}`, fields);
  if (state.current && state.current.id === saved.id) {
    state.current = saved;
    emit(EVENTS.sessionChanged, saved);
  }
  emit(EVENTS.sessionsChanged);
  return saved;
}
