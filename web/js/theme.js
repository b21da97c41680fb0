// The colour theme: "dark" (default), "light" or "system" (follows the OS, live). The choice
// lives in the settings file; <html data-theme> always holds the resolved "dark" or "light".
//
// No inline script is allowed, so this module applies the theme as its first statement: the
// choice last seen on this origin at once (from localStorage), then the file's from the API.

import { api } from "./api.js";

const CACHE_KEY = "openchat.theme";
const THEMES = ["dark", "light", "system"];
const systemLight = window.matchMedia("(prefers-color-scheme: light)");

let choice = cached() || "dark";
apply();

function cached() {
  try {
    const value = localStorage.getItem(CACHE_KEY);
    return THEMES.includes(value) ? value : null;
  } catch {
    return null; // storage may be disabled; the API still answers
  }
}

function apply() {
  const resolved = choice === "system" ? (systemLight.matches ? "light" : "dark") : choice;
  const root = document.documentElement;
  root.dataset.theme = resolved;
  root.dataset.themeChoice = choice;
  try {
    localStorage.setItem(CACHE_KEY, choice);
  } catch {
    // not fatal: the next start reads the file again
  }
}

systemLight.addEventListener("change", () => {
  if (choice === "system") apply();
});

/** Show a theme without saving it (the settings file said so, or a preview). */
export function showTheme(value) {
  choice = THEMES.includes(value) ? value : "dark";
  apply();
}

/** The chosen theme: "dark", "light" or "system". */
export function themeChoice() {
  return choice;
}

/** Show and save a theme; resolves to the settings API's answer, rejects with its error. */
export async function saveTheme(value) {
  const before = choice;
  showTheme(value);
  try {
    return await api("PATCH", "/api/settings", { theme: value });
  } catch (error) {
    showTheme(before);
    throw error;
  }
}

/** The settings as the API last said, fetched once at start (settings.js shares it). */
export const initialSettings = api("GET", "/api/settings").then((body) => {
  showTheme(body.settings.theme);
  return body;
});
initialSettings.catch(() => {}); // a failure is reported by whoever awaits it
