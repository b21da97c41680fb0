// Exporting a chat: the desktop window asks where to save through the system's dialog (the
// server writes the file); a browser downloads it.

import { api } from "./api.js";
import { notify } from "./state.js";

let windowed = null; // whether this page is shown in the desktop window, asked once

async function inWindow() {
  if (windowed === null) windowed = (await api("GET", "/api/instance")).window;
  return windowed;
}

export async function exportSession(session, format) {
  if (await inWindow()) {
    const { saved } = await api("POST", `/api/sessions/${session.id}/export/save`, { format });
    if (saved) {
      const text = `Saved to ${saved}`;
      notify(text);
      setTimeout(() => document.getElementById("notice").textContent === text && notify(""), 5000);
    }
    return;
  }
  const link = document.createElement("a");
  link.href = `/api/sessions/${encodeURIComponent(session.id)}/export?format=${format}`;
  link.download = "";
  document.body.append(link);
  link.click();
  link.remove();
}
