// The HTTP API client: JSON in and out, errors raised with the server's sentence, and the one
// place that holds the launch token.
//
// The app prints the page's address with its token (`/?token=…`). The page moves the token
// from the address into this tab's sessionStorage — which belongs to this origin, so to this
// port, and survives reloads — and sends it as `Authorization: Bearer` with every call. It is
// never a cookie: a browser sends a 127.0.0.1 cookie to every port of 127.0.0.1, so another
// local program's page opened in the same browser would receive it. Files the browser would
// otherwise load by itself (pictures, downloads) are fetched here with the header too.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** What the page says when it has no token, or the server stopped accepting it. */
export const SIGNED_OUT =
  "Open OpenChat from the link it printed when it started (it carries the token for this launch).";

const TOKEN_KEY = "openchat_token";

function takeToken() {
  const address = new URL(location.href);
  const given = address.searchParams.get("token");
  if (given !== null) {
    address.searchParams.delete("token");
    history.replaceState(history.state, "", address.pathname + address.search + address.hash);
  }
  try {
    if (given !== null) sessionStorage.setItem(TOKEN_KEY, given);
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return given; // storage turned off in this browser: the token lasts until a reload
  }
}

function forgetToken() {
  try {
    sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage turned off: there is nothing kept to forget
  }
}

const token = takeToken();
let refused = !token;
let whenRefused = null;

function refusal() {
  return new ApiError(401, "unauthorized", SIGNED_OUT);
}

// The server answered 401: the app was started again (with a new token) or the link was old.
// Nothing more is asked of it; the page shows how to open it again.
function refuse() {
  if (refused) return;
  refused = true;
  forgetToken();
  if (whenRefused) whenRefused(SIGNED_OUT);
}

/** Whether the page has a token the server has not refused. */
export function signedIn() {
  return !refused;
}

/** `handler(sentence)` runs once the page has no usable token (at once if it has none now). */
export function onRefused(handler) {
  whenRefused = handler;
  if (refused) handler(SIGNED_OUT);
}

function withToken(init = {}) {
  return { ...init, headers: { ...init.headers, Authorization: `Bearer ${token}` } };
}

async function failure(response) {
  try {
    const body = await response.json();
    return new ApiError(response.status, body.error.code, body.error.message);
  } catch {
    return new ApiError(response.status, "http_error", `The server answered ${response.status}.`);
  }
}

// Every call goes through here: the token goes with it, and a refusal is noticed once.
async function request(path, init) {
  if (refused) throw refusal();
  const response = await fetch(path, withToken(init));
  if (response.status === 401) {
    refuse();
    throw refusal();
  }
  if (!response.ok) throw await failure(response);
  return response;
}

export async function api(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await request(path, init);
  return response.status === 204 ? null : response.json();
}

// POST (or GET) that answers with an event stream; returns the Response once it is streaming.
export async function openStream(method, path, body, signal) {
  const init = { method, headers: { Accept: "text/event-stream" }, signal };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  return request(path, init);
}

// POST a multipart form (a file upload); the JSON answer, or the server's sentence as an error.
export async function upload(path, form) {
  const response = await request(path, { method: "POST", body: form });
  return response.json();
}

/** A JSON call that outlives the page (sent while it is being left); nobody reads the answer. */
export function sendWhileLeaving(method, path, body) {
  if (refused) return;
  const init = { method, headers: {}, keepalive: true };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  fetch(path, withToken(init)).catch(() => {});
}

/** A file from the API as a `blob:` URL for an <img>; the caller revokes it when done. */
export async function fileUrl(path) {
  const response = await request(path, {});
  return URL.createObjectURL(await response.blob());
}

function nameFrom(response) {
  const header = response.headers.get("Content-Disposition") || "";
  const encoded = /filename\*=UTF-8''([^;]+)/i.exec(header);
  if (encoded) {
    try {
      return decodeURIComponent(encoded[1]);
    } catch {
      // a malformed name: fall back to the plain one
    }
  }
  const plain = /filename="?([^";]+)"?/i.exec(header);
  return plain ? plain[1] : "";
}

/** Download a file from the API, named `name` or as the server's Content-Disposition says. */
export async function downloadFile(path, name) {
  const response = await request(path, {});
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = name || nameFrom(response);
  document.body.append(link);
  link.click();
  link.remove();
  // The download has taken the blob's bytes once the click was handled.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}
