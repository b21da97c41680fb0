// Attachments. In the composer: files for the next message — from the Attach button, a paste
// or a drop on the conversation — uploaded at once (the server's limits are checked first so a
// mistake shows before any upload), shown as thumbnails and chips with a Remove button, and a
// warning before images go to a model that cannot see them. In the conversation: the files a
// message was sent with, images as thumbnails and other files as chips.

import { api, downloadFile, fileUrl, upload } from "./api.js";
import { selectedModel } from "./models.js";
import { $, EVENTS, notify, on, state } from "./state.js";
import { knownDesktopWindow, saveThroughWindow } from "./window.js";

const MB = 1024 * 1024;
let limits = { max_file_bytes: 20 * MB, max_files: 10, max_total_bytes: 50 * MB };
const pending = []; // { key, name, size, kind, url, id, status, promise }
let nextKey = 1;
let confirmed = false; // the person chose "Send anyway" for the images shown

function h(tag, className, text) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined) element.textContent = text;
  return element;
}

export function sizeText(size) {
  if (size >= MB) return `${(size / MB).toPrecision(3).replace(/\.?0+$/, "")} MB`;
  if (size >= 1024) return `${Math.round(size / 1024)} KB`;
  return `${size} bytes`;
}

const KIND_WORDS = { image: "Image", pdf: "PDF", text: "Text" };

// --- the tray in the composer --------------------------------------------------------------

function showError(text) {
  const box = $("attach-error");
  box.textContent = text || "";
  box.hidden = !text;
}

function guessKind(file) {
  if (/^image\/(png|jpeg|gif|webp)$/.test(file.type)) return "image";
  if (file.type === "application/pdf" || /\.pdf$/i.test(file.name)) return "pdf";
  return "text";
}

/** Add files to the next message: checked against the limits, then uploaded. */
export function addFiles(files) {
  showError("");
  const problems = [];
  for (const file of files) {
    const total = pending.reduce((sum, item) => sum + item.size, 0);
    if (pending.length >= limits.max_files) {
      problems.push(`A message can carry at most ${limits.max_files} files; “${file.name}” was not added.`);
      continue;
    }
    if (file.size > limits.max_file_bytes) {
      problems.push(`“${file.name}” is ${sizeText(file.size)}; one file may be at most ${sizeText(limits.max_file_bytes)}.`);
      continue;
    }
    if (total + file.size > limits.max_total_bytes) {
      problems.push(`“${file.name}” would bring this message over ${sizeText(limits.max_total_bytes)} of files; send it in another message.`);
      continue;
    }
    const kind = guessKind(file);
    const item = {
      key: nextKey++,
      name: file.name || "pasted image",
      size: file.size,
      kind,
      url: kind === "image" ? URL.createObjectURL(file) : null,
      id: null,
      status: "uploading",
    };
    const form = new FormData();
    form.append("file", file, item.name);
    item.promise = upload("/api/attachments", form).then(
      (record) => {
        Object.assign(item, { id: record.id, kind: record.kind, status: "ready" });
        if (record.note) showError(record.note); // the model gets only part of the file
        render();
      },
      (error) => {
        drop(item);
        showError(error.message);
      },
    );
    pending.push(item);
  }
  if (problems.length) showError(problems.join(" "));
  confirmed = false;
  render();
}

function drop(item) {
  const index = pending.indexOf(item);
  if (index < 0) return;
  pending.splice(index, 1);
  if (item.url) URL.revokeObjectURL(item.url);
  render();
}

function remove(item) {
  drop(item);
  showError("");
  // An upload nobody will send: the server may forget it now (or clean it up later).
  item.promise.then(() => item.id && api("DELETE", `/api/attachments/${item.id}`).catch(() => {}));
  $("message-input").focus();
}

function chip(item) {
  const box = h("div", `attachment-chip kind-${item.kind}`);
  box.dataset.status = item.status;
  if (item.url) {
    const image = h("img", "attachment-thumb");
    image.src = item.url;
    image.alt = item.name;
    box.append(image);
  } else {
    box.append(h("span", "attachment-kind", KIND_WORDS[item.kind] || "File"));
  }
  const text = h("span", "attachment-text");
  text.append(h("span", "attachment-name", item.name),
    h("span", "attachment-size", item.status === "uploading" ? "uploading…" : sizeText(item.size)));
  const close = h("button", "attachment-remove", "×");
  close.type = "button";
  close.setAttribute("aria-label", `Remove ${item.name}`);
  close.addEventListener("click", () => remove(item));
  box.append(text, close);
  return box;
}

function blindModel() {
  const model = state.models.find((m) => m.id === selectedModel());
  if (!model || !model.capabilities_known || model.capabilities.includes("vision")) return null;
  return model;
}

function renderWarning() {
  const box = $("vision-warning");
  const model = pending.some((item) => item.kind === "image") ? blindModel() : null;
  box.hidden = !model || confirmed;
  if (!model) return;
  $("vision-warning-text").textContent =
    `${model.name} cannot see images: it does not have vision. Pick a model marked “vision”, ` +
    "remove the images, or send anyway (the text goes without them).";
}

function render() {
  const tray = $("attachment-tray");
  tray.replaceChildren(...pending.map(chip));
  tray.hidden = pending.length === 0;
  renderWarning();
}

export function hasAttachments() {
  return pending.length > 0;
}

/** False (and the warning in view) while images would go to a model that cannot see them. */
export function readyToSend() {
  renderWarning();
  if ($("vision-warning").hidden) return true;
  $("vision-send-anyway").focus();
  return false;
}

/**
 * The files of the message being sent (after their uploads); the tray empties. Then either
 * `sent()`: they went with it, or `giveBack()`: it could not be sent, back in the tray they go.
 */
export async function takeAttachments() {
  const items = pending.splice(0, pending.length);
  const force = confirmed;
  confirmed = false;
  render();
  await Promise.all(items.map((item) => item.promise));
  const ready = items.filter((item) => item.id);
  const ids = ready.map((item) => item.id);
  const fields = ids.length ? { attachments: ids } : {};
  if (ids.length && force) fields.ignore_vision_warning = true;
  return {
    fields,
    sent() {
      for (const item of items) if (item.url) URL.revokeObjectURL(item.url);
    },
    giveBack() {
      pending.unshift(...ready);
      confirmed = force;
      render();
    },
  };
}

// --- in the conversation -------------------------------------------------------------------

/** The files a sent message carries: thumbnails for images, chips for other files. */
export function attachmentList(message) {
  const box = h("div", "message-attachments");
  for (const file of message.attachments) {
    const url = `/api/attachments/${encodeURIComponent(file.id)}`;
    if (file.kind === "image") {
      const button = h("button", "attached-image");
      button.type = "button";
      button.setAttribute("aria-label", `Enlarge ${file.name}`);
      button.setAttribute("aria-pressed", "false");
      waiting.set(button, () => showPicture(button, url, file.name));
      pictures.observe(button);
      button.addEventListener("click", () => {
        const big = button.classList.toggle("enlarged");
        button.setAttribute("aria-pressed", String(big));
      });
      box.append(button);
    } else {
      const link = h("a", `attached-file kind-${file.kind}`);
      link.href = url;
      link.download = file.name;
      link.title = `${file.name} (${sizeText(file.size)})`;
      link.append(h("span", "attachment-kind", KIND_WORDS[file.kind] || "File"),
        h("span", "attachment-name", file.name), h("span", "attachment-size", sizeText(file.size)));
      link.addEventListener("click", (event) => {
        event.preventDefault();
        saveFile(url, file.name).catch((error) => notify(error.message));
      });
      box.append(link);
    }
  }
  return box;
}

// The API wants the token as a header, which an <img> or a plain link cannot send: pictures
// are fetched when they come into view (as `loading="lazy"` did) and shown from a blob: URL,
// revoked as soon as the picture is decoded (the <img> keeps what it decoded).
const waiting = new WeakMap(); // button -> loads its picture
const pictures = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    if (!entry.isIntersecting) continue;
    pictures.unobserve(entry.target);
    waiting.get(entry.target)();
    waiting.delete(entry.target);
  }
});

// The <img> goes in once it can be drawn, so a picture on screen is always a whole one.
async function showPicture(button, url, name) {
  const image = h("img");
  image.alt = name;
  let source = null;
  try {
    source = await fileUrl(url);
    image.src = source;
    await image.decode();
  } catch {
    // gone or unreadable: the frame shows the file's name instead
  } finally {
    if (source) URL.revokeObjectURL(source);
  }
  button.append(image);
}

// The desktop window does not download: there a file chip saves through the Save dialog.
function saveFile(url, name) {
  return knownDesktopWindow() ? saveThroughWindow(`${url}/save`) : downloadFile(url, name);
}

// --- wiring --------------------------------------------------------------------------------

function hasFiles(event) {
  return Boolean(event.dataTransfer && [...event.dataTransfer.types].includes("Files"));
}

export function initAttachments() {
  const picker = $("attach-input");
  $("attach").addEventListener("click", () => picker.click());
  picker.addEventListener("change", () => {
    addFiles([...picker.files]);
    picker.value = "";
    $("message-input").focus();
  });
  $("message-input").addEventListener("paste", (event) => {
    const files = [...(event.clipboardData ? event.clipboardData.files : [])];
    if (!files.length) return;
    // Pasting a picture attaches it; text pasted with it still goes into the box.
    if (!event.clipboardData.getData("text/plain")) event.preventDefault();
    addFiles(files);
  });
  const zone = document.querySelector("main.conversation");
  let depth = 0;
  zone.addEventListener("dragenter", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    depth += 1;
    zone.classList.add("dropping");
  });
  zone.addEventListener("dragover", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  zone.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (!depth) zone.classList.remove("dropping");
  });
  zone.addEventListener("drop", (event) => {
    depth = 0;
    zone.classList.remove("dropping");
    if (!hasFiles(event)) return;
    event.preventDefault();
    addFiles([...event.dataTransfer.files]);
    $("message-input").focus();
  });
  $("vision-send-anyway").addEventListener("click", () => {
    confirmed = true;
    renderWarning();
    $("composer").requestSubmit();
  });
  $("model-select").addEventListener("change", () => {
    confirmed = false;
    renderWarning();
  });
  on(EVENTS.modelsLoaded, renderWarning);
  api("GET", "/api/attachments/limits").then((answer) => (limits = answer), () => {});
}
