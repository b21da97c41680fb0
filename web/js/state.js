// The one app state object, and a tiny event bus so modules never import each other in a loop.

export const state = {
  sessions: [], // the chat list, as the API returns it
  current: null, // the open chat (session object) or null for a new, unsaved chat
  models: [], // every provider's models
  providers: [], // each provider's status
  roles: [], // every role, ordered by name
  defaultModel: null,
  // The reply this page sends or follows, from the moment Send is pressed until it ends:
  // { messageId (null until known), controller, stopping, ... } (messages.js), else null.
  streaming: null,
};

// Every event of the bus, in one place: modules name them as EVENTS.x, never as strings.
export const EVENTS = Object.freeze({
  sessionOpen: "session:open", // a chat was picked; detail: its id
  sessionOpened: "session:opened", // a chat is open (picked, or created by sending); detail: it
  sessionNew: "session:new", // a new, unsaved chat was asked for
  sessionChanged: "session:changed", // the open chat's fields changed; detail: the chat
  sessionsChanged: "sessions:changed", // the chat list may be out of date: reload it
  sessionsLoaded: "sessions:loaded", // the chat list (state.sessions) was reloaded
  messageSend: "message:send", // the composer sends; detail: the text
  replyStop: "reply:stop", // stop the reply being written
  codeCopyLast: "code:copy-last", // copy the conversation's last code block
  conversationEmpty: "conversation:empty", // the conversation shows no message
  conversationFilled: "conversation:filled", // the conversation shows messages
  modelsChanged: "models:changed", // providers or models changed: reload the model list
  modelsLoaded: "models:loaded", // the model list (state.models, state.providers) was loaded
  rolesOpen: "roles:open", // open the roles dialog
  rolesChanged: "roles:changed", // the role list (state.roles) was reloaded
  settingsOpen: "settings:open", // open the settings; detail: options ({ add: true })
});

const known = new Set(Object.values(EVENTS));
const listeners = new Map();

function check(name) {
  // A misspelt name would be a listener nothing calls, or an event nobody hears.
  if (!known.has(name)) throw new Error(`unknown event ${name}`);
}

export function on(name, handler) {
  check(name);
  if (!listeners.has(name)) listeners.set(name, []);
  listeners.get(name).push(handler);
}

export function emit(name, detail) {
  check(name);
  for (const handler of listeners.get(name) || []) handler(detail);
}

export const $ = (id) => document.getElementById(id);

export function notify(text) {
  const box = $("notice");
  box.textContent = text || "";
  box.hidden = !text;
}
