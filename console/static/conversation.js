// One conversation: the transcript (customer, bot, staff, internal notes and system events told
// apart), the escalation record, the verified customer with orders and returns, pending actions
// to approve or reject, the reply box with saved replies, notes, resolve and hand back.

import { get, post } from "./api.js";
import { ago, clear, h, label, replace, staffName, toast, when } from "./dom.js";
import { onEvent, throttled } from "./events.js";

const KINDS = {
  user: "customer", customer: "customer", assistant: "bot", bot: "bot", staff: "staff",
  note: "note", internal_note: "note", system: "system", event: "event",
};
const WHO = {
  customer: "Customer", bot: "Bot", staff: "Staff", note: "Internal note",
  system: "Notice to the customer", event: "Event",
};
const DECIDABLE = new Set(["awaiting_approval"]);

function kindOf(m) {
  return KINDS[m.kind] || KINDS[m.role] || "system";
}

function message(m, me) {
  const kind = kindOf(m);
  if (kind === "event") {
    return h("li", { class: "msg event", dataset: { id: m.id || "" } },
      h("span", { class: "text" }, m.text), " · ",
      h("time", { datetime: m.created_at, title: when(m.created_at) }, ago(m.created_at)));
  }
  const who = kind === "staff" || kind === "note"
    ? `${WHO[kind]}${m.staff_id ? ` · ${staffName(m.staff_id, me)}` : ""}`
    : WHO[kind];
  return h("li", { class: `msg ${kind}`, dataset: { id: m.id || "" } },
    h("div", { class: "meta" }, h("span", { class: "who" }, who),
      h("time", { datetime: m.created_at, title: when(m.created_at) }, ago(m.created_at))),
    h("div", { class: "text" }, m.text));
}

function transcript(data, me) {
  const notes = (data.notes || []).map((n) => ({ ...n, kind: "note" }));
  const all = [...(data.messages || []), ...notes]
    .sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at));
  return h("ol", { class: "transcript", role: "log", "aria-label": "Transcript" }, all.map((m) => message(m, me)));
}

function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.filter(([, v]) => v !== undefined && v !== null && v !== "")
    .map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function escalationCard(e) {
  if (!e) return h("section", { class: "card" }, h("h2", {}, "Escalation"), h("p", { class: "muted" }, "None open."));
  return h("section", { class: "card escalation", "aria-labelledby": "esc-title" },
    h("h2", { id: "esc-title" }, "Escalation"),
    facts([["Priority", h("span", { class: `badge prio ${e.priority}` }, e.priority)],
      ["Reason", label(e.reason)], ["Category", label(e.category)], ["Status", e.status],
      ["Sentiment", e.sentiment], ["Language", e.language], ["Opened", when(e.created_at)]]),
    e.summary ? h("details", {}, h("summary", {}, "Summary"), h("p", {}, e.summary)) : null);
}

function money(value, currency) {
  const n = Number(value);
  if (Number.isNaN(n)) return String(value ?? "");
  try {
    return n.toLocaleString(undefined, { style: "currency", currency: currency || "USD" });
  } catch {
    return n.toFixed(2);
  }
}

function customerCard(data) {
  const c = data.customer;
  const card = h("section", { class: "card customer", "aria-labelledby": "cust-title" },
    h("h2", { id: "cust-title" }, "Customer"));
  if (!c && !data.verified_customer_id) {
    card.append(h("p", { class: "muted" }, "Not verified."));
    return card;
  }
  const name = c ? c.name || [c.first_name, c.last_name].filter(Boolean).join(" ") : "";
  card.append(facts([["Name", name], ["Email", c?.email], ["Id", c?.id || data.verified_customer_id]]));
  if (c?.store_error) card.append(h("p", { class: "error" }, "The store could not be read: ", c.store_error));
  const orders = data.orders || c?.orders || [];
  if (orders.length) {
    card.append(h("h3", {}, "Orders"), h("ul", { class: "orders" }, orders.map((o) =>
      h("li", {}, h("strong", {}, o.number), " · ", label(o.status), " · ",
        money(o.total, o.currency), h("span", { class: "sub" }, " ", when(o.created_at)),
        o.items?.length ? h("div", { class: "sub" }, o.items.map((i) =>
          `${i.quantity}× ${i.name}${i.variant ? ` (${i.variant})` : ""}`).join(", ")) : null))));
  }
  const returns = data.returns || c?.returns || [];
  if (returns.length) {
    card.append(h("h3", {}, "Returns"), h("ul", { class: "returns" }, returns.map((r) =>
      h("li", {}, h("strong", {}, r.rma || r.id), " · ", r.order_number || "", " · ",
        label(r.status), r.resolution ? ` · ${label(r.resolution)}` : "",
        r.refund_amount ? ` · ${money(r.refund_amount)}` : ""))));
  }
  return card;
}

function photosCard(photos) {
  if (!photos?.length) return null;
  return h("section", { class: "card photos", "aria-labelledby": "photo-title" },
    h("h2", { id: "photo-title" }, `Photos (${photos.length})`),
    h("div", { class: "thumbs" }, photos.map((p, i) => {
      const src = `/api/staff/attachments/${encodeURIComponent(p.id)}`;
      return h("a", { href: src, target: "_blank", rel: "noopener" },
        h("img", { src, alt: `Customer photo ${i + 1}`, loading: "lazy", width: 96, height: 96 }));
    })));
}

function actionsCard(list, reload) {
  const card = h("section", { class: "card actions-card", "aria-labelledby": "act-title" },
    h("h2", { id: "act-title" }, "Pending actions"));
  if (!list.length) {
    card.append(h("p", { class: "muted" }, "None."));
    return card;
  }
  for (const a of list) {
    const note = h("input", { type: "text", "aria-label": "Note to the customer (optional)",
      placeholder: "Note to the customer" });
    const decide = async (verb) => {
      try {
        await post(`/api/staff/actions/${a.id}/${verb}`, { note: note.value });
        toast(verb === "approve" ? "Approved; the customer has been told." : "Rejected; the customer has been told.");
      } catch (err) {
        toast(err.message, "error");
      }
      reload();
    };
    const open = DECIDABLE.has(a.status);
    card.append(h("div", { class: "action", dataset: { id: a.id, status: a.status } },
      h("div", {}, h("strong", {}, label(a.kind)), " · ", a.order_number, " · ",
        h("span", { class: `status ${a.status}` }, label(a.status))),
      h("p", {}, a.summary),
      a.approval_reason ? h("p", { class: "sub" }, "Needs approval: ", a.approval_reason) : null,
      open ? h("div", { class: "row" }, note,
        h("button", { type: "button", class: "approve primary", onclick: () => decide("approve") }, "Approve"),
        h("button", { type: "button", class: "reject danger", onclick: () => decide("reject") }, "Reject"))
        : a.decided_by ? h("p", { class: "sub" }, "Decided by ", a.decided_by) : null));
  }
  return card;
}

async function savedReplies() {
  try {
    const found = await get("/api/staff/saved-replies");
    return Array.isArray(found) ? found : [];
  } catch {
    return [];
  }
}

export async function renderConversation(main, session, id) {
  const staff = session.staff;
  const replies = await savedReplies();
  let data = null;
  const log = h("div", { class: "log-wrap" });
  const side = h("aside", { class: "side", "aria-label": "Conversation record" });
  const head = h("div", { class: "conv-head" });

  const text = h("textarea", { id: "reply-text", rows: 4, "aria-label": "Reply to the customer",
    placeholder: "Write to the customer. Ctrl+Enter sends." });
  const picker = h("select", { "aria-label": "Insert a saved reply", class: "saved" },
    h("option", { value: "" }, replies.length ? "Saved replies…" : "No saved replies"),
    replies.map((r, i) => h("option", { value: String(i) }, r.title)));
  picker.disabled = !replies.length;
  picker.addEventListener("change", async () => {
    const r = replies[Number(picker.value)];
    picker.value = "";
    if (!r) return;
    let filled = r.text;
    try {  // the server fills {{first_name}} and {{order_number}} from this conversation
      const answer = await post(`/api/staff/conversations/${id}/saved-replies/${r.id}`);
      filled = answer.text;
      if (answer.missing?.length) toast(`Fill in by hand: ${answer.missing.join(", ")}`);
    } catch (err) {
      toast(err.message, "error");
    }
    text.value = text.value ? `${text.value}\n${filled}` : filled;
    text.focus();
  });
  const mode = { note: false };
  const noteToggle = h("input", { type: "checkbox", id: "as-note" });
  noteToggle.addEventListener("change", () => {
    mode.note = noteToggle.checked;
    composer.classList.toggle("noting", mode.note);
    send.textContent = mode.note ? "Add note" : "Send";
    text.setAttribute("aria-label", mode.note ? "Internal note (staff only)" : "Reply to the customer");
  });
  const send = h("button", { type: "submit", class: "primary send" }, "Send");
  const composer = h("form", { class: "composer", "aria-label": "Reply" }, text,
    h("div", { class: "row" }, picker,
      h("label", { class: "check", for: "as-note" }, noteToggle, "Internal note"), send));
  composer.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = text.value.trim();
    if (!body) return;
    send.disabled = true;
    try {
      if (mode.note) await post(`/api/staff/conversations/${id}/notes`, { text: body });
      else await post(`/api/staff/conversations/${id}/reply`, { text: body });
      text.value = "";
      await load();
    } catch (err) {
      toast(err.message, "error");
    } finally {
      send.disabled = false;
      text.focus();
    }
  });
  text.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) composer.requestSubmit();
  });

  const move = async (verb, done) => {
    try {
      await post(`/api/staff/conversations/${id}/${verb}`, { expected_version: data?.owner_version ?? null });
      toast(done);
      await load();
    } catch (err) {
      toast(err.status === 409 ? "Someone else changed this conversation; reloaded." : err.message, "error");
      await load();
    }
  };

  const drawHead = () => {
    const mine = data.owner === "human" && data.owner_staff_id === staff.id;
    const owner = data.owner === "human"
      ? staffName(data.owner_staff_id, staff)
      : data.owner === "queued" ? "waiting for staff" : data.owner;
    replace(head,
      h("a", { href: "#/queue", class: "back" }, "← Queue"),
      h("h1", {}, `Conversation ${id.slice(0, 8)}`),
      h("span", { class: "sub" }, data.channel, " · owner: ", owner),
      h("div", { class: "buttons" },
        mine ? null : h("button", { type: "button", class: "claim", onclick: () => move("claim", "Claimed.") }, "Claim"),
        h("button", { type: "button", class: "resolve", disabled: data.owner === "resolved",
          onclick: () => move("resolve", "Resolved; the customer is asked to rate.") }, "Resolve"),
        h("button", { type: "button", class: "handback", disabled: data.owner === "bot" || data.owner === "resolved",
          onclick: () => move("handback", "Handed back to the bot.") }, "Hand back to bot")));
  };

  const load = async () => {
    data = await get(`/api/staff/conversations/${id}`);
    let pending = data.pending_actions;
    if (!pending) {
      const all = await get("/api/staff/actions");
      pending = all.filter((a) => a.conversation_id === id);
    }
    drawHead();
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    replace(log, transcript(data, staff));
    if (atBottom || !log.dataset.drawn) log.scrollTop = log.scrollHeight;
    log.dataset.drawn = "1";
    // what waits for a decision first, then who the customer is, then the record
    replace(side, actionsCard(pending, load), photosCard(data.attachments), customerCard(data),
      escalationCard(data.escalation));
  };

  replace(main, h("section", { class: "conversation" }, head,
    h("div", { class: "columns" }, h("div", { class: "thread" }, log, composer), side)));
  clear(log);
  await load();
  const refresh = throttled(() => load().catch((err) => toast(err.message, "error")));
  onEvent((event) => {
    if (!event.conversation_id || event.conversation_id === id) refresh();
  });
}
