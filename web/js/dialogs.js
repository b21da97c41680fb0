// What the modal panels (Settings, Roles) share: Tab stays inside, and a small element builder.

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

// A tiny element builder: h("p", { className: "x" }, "text", child…).
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (key in element && !key.includes("-")) element[key] = value;
    else element.setAttribute(key, value === true ? "" : value);
  }
  element.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return element;
}
