// The HTTP API client: JSON in and out, errors raised with the server's sentence.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function failure(response) {
  try {
    const body = await response.json();
    return new ApiError(response.status, body.error.code, body.error.message);
  } catch {
    return new ApiError(response.status, "http_error", `The server answered ${response.status}.`);
  }
}

export async function api(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (!response.ok) throw await failure(response);
  return response.status === 204 ? null : response.json();
}

// POST (or GET) that answers with an event stream; returns the Response once it is streaming.
export async function openStream(method, path, body, signal) {
  const init = { method, headers: { Accept: "text/event-stream" }, signal };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (!response.ok) throw await failure(response);
  return response;
}

// POST a multipart form (a file upload); the JSON answer, or the server's sentence as an error.
export async function upload(path, form) {
  const response = await fetch(path, { method: "POST", body: form });
  if (!response.ok) throw await failure(response);
  return response.json();
}
