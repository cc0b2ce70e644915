// Small DOM helpers. Text always goes in as text nodes, never as HTML: what the API returns
// (product titles, webhook responses) cannot run in the page that holds the key.

let counter = 0;

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else if (name === "value") el.value = value;
    else if (name === "checked") el.checked = Boolean(value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function uid(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** A labelled control: every input of the console has a <label for>. */
export function field(label, control) {
  if (!control.id) control.id = uid("f");
  if (control.type === "checkbox") return h("label", { class: "check", for: control.id }, control, label);
  return h("div", {}, h("label", { for: control.id }, label), control);
}

export function input(name, value = "", attrs = {}) {
  return h("input", { name, value: value ?? "", ...attrs });
}

export function select(name, options, value = "") {
  return h(
    "select",
    { name },
    options.map(([v, text]) => h("option", { value: v, selected: v === value ? true : undefined }, text)),
  );
}

export function message(text, kind = "ok") {
  return h("div", { class: `message ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

/** Show what went wrong as the API worded it. */
export function showError(where, error) {
  where.replaceChildren(message(error.message || String(error), "error"));
}

export function table(caption, columns, rows) {
  return h(
    "table",
    {},
    h("caption", { class: "muted" }, caption),
    h("thead", {}, h("tr", {}, columns.map(([name]) => h("th", { scope: "col" }, name)))),
    h(
      "tbody",
      {},
      rows.length
        ? rows.map((row) => h("tr", {}, columns.map(([, cell]) => h("td", {}, cell(row)))))
        : h("tr", {}, h("td", { colspan: columns.length, class: "muted" }, "Nothing here yet.")),
    ),
  );
}

/** Previous / next for a limit-offset list with a total. */
export function pager(total, limit, offset, go) {
  const last = Math.min(offset + limit, total);
  return h(
    "div",
    { class: "actions" },
    h("span", { class: "muted" }, total ? `${offset + 1}–${last} of ${total}` : "0 of 0"),
    h("button", { type: "button", class: "quiet", disabled: offset <= 0, onclick: () => go(Math.max(0, offset - limit)) }, "Previous"),
    h("button", { type: "button", class: "quiet", disabled: last >= total, onclick: () => go(offset + limit) }, "Next"),
  );
}

export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

/** A link only for http(s) URLs: a javascript: URL from anywhere never becomes clickable. */
export function safeLink(url, text) {
  if (!/^https?:\/\//i.test(url || "")) return url ? h("code", {}, url) : "";
  return h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, text || url);
}

export function orderLink(id, text) {
  return h("a", { href: `#/order/${encodeURIComponent(id)}` }, text || id);
}

/** A secret shown once, with a copy button; the clipboard may be refused, selecting still works. */
export function shownOnce(label, secret) {
  const box = h("input", { value: secret, readonly: true, "data-testid": "shown-once" });
  const copied = h("span", { class: "muted", role: "status" });
  const copy = h("button", {
    type: "button",
    onclick: async () => {
      box.select();
      try {
        await navigator.clipboard.writeText(secret);
        copied.textContent = "Copied.";
      } catch {
        copied.textContent = "Selected: press Ctrl+C to copy.";
      }
    },
  }, "Copy");
  return h("div", {}, h("p", {}, `${label} It is shown only this once.`), h("div", { class: "secret" }, field("Secret", box), copy, copied));
}
