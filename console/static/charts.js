// SVG charts drawn by the page: columns over days and horizontal bars for named counts. Labels
// are SVG text nodes (textContent), sized in the viewBox so the charts scale with the card.

import { h, s } from "./dom.js";

const PALETTE = ["#2563eb", "#0d9488", "#d97706", "#7c3aed", "#db2777", "#65a30d", "#475569"];

function nice(max) {
  if (max <= 0) return 1;
  const step = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * step >= max) return m * step;
  return 10 * step;
}

function fmt(n) {
  if (typeof n !== "number") return String(n);
  return Number.isInteger(n) ? n.toLocaleString() : n.toLocaleString(undefined, { maximumFractionDigits: 2 });
}

/** Columns: `points` is [[label, value], ...] in order (days). */
export function columns(points, { title, unit = "" } = {}) {
  const W = 560, H = 200, L = 36, B = 24, T = 10;
  const max = nice(Math.max(0, ...points.map(([, v]) => v)));
  const inner = W - L - 8;
  const bw = points.length ? inner / points.length : inner;
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart columns", role: "img",
    "aria-label": `${title}: ${points.map(([k, v]) => `${k} ${fmt(v)}${unit}`).join(", ")}` });
  for (const f of [0, 0.5, 1]) {
    const y = T + (H - B - T) * (1 - f);
    svg.append(s("line", { x1: L, x2: W - 8, y1: y, y2: y, class: "grid-line" }),
      s("text", { x: L - 4, y: y + 4, "text-anchor": "end", class: "axis" }, fmt(max * f)));
  }
  const every = Math.max(1, Math.ceil(points.length / 8));
  points.forEach(([key, value], i) => {
    const hgt = ((H - B - T) * value) / max;
    const x = L + i * bw + bw * 0.15;
    svg.append(s("rect", { x, y: H - B - hgt, width: Math.max(1, bw * 0.7), height: hgt,
      fill: PALETTE[0], class: "bar" }, s("title", {}, `${key}: ${fmt(value)}${unit}`)));
    if (i % every === 0) {
      svg.append(s("text", { x: x + bw * 0.35, y: H - 6, "text-anchor": "middle", class: "axis" },
        String(key).slice(5)));
    }
  });
  return svg;
}

/** Horizontal bars: `pairs` is [[label, value], ...]; colours per row unless `color` is set. */
export function bars(pairs, { title, unit = "", color, max: fixedMax } = {}) {
  const row = 26, W = 560, CHAR = 6.8, MAX_CHARS = 36;  // CHAR: one 12px character, in units
  const longest = Math.max(4, ...pairs.map(([k]) => Math.min(String(k).length, MAX_CHARS)));
  const L = Math.round(longest * CHAR + 14);
  const H = Math.max(row, pairs.length * row) + 4;
  const max = fixedMax || nice(Math.max(0, ...pairs.map(([, v]) => v)));
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart bars", role: "img",
    "aria-label": `${title}: ${pairs.map(([k, v]) => `${k} ${fmt(v)}${unit}`).join(", ")}` });
  pairs.forEach(([key, value], i) => {
    const y = i * row + 4;
    const w = ((W - L - 70) * value) / max;
    const text = String(key);
    svg.append(
      s("text", { x: L - 8, y: y + 15, "text-anchor": "end", class: "label" },
        text.length > MAX_CHARS ? `${text.slice(0, MAX_CHARS - 1)}…` : text, s("title", {}, text)),
      s("rect", { x: L, y, width: Math.max(value > 0 ? 2 : 0, w), height: row - 8, rx: 3,
        fill: color || PALETTE[i % PALETTE.length], class: "bar" }),
      s("text", { x: L + w + 6, y: y + 15, class: "value" }, `${fmt(value)}${unit}`));
  });
  return svg;
}

/** A card holding one chart, or a "no data yet" line when there is nothing to draw. */
export function chartCard(title, chart, note) {
  return h("section", { class: "card chart-card" }, h("h2", {}, title),
    chart || h("p", { class: "muted empty" }, "No data yet."), note ? h("p", { class: "sub" }, note) : null);
}
