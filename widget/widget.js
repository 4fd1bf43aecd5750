/* support-agent chat widget. One <script src="https://your-host/widget.js"> tag adds a
   <support-chat> element that loads widget.css and talks over /ws/chat on the same host
   (docs/protocol.md). Plain JS, no build step, nothing from third parties. Optional data
   attributes on the script tag (or on a hand-placed <support-chat>): data-title, data-color,
   data-greeting, data-server (base URL, when widget.js is served from somewhere else). */
(() => {
  "use strict";

  // Mirrors channels/protocol.py; tests/widget/test_frame_names.py checks the lists match.
  const SERVER_FRAME_TYPES = [
    "conversation", "ack", "token", "tool_status", "escalated", "message", "error", "pong",
  ];
  const CLIENT_FRAME_TYPES = ["message", "resume", "ping"];

  const STORAGE_KEY = "support-agent:conversation";
  const MAX_CHARS = 4000;
  const COUNTER_FROM = 3500;
  const PING_MS = 25000;
  const MAX_BACKOFF_MS = 30000;

  // Read while the script runs: document.currentScript is null afterwards.
  const script = document.currentScript ||
    [...document.scripts].find((s) => /\/widget\.js([?#]|$)/.test(s.src));
  const scriptUrl = new URL(script && script.src ? script.src : "/widget.js", location.href);

  // Static markup only: every piece of store, customer or model text goes in via textContent.
  const MARKUP = `
<section class="panel" role="dialog" aria-labelledby="sc-title" hidden>
  <header>
    <div class="titles"><h2 id="sc-title"></h2><div class="conn" aria-live="polite"></div></div>
    <button class="close" type="button" aria-label="Close support chat">&times;</button>
  </header>
  <div class="scroll">
    <ol class="log" role="log" aria-live="polite" aria-label="Conversation"></ol>
    <div class="live-reply"></div>
    <div class="status" role="status" hidden></div>
  </div>
  <form>
    <div class="field">
      <label class="sr-only" for="sc-input">Your message</label>
      <textarea id="sc-input" rows="1" maxlength="${MAX_CHARS}" placeholder="Type your message..."></textarea>
      <div class="counter" aria-live="polite" hidden></div>
    </div>
    <button class="send" type="submit" disabled>Send</button>
  </form>
</section>
<button class="launcher" type="button" aria-label="Open support chat" aria-expanded="false">
  <svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"
    stroke-linejoin="round" aria-hidden="true"><path class="icon-chat" d="M21 12a8 8 0 0 1-11.6 7.1L4 20l1-4.6A8 8 0 1 1 21 12z"/>
    <path class="icon-close" d="M6 9l6 6 6-6"/></svg>
  <span class="unread" hidden></span>
</button>`;

  const el = (tag, cls, text) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    return node;
  };
  const newId = () => (crypto.randomUUID ? crypto.randomUUID() :
    [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join(""));
  const storage = {  // localStorage throws in some sandboxed iframes and private modes
    get() { try { return localStorage.getItem(STORAGE_KEY); } catch { return null; } },
    set(v) { try { v ? localStorage.setItem(STORAGE_KEY, v) : localStorage.removeItem(STORAGE_KEY); } catch { /* ignore */ } },
  };

  // ---- the reply format: markdown_safe.py's subset (paragraphs, bold, italic, lists, simple
  // tables, http/https/mailto links), built as DOM nodes. Text only ever becomes text nodes:
  // no innerHTML, no attribute but href (checked) and a fixed rel/target.
  const MD = {
    bullet: /^ {0,3}[-*+•][ \t]+(.*)$/,
    numbered: /^ {0,3}([0-9]{1,9})[.)][ \t]+(.*)$/,
    heading: /^ {0,3}#{1,6}[ \t]+(.*?)[ \t#]*$/,
    row: /^ {0,3}\|(.*)\|[ \t]*$/,
    rule: /^ {0,3}\|(?:[ \t]*:?-+:?[ \t]*\|)+[ \t]*$/,
    continuation: /^(?: {2,}|\t)(\S.*)$/,
    inline: new RegExp([
      String.raw`\\([\\\x60*_\[\]()#+\-.!|>~•])`,
      String.raw`\[([^\]\n]+)\]\(([^()\s]+)\)`,
      String.raw`(https?:\/\/[^\s<>"'()\[\]]*[^\s<>"'()\[\].,;:!?*_])`,
      String.raw`\*\*([^\s*](?:[^*]*[^\s*])?)\*\*`,
      String.raw`\*([^\s*](?:[^*]*[^\s*])?)\*`,
      String.raw`_([^\s_](?:[^_]*[^\s_])?)_`,
    ].join("|"), "g"),
    word: /[A-Za-z0-9]/,
    safeUrl: /^(?:https?:\/\/[^/\s]|mailto:[^\s@]+@)/i,
  };

  const mdCells = (line) => {
    const m = MD.row.exec(line);
    const cells = [];
    let cur = "", esc = false;
    for (const ch of m ? m[1] : line) {  // a \| inside a cell is a literal pipe
      if (esc) { cur += ch === "|" ? ch : `\\${ch}`; esc = false; }
      else if (ch === "\\") esc = true;
      else if (ch === "|") { cells.push(cur.trim()); cur = ""; }
      else cur += ch;
    }
    cells.push((cur + (esc ? "\\" : "")).trim());
    return cells;
  };

  const mdBlocks = (text) => {
    const lines = text.replace(/\r\n?/g, "\n").split("\n");
    const blocks = [];
    let para = [], list = null, m;
    const close = () => { if (para.length) { blocks.push({ kind: "p", lines: para }); para = []; } };
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      const num = MD.numbered.exec(line), bullet = num ? null : MD.bullet.exec(line);
      if (!line.trim()) { close(); list = null; }
      else if (MD.row.test(line) && i + 1 < lines.length && MD.rule.test(lines[i + 1])) {
        close(); list = null;
        const header = mdCells(line), rows = [];
        for (i += 2; i < lines.length && MD.row.test(lines[i]); i++) {
          const row = mdCells(lines[i]);
          rows.push(header.map((_, k) => row[k] ?? ""));
        }
        i--;
        blocks.push({ kind: "table", header, rows });
      } else if (num || bullet) {
        close();
        if (!list || list.ordered !== !!num) {
          list = { kind: "list", ordered: !!num, start: num ? parseInt(num[1], 10) : 1, items: [] };
          blocks.push(list);
        }
        list.items.push((num ? num[2] : bullet[1]).trim());
      } else if (list && (m = MD.continuation.exec(line))) {
        list.items[list.items.length - 1] += ` ${m[1].trim()}`;
      } else if ((m = MD.heading.exec(line))) {
        close(); list = null;
        blocks.push({ kind: "p", lines: [m[1]], heading: true });
      } else { list = null; para.push(line.trim()); }
    }
    close();
    return blocks;
  };

  const mdLink = (href, children) => {
    if (!MD.safeUrl.test(href)) return children;
    const a = document.createElement("a");
    a.setAttribute("href", href);
    a.setAttribute("rel", "nofollow noopener noreferrer");
    a.setAttribute("target", "_blank");
    a.append(children);
    return a;
  };

  const mdInline = (text, links = true) => {
    const out = document.createDocumentFragment();
    const re = new RegExp(MD.inline.source, "g");
    let pos = 0, buf = "";
    const flush = () => { if (buf) { out.append(document.createTextNode(buf)); buf = ""; } };
    const wrap = (tag, children) => { const n = document.createElement(tag); n.append(children); return n; };
    while (pos < text.length) {
      re.lastIndex = pos;
      const m = re.exec(text);
      if (!m) { buf += text.slice(pos); break; }
      const [all, esc, ltext, lurl, auto, strong, em, uem] = m;
      const start = m.index, end = start + all.length;
      const snake = uem !== undefined &&  // a snake_case word, not emphasis
        (MD.word.test(text[start - 1] || " ") || MD.word.test(text[end] || " "));
      if (snake || ((ltext !== undefined || auto !== undefined) && !links)) {
        buf += text.slice(pos, start + 1);
        pos = start + 1;
        continue;
      }
      buf += text.slice(pos, start);
      pos = end;
      if (esc !== undefined) { buf += esc; continue; }
      flush();
      if (ltext !== undefined) out.append(mdLink(lurl, mdInline(ltext, false)));
      else if (auto !== undefined) out.append(mdLink(auto, document.createTextNode(auto)));
      else if (strong !== undefined) out.append(wrap("strong", mdInline(strong, links)));
      else out.append(wrap("em", mdInline(em !== undefined ? em : uem, links)));
    }
    flush();
    return out;
  };

  const renderMarkdown = (text) => {
    const out = document.createDocumentFragment();
    for (const b of mdBlocks(String(text ?? ""))) {
      if (b.kind === "p") {
        const p = document.createElement("p");
        const target = b.heading ? p.appendChild(document.createElement("strong")) : p;
        b.lines.forEach((line, n) => {
          if (n) target.append(document.createElement("br"));
          target.append(mdInline(line));
        });
        out.append(p);
      } else if (b.kind === "list") {
        const list = document.createElement(b.ordered ? "ol" : "ul");
        if (b.ordered && b.start !== 1) list.setAttribute("start", String(b.start));
        for (const item of b.items) list.appendChild(el("li")).append(mdInline(item));
        out.append(list);
      } else {
        const table = document.createElement("table");
        const head = table.appendChild(document.createElement("thead")).appendChild(el("tr"));
        for (const c of b.header) head.appendChild(el("th")).append(mdInline(c));
        const body = table.appendChild(document.createElement("tbody"));
        for (const row of b.rows) {
          const tr = body.appendChild(el("tr"));
          for (const c of row) tr.appendChild(el("td")).append(mdInline(c));
        }
        out.append(table);
      }
    }
    return out;
  };

  // One handler per SERVER_FRAME_TYPES entry, called with the <support-chat> element as `this`.
  const HANDLERS = {
    conversation(f) {
      this.remember(f.conversation_id, f.owner);
      if (!this.resuming) return;  // the echo after a first message: nothing new to draw
      this.resuming = false;
      this.renderHistory(f.messages || []);
      this.flush();
    },
    ack(f) {
      this.remember(f.conversation_id);
      const item = this.inflight.get(f.client_id);
      if (!item) return;
      item.messageId = f.message_id;
      item.node.querySelector(".note")?.remove();
      // A resent message the history already showed: the history's copy stays.
      if (this.seen.has(f.message_id)) item.node.remove();
      this.seen.add(f.message_id);
      // While a person owns the conversation the turn ends here; their reply comes later.
      if (this.owner !== "bot") this.inflight.delete(f.client_id);
      this.showStatus();
    },
    token(f) {
      if (!this.pending) {
        this.pending = this.bubble({ role: "assistant", text: "" });
        this.pending.classList.add("pending");
        this.ui.live.replaceChildren(this.pending);
      }
      this.pending.querySelector(".body").textContent += f.text;
      this.showStatus();
    },
    tool_status(f) {
      if (f.status === "started") this.tools.set(f.tool, f.label);
      else this.tools.delete(f.tool);
      this.showStatus();
    },
    escalated() { this.notice("A member of our team has been asked to join this chat."); },
    message(f) {
      this.remember(f.conversation_id, f.owner);
      if (f.client_id) {  // the end of a turn; staff replies arrive without one, at any time
        this.inflight.delete(f.client_id);
        this.endTurn();
      }
      this.addMessage(f);
      if (this.ui.panel.hidden) this.ui.unread.hidden = false;
    },
    error(f) {
      const wasResuming = this.resuming;
      this.resuming = false;
      if (wasResuming && f.code === "conversation_not_found") {
        // The stored conversation is gone (e.g. the data was reset): start afresh.
        this.remember(null);
        this.renderHistory([]);
      } else if (!wasResuming) {
        // The server handles one frame at a time, so the error is about the oldest message out.
        const [clientId, item] = this.inflight.entries().next().value || [];
        this.inflight.delete(clientId);
        if (item && !item.messageId) item.node.querySelector(".note").textContent = "Not sent";
        this.endTurn();
        this.notice(f.message || "Something went wrong. Please try again.", true);
      }
      this.flush();
    },
    pong() { /* liveness only: lastSeen is updated for every frame */ },
  };

  class SupportChat extends HTMLElement {
    static SERVER_FRAME_TYPES = SERVER_FRAME_TYPES;
    static CLIENT_FRAME_TYPES = CLIENT_FRAME_TYPES;
    static renderMarkdown = renderMarkdown;

    constructor() {
      super();
      this.attachShadow({ mode: "open" });
      this.ws = null;
      this.outbox = [];          // {client_id, text, node}: typed, not yet sent
      this.inflight = new Map(); // client_id -> the same item: sent, no reply yet
      this.seen = new Set();     // server message ids already rendered
      this.tools = new Map();    // tool -> label, while running
      this.attempt = 0;
      this.resuming = false;  // a resume is in flight: hold the outbox until the history is drawn
      this.owner = "bot";
      this.conversationId = storage.get();
    }

    connectedCallback() {
      if (!this.ui) this.build();
      this.stopped = false;
      // With a stored conversation, connect at once so staff replies arrive while the panel is shut.
      if (this.conversationId) this.connect();
    }

    disconnectedCallback() {
      this.stopped = true;
      clearTimeout(this.retryTimer);
      if (this.ws) this.ws.close();
    }

    build() {
      const d = this.dataset;
      const base = new URL(d.server || scriptUrl.origin, location.href);
      const root = base.pathname.replace(/\/$/, "");
      const css = Object.assign(document.createElement("link"),
        { rel: "stylesheet", href: new URL(`${root}/widget.css`, base).href });
      // Shown once styled: an unstyled launcher would be a bare button at the end of the page.
      this.style.display = "none";
      css.addEventListener("load", () => { this.style.display = ""; });
      css.addEventListener("error", () => console.warn("support-chat: could not load", css.href));
      this.shadowRoot.innerHTML = MARKUP;
      this.shadowRoot.prepend(css);
      base.protocol = base.protocol === "https:" ? "wss:" : "ws:";
      this.endpoint = new URL(`${root}/ws/chat`, base).href;
      const $ = (sel) => this.shadowRoot.querySelector(sel);
      this.ui = { panel: $(".panel"), title: $("h2"), conn: $(".conn"), close: $(".close"),
        scroll: $(".scroll"), log: $(".log"), live: $(".live-reply"), status: $(".status"),
        form: $("form"), input: $("textarea"), counter: $(".counter"), send: $(".send"),
        launcher: $(".launcher"), unread: $(".unread") };
      this.ui.title.textContent = d.title || "Support";
      if (d.color && CSS.supports("color", d.color)) this.style.setProperty("--accent", d.color);
      this.greeting = d.greeting || "Hi! How can we help you today?";

      const { launcher, close, form, input, panel } = this.ui;
      launcher.addEventListener("click", () => this.setOpen(panel.hidden));
      close.addEventListener("click", () => this.setOpen(false));
      panel.addEventListener("keydown", (e) => { if (e.key === "Escape") this.setOpen(false); });
      form.addEventListener("submit", (e) => { e.preventDefault(); this.submit(); });
      input.addEventListener("input", () => this.onInput());
      input.addEventListener("keydown", (e) => {
        if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); this.submit(); }
      });
      window.addEventListener("online", () => { if (!this.ws && !this.stopped) this.connect(); });
      this.renderHistory([]);
    }

    setOpen(open) {
      const { panel, launcher, input, unread } = this.ui;
      panel.hidden = !open;
      launcher.setAttribute("aria-expanded", String(open));
      launcher.setAttribute("aria-label", open ? "Close support chat" : "Open support chat");
      if (!open) { launcher.focus(); return; }
      unread.hidden = true;
      this.connect();
      this.scrollDown();
      input.focus();
    }

    connect() {
      if (this.stopped || (this.ws && this.ws.readyState <= WebSocket.OPEN)) return;
      clearTimeout(this.retryTimer);
      this.setConn("Connecting...");
      let ws;
      try { ws = new WebSocket(this.endpoint); } catch { this.reconnectLater(); return; }
      this.ws = ws;
      ws.onopen = () => {
        this.attempt = 0;
        this.lastSeen = Date.now();
        this.setConn("");
        this.pingTimer = setInterval(() => this.ping(), PING_MS);
        if (this.conversationId) {
          // Hold the outbox until the history arrives, so it renders in order.
          this.resuming = true;
          this.send({ type: "resume", conversation_id: this.conversationId });
        } else {
          this.flush();
        }
      };
      ws.onmessage = (e) => { this.lastSeen = Date.now(); this.receive(e.data); };
      ws.onclose = () => {
        if (this.ws !== ws) return;
        this.ws = null;
        this.resuming = false;
        clearInterval(this.pingTimer);
        // Unanswered messages go out again with the same client_id: the server answers a
        // repeat with the reply it already wrote, and never runs a turn twice.
        this.outbox.unshift(...this.inflight.values());
        this.inflight.clear();
        this.endTurn();
        if (!this.stopped) this.reconnectLater();
      };
    }

    reconnectLater() {
      const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** this.attempt++) * (0.75 + Math.random() / 2);
      this.setConn(this.outbox.length ? "Offline - your message will be sent when we reconnect"
        : "Offline - reconnecting...");
      this.retryTimer = setTimeout(() => this.connect(), delay);
    }

    ping() {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
      // No frame for two intervals: the socket is dead even if the browser has not noticed.
      if (Date.now() - this.lastSeen > 2 * PING_MS) { this.ws.close(); return; }
      this.send({ type: "ping" });
    }

    send(frame) { this.ws.send(JSON.stringify(frame)); }

    flush() {
      while (this.outbox.length && this.ws && this.ws.readyState === WebSocket.OPEN && !this.resuming) {
        const item = this.outbox.shift();
        this.send({ type: "message", text: item.text, client_id: item.client_id });
        this.inflight.set(item.client_id, item);
        item.node.classList.remove("queued");
        this.showStatus();
      }
    }

    setConn(text) {
      this.connText = text;
      const ownerNote = { queued: "Waiting for a team member", human: "Chatting with our team" };
      this.ui.conn.textContent = text || ownerNote[this.owner] || "";
    }

    onInput() {
      const { input, counter, send } = this.ui;
      const n = input.value.length;
      counter.hidden = n < COUNTER_FROM;
      counter.textContent = `${n.toLocaleString()} / ${MAX_CHARS.toLocaleString()}`;
      counter.classList.toggle("over", n >= MAX_CHARS);
      send.disabled = !input.value.trim();
      input.style.height = "auto";
      input.style.height = `${Math.min(input.scrollHeight + 2, 120)}px`;
    }

    submit() {
      const text = this.ui.input.value.trim();
      if (!text) return;
      if (text.length > MAX_CHARS) {
        this.notice(`Messages can be at most ${MAX_CHARS.toLocaleString()} characters.`, true);
        return;
      }
      const node = this.bubble({ role: "customer", text });
      node.classList.add("queued");
      node.append(el("span", "note", "Sending..."));
      this.ui.log.append(node);
      this.outbox.push({ client_id: newId(), text, node });
      this.ui.input.value = "";
      this.onInput();
      this.scrollDown();
      this.connect();
      this.flush();
    }

    receive(raw) {
      let frame;
      try { frame = JSON.parse(raw); } catch { return; }
      // Unknown types are ignored, so a newer server does not break an older cached widget.
      if (frame && SERVER_FRAME_TYPES.includes(frame.type)) HANDLERS[frame.type].call(this, frame);
    }

    remember(id, owner) {
      if (owner && owner !== this.owner) { this.owner = owner; this.setConn(this.connText); }
      if (id === undefined || id === this.conversationId) return;
      this.conversationId = id || null;
      storage.set(this.conversationId);
    }

    endTurn() {
      this.pending = null;
      this.ui.live.replaceChildren();
      this.tools.clear();
      this.ui.status.hidden = true;
    }

    showStatus() {
      const { status } = this.ui;
      const labels = [...this.tools.values()];
      const waiting = this.inflight.size && !this.pending && this.owner === "bot";
      const text = labels.length ? labels[labels.length - 1] : waiting ? "Typing..." : "";
      status.textContent = text;
      status.hidden = !text;
      this.scrollDown();
    }

    renderHistory(messages) {
      this.seen.clear();
      this.ui.log.replaceChildren(this.bubble({ role: "assistant", text: this.greeting }));
      for (const m of messages) this.addMessage(m);
      // Messages typed while offline stay visible under the history until they are sent.
      for (const item of this.outbox) if (!this.seen.has(item.messageId)) this.ui.log.append(item.node);
      this.scrollDown();
    }

    addMessage(m) {
      if (m.id && this.seen.has(m.id)) return;
      if (m.id) this.seen.add(m.id);
      this.ui.log.append(m.role === "system" ? el("li", "notice", m.text) : this.bubble(m));
      this.scrollDown();
    }

    bubble(m) {
      const li = el("li", `msg ${m.role}`);
      if (m.role === "staff") li.append(el("span", "who", "Team"));
      if (m.role === "assistant" || m.role === "staff") {
        // Replies are the safe Markdown subset; the customer's own words stay plain text.
        li.appendChild(el("div", "body md")).append(renderMarkdown(m.text));
      } else {
        li.append(el("div", "body", m.text));
      }
      if (m.created_at) li.title = new Date(m.created_at).toLocaleString();
      if (m.citations && m.citations.length) {
        const sources = el("div", "sources");
        sources.append(el("span", null, "Sources:"));
        for (const c of m.citations) {
          const link = /^https?:\/\//i.test(c.source || "");
          const chip = el(link ? "a" : "span", "chip", c.title || c.id);
          if (link) Object.assign(chip, { href: c.source, target: "_blank", rel: "noopener noreferrer" });
          else if (c.source) chip.title = c.source;
          sources.append(chip);
        }
        li.append(sources);
      }
      return li;
    }

    notice(text, isError = false) {
      const li = el("li", isError ? "notice error" : "notice", text);
      if (isError) li.setAttribute("role", "alert");
      this.ui.log.append(li);
      this.scrollDown();
    }

    scrollDown() {
      const { scroll } = this.ui;
      requestAnimationFrame(() => { scroll.scrollTop = scroll.scrollHeight; });
    }
  }

  if (!customElements.get("support-chat")) customElements.define("support-chat", SupportChat);

  const mount = () => {
    if (document.querySelector("support-chat")) return;
    const chat = document.createElement("support-chat");
    if (script) Object.assign(chat.dataset, script.dataset);
    document.body.append(chat);
  };
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
