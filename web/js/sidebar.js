// The chat list: pinned first, then newest (the API's order). Opening a chat emits
// EVENTS.sessionOpen; each chat has an actions menu (rename in place, pin, export, delete with
// undo), and a filter box narrows the list by title. Each new list emits EVENTS.sessionsLoaded.

import { api, sendWhileLeaving } from "./api.js";
import { exportSession } from "./export.js";
import { $, EVENTS, emit, notify, on, state } from "./state.js";

// Chats loaded at once; with more, filtering asks the API and "Show more chats" loads more.
const PAGE = 500;
const UNDO_MS = 5000;
const TITLE_CHECK_MS = 1000; // while a chat's model writes its title, the list is asked again

const items = new Map(); // session id -> its <li>, reused across renders so focus survives
let limit = PAGE;
let hasMore = false;
let filterText = "";
let remoteMatches = null; // sessions the API found for filterText when the list is incomplete
let remoteTimer = 0;
let editing = null; // { id, input } while a title is being renamed
let renderPending = false;
let menu = null; // { element, button, session } while the actions menu is open
let pendingDelete = null; // { session, timer, wasOpen } while its Undo toast shows
let refreshes = 0; // refreshes asked for
let shown = 0; // the newest refresh whose answer is shown
let titleCheck = 0; // the timer that asks for the list again while a title is being written

export async function refreshSessions() {
  const asked = ++refreshes;
  const { sessions } = await api("GET", `/api/sessions?limit=${limit}`);
  if (asked < shown) return; // answers can arrive out of order: never show an older list
  shown = asked;
  state.sessions = sessions;
  hasMore = sessions.length >= limit;
  if (filterText && hasMore) searchRemote();
  render();
  emit(EVENTS.sessionsLoaded);
  awaitTitles(sessions);
}

// A chat whose model is writing its title (setting chat.auto_title) shows it once written.
function awaitTitles(sessions) {
  clearTimeout(titleCheck);
  if (!sessions.some((session) => session.title_pending)) return;
  titleCheck = setTimeout(() => refreshSessions().catch(() => {}), TITLE_CHECK_MS);
}

function matches(session) {
  return session.title.toLowerCase().includes(filterText.toLowerCase());
}

function visibleSessions() {
  let sessions = state.sessions;
  if (filterText) {
    sessions = sessions.filter(matches);
    if (remoteMatches) {
      const known = new Set(sessions.map((s) => s.id));
      sessions = sessions.concat(remoteMatches.filter((s) => !known.has(s.id) && matches(s)));
    }
  }
  if (pendingDelete) sessions = sessions.filter((s) => s.id !== pendingDelete.session.id);
  return sessions;
}

function svgIcon(paths, className) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", className);
  for (const d of paths) {
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}

const PIN_PATHS = ["M5 1.5h6v1.2l-1 .8v3.2l2.5 2.3v1.2H8.6V15H7.4v-4.8H3.5V9L6 6.7V3.5l-1-.8z"];

function itemFor(session) {
  let item = items.get(session.id);
  if (!item) {
    item = document.createElement("li");
    item.className = "chat-item";
    item.dataset.id = session.id;
    const open = document.createElement("button");
    open.type = "button";
    open.className = "chat-open";
    const title = document.createElement("span");
    title.className = "chat-title";
    open.append(svgIcon(PIN_PATHS, "pin-icon"), title);
    const more = document.createElement("button");
    more.type = "button";
    more.className = "chat-more";
    more.setAttribute("aria-haspopup", "menu");
    more.setAttribute("aria-expanded", "false");
    more.textContent = "⋯";
    item.append(open, more);
    items.set(session.id, item);
  }
  item.session = session;
  const open = item.querySelector(".chat-open");
  item.querySelector(".chat-title").textContent = session.title;
  open.title = session.title;
  item.classList.toggle("pinned", session.pinned);
  if (state.current && state.current.id === session.id) open.setAttribute("aria-current", "page");
  else open.removeAttribute("aria-current");
  item.querySelector(".chat-more").setAttribute("aria-label", `Chat actions for ${session.title}`);
  return item;
}

function render() {
  if (editing) {
    renderPending = true; // re-rendering would take the rename box away while it is typed in
    return;
  }
  renderPending = false;
  const list = $("chat-list");
  const focused = document.activeElement;
  const sessions = visibleSessions();
  const wanted = sessions.map(itemFor);
  const keep = new Set(wanted);
  for (const [id, item] of items) {
    if (!keep.has(item)) {
      item.remove();
      if (!state.sessions.some((s) => s.id === id)) items.delete(id);
    }
  }
  // Move only what is out of place: moving the focused element would blur it.
  let cursor = list.firstElementChild;
  for (const item of wanted) {
    if (item === cursor) cursor = cursor.nextElementSibling;
    else list.insertBefore(item, cursor);
  }
  while (cursor) {
    const next = cursor.nextElementSibling;
    if (!items.has(cursor.dataset.id) || !keep.has(cursor)) cursor.remove();
    cursor = next;
  }
  if (focused && focused !== document.activeElement && focused.isConnected) {
    focused.focus({ preventScroll: true });
  }
  const empty = $("chat-list-empty");
  if (filterText && !sessions.length) {
    empty.textContent = `No chats match “${filterText}”.`;
    empty.hidden = false;
  } else if (!state.sessions.length) {
    empty.textContent = "No chats yet.";
    empty.hidden = false;
  } else {
    empty.hidden = true;
  }
  $("chat-list-more").hidden = !hasMore || Boolean(filterText);
  if (menu && !menu.button.isConnected) closeMenu(false);
}

function markCurrent(id) {
  for (const item of items.values()) {
    const open = item.querySelector(".chat-open");
    if (id && id === item.dataset.id) open.setAttribute("aria-current", "page");
    else open.removeAttribute("aria-current");
  }
}

// ---- filtering ----

function searchRemote() {
  clearTimeout(remoteTimer);
  const query = filterText;
  remoteTimer = setTimeout(async () => {
    try {
      const path = `/api/sessions?q=${encodeURIComponent(query)}&limit=${PAGE}`;
      const { sessions } = await api("GET", path);
      if (query !== filterText) return;
      remoteMatches = sessions;
      render();
    } catch (error) {
      notify(error.message);
    }
  }, 200);
}

function onFilter() {
  filterText = $("chat-filter").value.trim();
  remoteMatches = null;
  if (filterText && hasMore) searchRemote();
  render();
}

// ---- the actions menu ----

function menuItem(label, action) {
  const button = document.createElement("button");
  button.type = "button";
  button.setAttribute("role", "menuitem");
  button.tabIndex = -1;
  button.textContent = label;
  button.addEventListener("click", () => {
    const { session } = menu;
    closeMenu(false);
    action(session);
  });
  return button;
}

function failed(error) {
  notify(error.message);
}

function openMenu(button, session, focusLast = false) {
  closeMenu(false);
  const element = document.createElement("div");
  element.id = "chat-menu";
  element.className = "chat-menu";
  element.setAttribute("role", "menu");
  element.setAttribute("aria-label", `Actions for ${session.title}`);
  element.append(
    menuItem("Rename", (s) => startRename(s.id)),
    menuItem(session.pinned ? "Unpin" : "Pin", (s) => setPinned(s, !s.pinned)),
    menuItem("Export as Markdown", (s) => exportSession(s, "markdown").catch(failed)),
    menuItem("Export as JSON", (s) => exportSession(s, "json").catch(failed)),
    menuItem("Delete", (s) => deleteSession(s)),
  );
  element.lastElementChild.classList.add("danger");
  element.addEventListener("keydown", onMenuKey);
  element.addEventListener("focusout", (event) => {
    if (menu && !element.contains(event.relatedTarget) && event.relatedTarget !== button) {
      closeMenu(false);
    }
  });
  document.body.append(element);
  // Fixed position next to the button, so the sidebar's scrolling never clips it.
  const rect = button.getBoundingClientRect();
  const height = element.offsetHeight;
  const below = rect.bottom + 4 + height <= window.innerHeight;
  element.style.top = `${below ? rect.bottom + 4 : Math.max(4, rect.top - 4 - height)}px`;
  element.style.left = `${Math.max(4, rect.right - element.offsetWidth)}px`;
  button.setAttribute("aria-expanded", "true");
  button.setAttribute("aria-controls", element.id);
  button.closest(".chat-item").classList.add("menu-open");
  menu = { element, button, session };
  const entries = element.querySelectorAll("[role=menuitem]");
  entries[focusLast ? entries.length - 1 : 0].focus();
}

function closeMenu(returnFocus = true) {
  if (!menu) return;
  const { element, button } = menu;
  menu = null;
  element.remove();
  button.setAttribute("aria-expanded", "false");
  button.removeAttribute("aria-controls");
  const item = button.closest(".chat-item");
  if (item) item.classList.remove("menu-open");
  if (returnFocus && button.isConnected) button.focus();
}

function onMenuKey(event) {
  const entries = [...menu.element.querySelectorAll("[role=menuitem]")];
  const index = entries.indexOf(document.activeElement);
  const move = { ArrowDown: 1, ArrowUp: -1 }[event.key];
  if (move) {
    entries[(index + move + entries.length) % entries.length].focus();
  } else if (event.key === "Home") {
    entries[0].focus();
  } else if (event.key === "End") {
    entries[entries.length - 1].focus();
  } else if (event.key === "Escape") {
    closeMenu();
  } else if (event.key === "Tab") {
    closeMenu();
    return; // let Tab move on from the menu button
  } else {
    return;
  }
  event.preventDefault();
  event.stopPropagation();
}

// ---- rename in place ----

function startRename(id) {
  const item = items.get(id);
  if (!item || editing) return;
  const session = item.session;
  const input = document.createElement("input");
  input.type = "text";
  input.className = "chat-rename";
  input.value = session.title;
  input.maxLength = 500;
  input.setAttribute("aria-label", "Chat title");
  const open = item.querySelector(".chat-open");
  open.hidden = true;
  item.classList.add("editing");
  item.insertBefore(input, open);
  editing = { id, input };
  input.focus();
  input.select();
  let done = false;
  const finish = async (save) => {
    if (done) return;
    done = true;
    const title = input.value.trim();
    const changed = save && title && title !== session.title;
    const hadFocus = document.activeElement === input;
    input.remove();
    open.hidden = false;
    item.classList.remove("editing");
    editing = null;
    if (changed) {
      session.title = title; // show it at once; the API's answer follows
      itemFor(session);
      if (state.current && state.current.id === id) {
        state.current.title = title;
        emit(EVENTS.sessionChanged, state.current);
      }
    }
    if (hadFocus) open.focus();
    if (renderPending) render();
    if (!changed) return;
    try {
      const updated = await api("PATCH", `/api/sessions/${id}`, { title });
      if (state.current && state.current.id === id) {
        state.current.title = updated.title;
        emit(EVENTS.sessionChanged, state.current);
      }
      emit(EVENTS.sessionsChanged);
    } catch (error) {
      notify(error.message);
      emit(EVENTS.sessionsChanged);
    }
  };
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.isComposing) {
      event.preventDefault();
      finish(true);
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      finish(false);
    }
  });
  input.addEventListener("blur", () => finish(true));
}

// ---- pin, delete with undo ----

async function setPinned(session, pinned) {
  try {
    await api("PATCH", `/api/sessions/${session.id}`, { pinned });
  } catch (error) {
    notify(error.message);
  }
  emit(EVENTS.sessionsChanged);
  const item = items.get(session.id);
  if (item && document.activeElement === document.body) item.querySelector(".chat-more").focus();
}

function deleteSession(session) {
  commitDelete(); // one Undo at a time: an earlier delete becomes final now
  const item = items.get(session.id);
  const neighbour = item && (item.nextElementSibling || item.previousElementSibling);
  const wasOpen = Boolean(state.current && state.current.id === session.id);
  pendingDelete = { session, wasOpen, timer: setTimeout(commitDelete, UNDO_MS) };
  render();
  if (wasOpen) emit(EVENTS.sessionNew);
  showToast(session);
  const next = neighbour && neighbour.isConnected && neighbour.querySelector(".chat-open");
  (next || $("new-chat")).focus();
}

function commitDelete(keepalive = false) {
  if (!pendingDelete) return;
  const { session, timer } = pendingDelete;
  clearTimeout(timer);
  pendingDelete = null;
  hideToast();
  const path = `/api/sessions/${session.id}`;
  if (keepalive) {
    sendWhileLeaving("DELETE", path);
    return;
  }
  api("DELETE", path)
    .catch((error) => {
      if (error.status !== 404) notify(error.message);
    })
    .finally(() => {
      items.delete(session.id);
      emit(EVENTS.sessionsChanged);
    });
}

function undoDelete() {
  if (!pendingDelete) return;
  const { session, timer, wasOpen } = pendingDelete;
  clearTimeout(timer);
  pendingDelete = null;
  hideToast();
  render();
  if (wasOpen) emit(EVENTS.sessionOpen, session.id);
  const item = items.get(session.id);
  if (item) item.querySelector(".chat-open").focus();
}

function showToast(session) {
  const toast = $("chat-toast");
  toast.querySelector(".toast-text").textContent = `Deleted “${session.title}”.`;
  toast.hidden = false;
}

function hideToast() {
  const toast = $("chat-toast");
  if (toast.contains(document.activeElement)) $("new-chat").focus();
  toast.hidden = true;
}

// ---- wiring ----

function buildExtras() {
  const nav = document.querySelector(".sidebar nav");
  const empty = document.createElement("p");
  empty.id = "chat-list-empty";
  empty.className = "chat-list-empty";
  empty.hidden = true;
  const more = document.createElement("button");
  more.type = "button";
  more.id = "chat-list-more";
  more.className = "chat-list-more";
  more.textContent = "Show more chats";
  more.hidden = true;
  more.addEventListener("click", () => {
    limit += PAGE;
    refreshSessions().catch((error) => notify(error.message));
  });
  nav.append(empty, more);

  const toast = document.createElement("div");
  toast.id = "chat-toast";
  toast.className = "chat-toast";
  toast.setAttribute("role", "status");
  toast.hidden = true;
  const text = document.createElement("span");
  text.className = "toast-text";
  const undo = document.createElement("button");
  undo.type = "button";
  undo.textContent = "Undo";
  undo.addEventListener("click", undoDelete);
  toast.append(text, undo);
  document.querySelector(".sidebar").append(toast);
}

export function initSidebar() {
  buildExtras();
  $("new-chat").addEventListener("click", () => emit(EVENTS.sessionNew));
  const filter = $("chat-filter");
  if (filter) {
    filter.addEventListener("input", onFilter);
    filter.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown") {
        const first = $("chat-list").querySelector(".chat-open");
        if (first) {
          event.preventDefault();
          first.focus();
        }
      }
    });
  }
  const list = $("chat-list");
  list.addEventListener("click", (event) => {
    const item = event.target.closest(".chat-item");
    if (!item) return;
    if (event.target.closest(".chat-more")) {
      if (menu && menu.button === event.target.closest(".chat-more")) closeMenu();
      else openMenu(event.target.closest(".chat-more"), item.session);
    } else if (event.target.closest(".chat-open")) {
      emit(EVENTS.sessionOpen, item.dataset.id);
    }
  });
  list.addEventListener("dblclick", (event) => {
    const item = event.target.closest(".chat-item");
    if (item && event.target.closest(".chat-open")) startRename(item.dataset.id);
  });
  list.addEventListener("keydown", (event) => {
    const item = event.target.closest(".chat-item");
    if (!item || editing) return;
    const more = event.target.closest(".chat-more");
    if (more && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
      event.preventDefault();
      openMenu(more, item.session, event.key === "ArrowUp");
    } else if (event.key === "F2") {
      event.preventDefault();
      startRename(item.dataset.id);
    } else if (event.key === "Delete" && event.target.closest(".chat-open")) {
      event.preventDefault();
      deleteSession(item.session);
    }
  });
  document.addEventListener("pointerdown", (event) => {
    if (menu && !menu.element.contains(event.target) && !menu.button.contains(event.target)) {
      closeMenu(false);
    }
  });
  window.addEventListener("resize", () => closeMenu(false));
  const close = () => closeMenu(false);
  $("chat-list").parentElement.addEventListener("scroll", close, { passive: true });
  document.querySelector(".sidebar").addEventListener("scroll", close, { passive: true });
  // A delete still waiting for its Undo becomes final when the page goes away.
  window.addEventListener("pagehide", () => commitDelete(true));
  on(EVENTS.sessionOpened, (session) => markCurrent(session && session.id));
  on(EVENTS.sessionNew, () => markCurrent(null));
}
