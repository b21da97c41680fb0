// Slash commands: what each one means, parsing a typed line, and completing it. No DOM and no
// requests here, so the rules are tested on their own; slash.js shows them and runs them.
//
// A line is a command when its first character is "/" (a leading space sends it as a message).
// Arguments are separated by spaces; a model id with spaces can be quoted ("…" or '…'). The
// last argument of /role and /title is the rest of the line, spaces included.
//
// `context` is { models: [{ id, name }], roles: [{ id, name }] }.

const MODEL = (name) => ({ name, kind: "model" });

export const COMMANDS = [
  { name: "new", args: [], summary: "Start a new chat" },
  { name: "clear", args: [], summary: "Start a new chat (same as /new)" },
  { name: "model", args: [MODEL("name")], summary: "Switch this chat's model" },
  { name: "models", args: [], summary: "List the models" },
  { name: "model:plan-mode", args: [MODEL("planner"), MODEL("executor")],
    summary: "Plan with one model, then answer with another" },
  { name: "model:plan-mode-off", args: [], summary: "Turn Plan Mode off" },
  { name: "role", args: [{ name: "name", kind: "role", rest: true }],
    summary: "Use a role in this chat" },
  { name: "roles", args: [], summary: "Open the Roles panel" },
  { name: "clear_role", args: [], summary: "Stop using this chat's role" },
  { name: "title", args: [{ name: "text", kind: "text", rest: true }],
    summary: "Rename this chat" },
  { name: "help", args: [], summary: "List these commands" },
];

const BY_NAME = new Map(COMMANDS.map((command) => [command.name, command]));

/** "/model <name>": how a command is written, for lists and hints. */
export function usage(command) {
  return [`/${command.name}`, ...command.args.map((arg) => `<${arg.name}>`)].join(" ");
}

export function isCommand(text) {
  return typeof text === "string" && text.startsWith("/");
}

// --- reading a line -------------------------------------------------------------------------

// The command name and where its arguments start: "/model:plan-mode a b" → name
// "model:plan-mode", rest " a b" starting at 16.
function head(text) {
  const match = /^\/(\S*)/.exec(text);
  return { name: match[1], restStart: match[0].length, rest: text.slice(match[0].length) };
}

// Words of `text` (offset by `base` in the line), honouring quotes. `open` is set when the
// line ends inside a quote.
export function tokenize(text, base = 0) {
  const tokens = [];
  let index = 0;
  let open = false;
  while (index < text.length) {
    while (index < text.length && /\s/.test(text[index])) index += 1;
    if (index >= text.length) break;
    const start = index;
    const quote = text[index] === '"' || text[index] === "'" ? text[index] : null;
    let value = "";
    if (quote) {
      index += 1;
      while (index < text.length && text[index] !== quote) value += text[index++];
      if (index < text.length) index += 1;
      else open = true;
    } else {
      while (index < text.length && !/\s/.test(text[index])) value += text[index++];
    }
    tokens.push({ value, start: base + start, end: base + index, quoted: Boolean(quote) });
  }
  return { tokens, open };
}

function unquote(text) {
  const trimmed = text.trim();
  const match = /^(["'])(.*)\1$/s.exec(trimmed);
  return match ? match[2] : trimmed;
}

function quoteIfNeeded(value) {
  return /\s/.test(value) ? `"${value.replaceAll('"', "")}"` : value;
}

// --- meaning ----------------------------------------------------------------------------------

export function findModel(value, models) {
  const wanted = value.toLowerCase();
  const exact = models.find((model) => model.id.toLowerCase() === wanted);
  if (exact) return { model: exact };
  const named = models.filter((model) => model.name.toLowerCase() === wanted);
  if (named.length === 1) return { model: named[0] };
  if (named.length > 1) {
    return {
      error: `“${value}” is offered by several providers: ${named.map((m) => m.id).join(", ")}. ` +
        "Type the full id.",
    };
  }
  return { error: `There is no model “${value}”. Type /models to list them.` };
}

export function findRole(value, roles) {
  const wanted = value.toLowerCase();
  const role = roles.find((r) => r.name.toLowerCase() === wanted);
  return role ? { role } : { error: `There is no role “${value}”. Type /roles to create it.` };
}

function fail(error) {
  return { ok: false, error };
}

function example(models) {
  return models.length ? models[0].id : "ollama/llama3.2";
}

/**
 * What a typed line means: { ok: true, command, …values } or { ok: false, error }.
 * Values: /model → model (id); /role → role ({ id, name }); /model:plan-mode → planner,
 * executor (ids); /title → title.
 */
export function parse(text, context = {}) {
  const models = context.models || [];
  const roles = context.roles || [];
  if (!isCommand(text)) return fail("Not a command: it does not start with /.");
  const { name, restStart, rest } = head(text.trimEnd());
  const command = BY_NAME.get(name.toLowerCase());
  if (!command) {
    const shown = name ? `/${name}` : "/";
    return fail(`Unknown command ${shown}. Type /help to see the commands; start with a ` +
      "space to send text that begins with / as a message.");
  }
  const result = { ok: true, command: command.name };
  if (command.args.length === 0) {
    return rest.trim() ? fail(`/${command.name} takes no arguments.`) : result;
  }
  if (command.args[0].rest) {
    const value = unquote(rest);
    if (!value) {
      return fail(command.name === "role"
        ? "/role needs a role name, for example /role Translator. Type /roles to manage roles."
        : "/title needs the new title, for example /title Trip to Lisbon.");
    }
    if (command.name === "title") return { ...result, title: value };
    const found = findRole(value, roles);
    return found.error ? fail(found.error) : { ...result, role: found.role };
  }
  const { tokens, open } = tokenize(rest, restStart);
  if (open) return fail("A quote is not closed.");
  const wanted = command.args.length;
  if (tokens.length < wanted) {
    return fail(wanted === 1
      ? `/${command.name} needs a model, for example /${command.name} ${example(models)}.`
      : `/${command.name} needs two models: the planner, then the executor, for example ` +
        `/${command.name} ${example(models)} ${example(models)}.`);
  }
  if (tokens.length > wanted) {
    const extra = tokens.slice(wanted).map((t) => t.value).join(" ");
    return fail(`/${command.name} takes ${wanted === 1 ? "one model" : "two models"}; ` +
      `remove “${extra}”.`);
  }
  const ids = [];
  for (const token of tokens) {
    const found = findModel(token.value, models);
    if (found.error) return fail(found.error);
    ids.push(found.model.id);
  }
  if (command.name === "model") return { ...result, model: ids[0] };
  return { ...result, planner: ids[0], executor: ids[1] };
}

// --- completion -------------------------------------------------------------------------------

function rank(candidates, typed, key) {
  const wanted = typed.toLowerCase();
  const starts = [];
  const contains = [];
  for (const candidate of candidates) {
    const keys = key(candidate).map((k) => k.toLowerCase());
    if (keys.some((k) => k.startsWith(wanted))) starts.push(candidate);
    else if (keys.some((k) => k.includes(wanted))) contains.push(candidate);
  }
  return [...starts, ...contains];
}

/**
 * Completions for the line typed so far (the caret at its end): { from, items }, where each
 * item { label, detail, insert } replaces the line from `from` to its end with `insert`.
 * Null when the line is not a command.
 */
export function complete(text, context = {}) {
  if (!isCommand(text) || text.includes("\n")) return null;
  const models = context.models || [];
  const roles = context.roles || [];
  const { name, restStart, rest } = head(text);
  if (restStart === text.length) {
    // Still typing the command's name: exact match first, then by prefix, then by part.
    const typed = name.toLowerCase();
    const exact = BY_NAME.get(typed);
    const found = rank(COMMANDS, typed, (c) => [c.name]).filter((c) => c !== exact);
    const items = (exact ? [exact, ...found] : found).map((command) => ({
      label: usage(command),
      detail: command.summary,
      insert: `/${command.name}${command.args.length ? " " : ""}`,
    }));
    return { from: 0, items };
  }
  const command = BY_NAME.get(name.toLowerCase());
  if (!command || command.args.length === 0) return { from: text.length, items: [] };
  if (command.args[0].kind === "role") {
    const typed = unquote(rest.replace(/^\s+/, "").replace(/^["']/, ""));
    const from = restStart + (rest.length - rest.replace(/^\s+/, "").length);
    const items = rank(roles, typed, (r) => [r.name]).map((role) => ({
      label: role.name, detail: "role", insert: role.name,
    }));
    return { from, items };
  }
  if (command.args[0].kind !== "model") return { from: text.length, items: [] };
  const { tokens } = tokenize(rest, restStart);
  const endsWithSpace = /\s$/.test(text);
  const typing = endsWithSpace ? null : tokens[tokens.length - 1];
  const index = typing ? tokens.length - 1 : tokens.length;
  if (index >= command.args.length) return { from: text.length, items: [] };
  const typed = typing ? typing.value : "";
  const more = index < command.args.length - 1;
  const items = rank(models, typed, (m) => [m.id, m.name]).map((model) => ({
    label: model.id,
    detail: command.args.length > 1 ? command.args[index].name : "model",
    insert: quoteIfNeeded(model.id) + (more ? " " : ""),
  }));
  return { from: typing ? typing.start : text.length, items };
}

/** The line after picking `item` of `complete(text)`. */
export function applyCompletion(text, completion, item) {
  return text.slice(0, completion.from) + item.insert;
}
