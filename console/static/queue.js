// The queue: open escalations, most urgent first, with their SLA state; filters, search,
// claim and assign; redrawn from the live event stream without a reload.

import { get, post } from "./api.js";
import { brief, clear, h, label, replace, since, span, staffName, toast } from "./dom.js";
import { onEvent, throttled } from "./events.js";

const PRIORITIES = ["urgent", "high", "normal", "low"];
const filters = { status: "active", priority: "", category: "", owner: "", q: "" };

/** {state: "ok" | "warning" | "breached" | "met", text} from the item's SLA (business hours). */
export function slaOf(item) {
  const sla = item.sla || {};
  if (sla.responded_at) return { state: "met", text: `answered${sla.state === "breached" ? " late" : ""}` };
  const left = Date.parse(sla.due_at) - Date.now();
  if (Number.isNaN(left)) return { state: sla.state || "ok", text: label(sla.state || "") };
  const state = sla.state || (left < 0 ? "breached" : "ok");
  return { state, text: left < 0 ? `${span(-left)} over` : `due in ${span(left)}` };
}

function select(name, text, options) {
  const el = h("select", { name, "aria-label": text },
    options.map(([value, shown]) => h("option", { value, selected: filters[name] === value }, shown)));
  el.addEventListener("change", () => {
    filters[name] = el.value;
    el.dispatchEvent(new CustomEvent("filters", { bubbles: true }));
  });
  return el;
}

function contextOf(item) {
  if (item.kind === "alert") return "staff alert";
  const parts = [item.channel || "", item.language || "", item.sentiment || ""];
  const orders = item.details?.orders_discussed || [];
  if (orders.length) parts.push(orders.join(", "));
  if (item.attachments?.length) parts.push(`${item.attachments.length} photo(s)`);
  return parts.filter(Boolean).join(" · ");
}

export async function renderQueue(main, session) {
  const staff = session.staff;
  let items = [];
  let team = [];
  const body = h("tbody");
  const count = h("span", { class: "count" });
  const categories = new Set();

  const draw = () => {
    clear(body);
    const shown = items;
    count.textContent = `${shown.length} shown`;
    if (!shown.length) {
      body.append(h("tr", {}, h("td", { colspan: 8, class: "empty" }, "Nothing waiting. Nice.")));
    }
    for (const item of shown) body.append(row(item));
  };

  const row = (item) => {
    const sla = slaOf(item);
    const mine = item.owner === "human" && item.owner_staff_id === staff.id;
    const shown = brief(item.summary) || label(item.reason);
    const open = item.conversation_id
      ? h("a", { href: `#/c/${item.conversation_id}`, class: "summary", title: item.summary }, shown)
      : h("span", { class: "summary", title: item.summary }, shown);
    const owner = item.owner === "human"
      ? staffName(item.owner_staff_id, staff, team)
      : item.owner === "queued" ? "unclaimed" : item.owner || "—";
    const actions = h("td", { class: "actions" });
    if (item.conversation_id && item.status !== "closed" && !mine) {
      actions.append(h("button", { type: "button", class: "claim",
        onclick: () => claim(item) }, item.owner === "human" ? "Take over" : "Claim"));
    }
    if (item.conversation_id && item.status !== "closed" && team.length) {
      const pick = h("select", { "aria-label": "Assign to", class: "assign" },
        h("option", { value: "" }, "Assign…"),
        team.filter((t) => t.id !== item.owner_staff_id)
          .map((t) => h("option", { value: t.id }, t.name || t.email)));
      pick.addEventListener("change", () => pick.value && assign(item, pick.value));
      actions.append(pick);
    }
    return h("tr", { dataset: { id: item.id, conversation: item.conversation_id || "" },
      class: `prio-${item.priority}` },
    h("td", {}, h("span", { class: `badge prio ${item.priority}` }, item.priority)),
    h("td", {}, label(item.category)),
    h("td", {}, label(item.reason)),
    h("td", {}, open, h("div", { class: "sub" }, contextOf(item))),
    h("td", { class: "waiting" }, since(item.created_at)),
    h("td", {}, h("span", { class: `sla ${sla.state}`, title: `SLA: ${sla.state}` }, sla.text)),
    h("td", { class: "owner" }, owner),
    actions);
  };

  const claim = async (item) => {
    try {
      await post(`/api/staff/conversations/${item.conversation_id}/claim`,
        { expected_version: item.owner_version ?? null });
      location.hash = `#/c/${item.conversation_id}`;
    } catch (err) {
      toast(err.status === 409 ? "Someone else changed it first; the queue is updated." : err.message, "error");
      load();
    }
  };

  const assign = async (item, staffId) => {
    try {
      await post(`/api/staff/conversations/${item.conversation_id}/assign`,
        { staff_id: staffId, expected_version: item.owner_version ?? null });
      toast("Assigned.");
    } catch (err) {
      toast(err.message, "error");
    }
    load();
  };

  const load = async () => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(filters)) if (v) params.set(k, k === "owner" && v === "mine" ? "me" : v);
    items = await get(`/api/staff/queue?${params}`);
    for (const i of items) if (i.category) categories.add(i.category);
    const catSelect = main.querySelector("select[name=category]");
    if (catSelect && catSelect.options.length - 1 < categories.size) {
      replace(catSelect, h("option", { value: "" }, "Any category"),
        [...categories].sort().map((c) => h("option", { value: c, selected: filters.category === c }, label(c))));
    }
    draw();
  };

  const search = h("input", { type: "search", placeholder: "Search: customer, email, order number, text",
    "aria-label": "Search the queue", value: filters.q });
  let typing = 0;
  search.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      filters.q = search.value.trim();
      load();
    }, 250);
  });
  const bar = h("div", { class: "filters", role: "group", "aria-label": "Filters" },
    select("status", "Status", [["active", "Open and claimed"], ["open", "Unclaimed"], ["claimed", "Claimed"],
      ["closed", "Closed"], ["all", "All"]]),
    select("priority", "Priority", [["", "Any priority"], ...PRIORITIES.map((p) => [p, p])]),
    select("category", "Category", [["", "Any category"]]),
    select("owner", "Owner", [["", "Anyone"], ["mine", "Mine"], ["unassigned", "Unassigned"]]),
    search, count);
  bar.addEventListener("filters", () => load());

  replace(main, h("section", { class: "queue", "aria-labelledby": "queue-title" },
    h("h1", { id: "queue-title" }, "Queue"), bar,
    h("table", { class: "grid" },
      h("thead", {}, h("tr", {}, ["Priority", "Category", "Reason", "Conversation", "Waiting",
        "SLA", "Owner", ""].map((t) => h("th", { scope: "col" }, t)))),
      body)));
  if (staff.role === "admin") {
    try {
      const found = await get("/api/staff/members");
      team = (Array.isArray(found) ? found : found.staff || []).filter((t) => !t.disabled);
    } catch {
      team = [];
    }
  }
  await load();
  const refresh = throttled(() => load().catch((err) => toast(err.message, "error")));
  onEvent(() => refresh());
  // waiting times and SLA states move on by themselves; this view's own clock stops with it
  const view = main.querySelector(".queue");
  const tick = setInterval(() => (view.isConnected ? draw() : clearInterval(tick)), 30_000);
}
