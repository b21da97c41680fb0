// The desktop window, seen from the page: whether the page is shown in it, and saving a file
// through its Save dialog (the server asks the window; a browser downloads instead).

import { api } from "./api.js";
import { notify } from "./state.js";

let windowed = null; // asked once

export async function inDesktopWindow() {
  if (windowed === null) windowed = (await api("GET", "/api/instance")).window;
  return windowed;
}

// The answer once known (the page asks at start), else false.
export function knownDesktopWindow() {
  return windowed === true;
}

// POST to a `…/save` route; says where the file went (nothing when the user cancelled).
export async function saveThroughWindow(path, body) {
  const { saved } = await api("POST", path, body);
  if (!saved) return;
  const text = `Saved to ${saved}`;
  notify(text);
  setTimeout(() => document.getElementById("notice").textContent === text && notify(""), 5000);
}
