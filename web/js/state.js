// The one app state object, and a tiny event bus so modules never import each other in a loop.

export const state = {
  sessions: [], // the chat list, as the API returns it
  current: null, // the open chat (session object) or null for a new, unsaved chat
  models: [], // every provider's models
  providers: [], // each provider's status
  roles: [], // every role, ordered by name
  defaultModel: null,
  streaming: null, // { messageId, controller } while a reply streams on this page
};

const listeners = new Map();

export function on(name, handler) {
  if (!listeners.has(name)) listeners.set(name, []);
  listeners.get(name).push(handler);
}

export function emit(name, detail) {
  for (const handler of listeners.get(name) || []) handler(detail);
}

export const $ = (id) => document.getElementById(id);

export function notify(text) {
  const box = $("notice");
  box.textContent = text || "";
  box.hidden = !text;
}
