// Exporting a chat: the desktop window asks where to save through the system's dialog (the
// server writes the file); a browser downloads it (fetched with the token, named by the server).

import { downloadFile } from "./api.js";
import { inDesktopWindow, saveThroughWindow } from "./window.js";

export async function exportSession(session, format) {
  if (await inDesktopWindow()) {
    await saveThroughWindow(`/api/sessions/${session.id}/export/save`, { format });
    return;
  }
  await downloadFile(`/api/sessions/${encodeURIComponent(session.id)}/export?format=${format}`);
}
