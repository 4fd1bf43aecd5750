// DOM helpers. Every piece of text (customer, model, staff) goes in as a text node or through
// textContent; nothing here ever parses a string as HTML.

const SVG_NS = "http://www.w3.org/2000/svg";

function apply(el, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.setAttribute("class", value);
    else if (key === "text") el.textContent = String(value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "value" || key === "checked" || key === "disabled" || key === "selected") {
      el[key] = value;
    } else el.setAttribute(key, value === true ? "" : String(value));
  }
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** h("button", {class: "x", onclick: fn}, "Label", otherNode) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  apply(el, attrs);
  return append(el, children);
}

/** The same for SVG elements (the analytics charts). */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  apply(el, attrs);
  return append(el, children);
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function replace(el, ...children) {
  return append(clear(el), children);
}

const MINUTE = 60_000;

/** "4 min", "2 h 05", "3 d" from milliseconds. */
export function span(ms) {
  const minutes = Math.max(0, Math.round(ms / MINUTE));
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${String(minutes % 60).padStart(2, "0")}`;
  return `${Math.floor(hours / 24)} d`;
}

/** How long since `iso`: "4 min". */
export function since(iso) {
  return iso ? span(Date.now() - Date.parse(iso)) : "";
}

/** "just now", "4 min ago". */
export function ago(iso) {
  if (!iso) return "";
  const ms = Date.now() - Date.parse(iso);
  return ms < 60_000 ? "just now" : `${span(ms)} ago`;
}

export function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** A staff member's name when this page knows it, else a short form of the id. */
export function staffName(id, me, team = []) {
  if (!id) return "staff";
  if (me && id === me.id) return "you";
  const known = team.find((m) => m.id === id);
  if (known) return known.name || known.email;
  return id.length > 16 ? `colleague ${id.slice(0, 6)}` : id;
}

/** The escalation summary without its "Reason: ..." lead, cut to `max` characters. */
export function brief(summary, max = 140) {
  const text = String(summary || "").replace(/^Reason:[^.]*\.\s*/, "")
    .replace(/^Approve or reject action [0-9a-f]{8,}:\s*/, "Approve or reject: ");
  return text.length > max ? `${text.slice(0, max - 1).trimEnd()}…` : text;
}

export function label(text) {
  return String(text || "").replaceAll("_", " ");
}

let toastTimer = 0;
export function toast(message, kind = "info") {
  const el = document.querySelector(".toast");
  el.textContent = message;
  el.dataset.kind = kind;
  el.classList.add("shown");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove("shown"), 4000);
}
