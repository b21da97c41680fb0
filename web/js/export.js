// Exporting a chat: the desktop window asks where to save through the system's dialog (the
// server writes the file); a browser downloads it.

import { inDesktopWindow, saveThroughWindow } from "./window.js";

export async function exportSession(session, format) {
  if (await inDesktopWindow()) {
    await saveThroughWindow(`/api/sessions/${session.id}/export/save`, { format });
    return;
  }
  const link = document.createElement("a");
  link.href = `/api/sessions/${encodeURIComponent(session.id)}/export?format=${format}`;
  link.download = "";
  document.body.append(link);
  link.click();
  link.remove();
}
