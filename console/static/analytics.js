// Analytics: GET /api/staff/analytics?days=N drawn as SVG charts (charts.js).

import { get } from "./api.js";
import { h, label, replace } from "./dom.js";
import { bars, chartCard, columns } from "./charts.js";

/** [[label, number], ...] from {k: n}, [{name|reason|...: k, count|value: n}] or [[k, n]]. */
export function pairs(value, keyNames = ["label", "name", "key", "reason", "intent", "question",
  "query", "outcome", "status", "date", "day"],
valueNames = ["count", "conversations", "turns", "value", "n", "total"]) {
  if (!value) return [];
  if (Array.isArray(value)) {
    return value.map((item) => {
      if (Array.isArray(item)) return [item[0], Number(item[1]) || 0];
      const k = keyNames.find((n) => item[n] !== undefined);
      const v = valueNames.find((n) => item[n] !== undefined);
      return [k ? item[k] : "?", v ? Number(item[v]) || 0 : 0];
    });
  }
  if (typeof value === "object") {
    return Object.entries(value).filter(([, v]) => typeof v === "number").map(([k, v]) => [k, v]);
  }
  return [];
}

const pick = (data, ...names) => names.map((n) => data[n]).find((v) => v !== undefined);

function nonEmpty(list) {
  return list.length && list.some(([, v]) => v > 0) ? list : null;
}

function csatPairs(data) {
  const out = [];
  for (const who of ["bot", "staff"]) {
    const c = data[`csat_${who}`] ?? data.csat?.[who];
    if (c === undefined || c === null) continue;
    const avg = typeof c === "number" ? c : c.average ?? c.avg ?? c.mean;
    if (avg !== undefined && avg !== null) out.push([`${who} (${c.count ?? "?"} ratings)`, Number(avg)]);
  }
  return out;
}

function latencyPairs(lat) {
  if (!lat) return [];
  const ms = (v) => (v === undefined || v === null ? null : Number(v));
  const out = [];
  for (const [k, v] of Object.entries(lat)) {
    if (!/^p\d+/.test(k)) continue;  // p50_ms, p95_ms; not the turn count
    const n = ms(v);
    if (n === null || Number.isNaN(n)) continue;
    const name = k.replace(/_ms$|_seconds$|_s$/, "");
    out.push([name, k.endsWith("_ms") ? n / 1000 : n]);
  }
  return out;
}

export async function renderAnalytics(main, _session, days = 30) {
  const data = await get(`/api/staff/analytics?days=${days}`);
  const range = h("select", { "aria-label": "Period", name: "days" },
    [7, 30, 90].map((d) => h("option", { value: String(d), selected: d === days }, `Last ${d} days`)));
  range.addEventListener("change", () => renderAnalytics(main, _session, Number(range.value)));

  const perDay = pairs(pick(data, "conversations_per_day", "per_day", "conversations"));
  const res = pick(data, "resolutions", "resolution") || {};
  const resolution = ["confirmed", "assumed", "staff", "durable"].filter((k) => k in res)
    .map((k) => [k === "staff" ? "by staff" : k, res[k]]);
  const reasons = pairs(pick(data, "escalations_by_reason", "escalations"));
  const approvals = pairs(pick(data, "approval_outcomes", "approvals"));
  const csat = csatPairs(data);
  const lat = pick(data, "reply_latency", "latency");
  const latency = latencyPairs(lat);
  const intents = pairs(pick(data, "top_intents", "intents")).slice(0, 10);
  const unanswered = pairs(pick(data, "top_unanswered", "unanswered")).slice(0, 10);
  const total = perDay.reduce((n, [, v]) => n + v, 0);

  replace(main, h("section", { class: "analytics" },
    h("div", { class: "card-head" }, h("h1", {}, "Analytics"), range),
    h("p", { class: "sub" }, `${total.toLocaleString()} conversations in the last ${data.days ?? days} days.`,
      " Definitions: docs/metrics.md."),
    h("div", { class: "chart-grid" },
      chartCard("Conversations per day", nonEmpty(perDay) && columns(perDay, { title: "Conversations per day" })),
      chartCard("Resolutions", nonEmpty(resolution) && bars(resolution.map(([k, v]) => [label(k), v]), { title: "Resolutions" }),
        `Confirmed: the customer said it helped. Assumed: no reply within 24 h. Durable: not reopened within 7 days (of ${res.durable_eligible ?? "?"} old enough to tell).`),
      chartCard("Escalations by reason", nonEmpty(reasons) && bars(reasons.map(([k, v]) => [label(k), v]), { title: "Escalations by reason" })),
      chartCard("Approval outcomes", nonEmpty(approvals) && bars(approvals.map(([k, v]) => [label(k), v]), { title: "Approval outcomes" })),
      chartCard("CSAT, bot and staff (1–5)", nonEmpty(csat) && bars(csat, { title: "CSAT", max: 5, color: "#0d9488" })),
      chartCard("Bot reply latency", nonEmpty(latency) && bars(latency, { title: "Reply latency", unit: " s", color: "#7c3aed" }),
        lat?.turns !== undefined ? `${lat.turns.toLocaleString()} turns measured.` : null),
      chartCard("Top intents", nonEmpty(intents) && bars(intents.map(([k, v]) => [label(k), v]), { title: "Top intents" })),
      chartCard("Top unanswered questions", nonEmpty(unanswered) && bars(unanswered, { title: "Top unanswered", color: "#d97706" })))));
}
