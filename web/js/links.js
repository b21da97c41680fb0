// Links to other sites never replace the chat: they open in a new tab, or, in the desktop
// window, in the system's browser (the window hands every new-tab link to it).

function guard(event) {
  const link = event.target.closest && event.target.closest("a[href]");
  if (!link) return;
  let url;
  try {
    url = new URL(link.href, location.href);
  } catch {
    return;
  }
  if (url.origin === location.origin) return;
  link.target = "_blank";
  link.rel = "noopener noreferrer";
}

export function initLinks() {
  document.addEventListener("click", guard, true);
  document.addEventListener("auxclick", guard, true);
}
