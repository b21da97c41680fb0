// What the modal panels (Settings, Roles, Models, the shortcuts) share: one open at a time,
// Escape, Close and the backdrop close them, Tab stays inside, focus goes back where it came
// from and survives a re-render; and the small element builder the page's markup is made with.

const panels = []; // every panel made by modalPanel(), to keep one open at a time
const HANDED_OVER = Symbol("handed over"); // a panel closed for another: that one has the focus

// A modal <dialog> keeps the page inert, but Tab can still leave it for the browser itself:
// wrap around from the last control to the first (and back with Shift+Tab). Unchecked radios
// of a group with a checked one are skipped, as the browser does.
export function trapTab(dialog, event) {
  const controls = [...dialog.querySelectorAll("button, input, select, textarea, a[href]")].filter(
    (el) => !el.disabled && el.checkVisibility() &&
      !(el.type === "radio" && !el.checked && dialog.querySelector(`input[name=${el.name}]:checked`)),
  );
  if (!controls.length) return;
  const first = controls[0];
  const last = controls[controls.length - 1];
  const active = document.activeElement;
  if (event.shiftKey && (active === first || !dialog.contains(active))) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && (active === last || !dialog.contains(active))) {
    event.preventDefault();
    first.focus();
  }
}

/**
 * Wire `dialog` (already in the page) as a modal panel: `closeButton` and Escape close it
 * (Escape nothing else, not a running reply), so does a click on the backdrop; Tab stays
 * inside; on closing, `onClose()` tidies up and the focus goes back to where the panel was
 * opened from, or to `fallback()` when that is gone. Returns { show }: show() opens it,
 * closing any other panel first, so panels never stack.
 */
export function modalPanel(dialog, { closeButton = null, fallback, onClose = () => {} }) {
  const panel = { dialog, opener: null };
  panels.push(panel);
  closeButton?.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    if (dialog.open) return; // opened again before this (queued) event came
    onClose();
    const opener = panel.opener;
    panel.opener = null;
    if (opener === HANDED_OVER) return;
    const back = opener && opener.isConnected && opener !== document.body ? opener : fallback();
    back.focus();
  });
  dialog.addEventListener("keydown", (event) => {
    if (event.key === "Escape") event.stopPropagation();
  });
  // On the document, not the dialog: if the focused control goes away, focus falls to <body>,
  // and the next Tab must still come back into the panel.
  document.addEventListener("keydown", (event) => {
    if (event.key === "Tab" && dialog.open) trapTab(dialog, event);
  }, true);
  dialog.addEventListener("click", (event) => {
    if (event.target !== dialog) return;
    const box = dialog.getBoundingClientRect();
    const inside = event.clientX >= box.left && event.clientX <= box.right &&
      event.clientY >= box.top && event.clientY <= box.bottom;
    if (!inside) dialog.close();
  });
  return {
    show() {
      if (dialog.open) return;
      const other = panels.find((p) => p !== panel && p.dialog.open);
      if (other) {
        // This panel takes the other's place: closing it returns to where that one came from.
        panel.opener = other.opener;
        other.opener = HANDED_OVER;
        other.dialog.close();
      } else {
        panel.opener = document.activeElement;
      }
      dialog.showModal();
    },
  };
}

// How to find a control again after its list was rebuilt: the same id, the same name (and
// value, for a radio), or the same data-action in the item with the same data-id.
function focusKey(element) {
  if (element.id) return `#${CSS.escape(element.id)}`;
  if (element.name) {
    const value = element.type === "radio" ? `[value="${CSS.escape(element.value)}"]` : "";
    return `[name="${CSS.escape(element.name)}"]${value}`;
  }
  const item = element.closest("[data-id]");
  if (element.dataset.action && item) {
    return `[data-id="${CSS.escape(item.dataset.id)}"] [data-action="${CSS.escape(element.dataset.action)}"]`;
  }
  return null;
}

/** Run `rebuild()`, which may replace controls in `box`; the one that had the focus gets it back. */
export function keepingFocus(box, rebuild) {
  const focused = document.activeElement;
  const key = focused && focused !== box && box.contains(focused) ? focusKey(focused) : null;
  rebuild();
  if (!key || (focused.isConnected && document.activeElement === focused)) return;
  const again = box.querySelector(key);
  if (again) again.focus({ preventScroll: true });
}

// A tiny element builder: h("p", { className: "x", dataset: { id: "1" } }, "text", child…).
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (key === "dataset") Object.assign(element.dataset, value);
    else if (key in element && !key.includes("-")) element[key] = value;
    else element.setAttribute(key, value === true ? "" : value);
  }
  element.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return element;
}

/** A panel in the settings' look: `<name>-dialog` with its title `<name>-title`, a Close
 * button `<name>-close` and a body holding `children`; appended to the page. */
export function panelDialog(name, title, ...children) {
  const dialog = h("dialog",
    { id: `${name}-dialog`, className: `settings-dialog ${name}-dialog`,
      "aria-labelledby": `${name}-title`, "aria-modal": "true" },
    h("header", { className: "settings-head" },
      h("h2", { id: `${name}-title` }, title),
      h("button", { type: "button", id: `${name}-close` }, "Close")),
    h("div", { className: "settings-body" }, ...children));
  document.body.append(dialog);
  return dialog;
}

/** A labelled form field: the label, the control (which has an id) and an optional hint. */
export function field(label, control, hint) {
  const hintId = hint ? `${control.id}-hint` : null;
  if (hintId) control.setAttribute("aria-describedby", hintId);
  return h("div", { className: "field" },
    h("label", { htmlFor: control.id }, label), control,
    hint ? h("p", { className: "hint", id: hintId }, hint) : null);
}
