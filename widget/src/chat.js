/* The <support-chat> element: options, markup, the socket and the outbox. Rendering lives in
   view.js and the extras (quick replies, CSAT, photos, viewport) in extras.js. */

// Static markup only: every piece of store, customer or model text goes in via textContent, and
// the localized labels are set by applyOptions().
const MARKUP = `
<section class="panel" role="dialog" aria-labelledby="sc-title" hidden>
  <header>
    <div class="titles"><h2 id="sc-title"></h2><div class="conn" aria-live="polite"></div></div>
    <button class="close" type="button">&times;</button>
  </header>
  <div class="scroll">
    <ol class="log" role="log" aria-live="polite"></ol>
    <div class="live-reply"></div>
    <div class="status" role="status" hidden></div>
    <div class="quick" role="group" hidden></div>
  </div>
  <div class="tray" hidden></div>
  <form>
    <button class="attach" type="button"><svg viewBox="0 0 24 24" fill="none" stroke="currentColor"
      stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path
      d="M21 11.5l-8.6 8.6a5.5 5.5 0 0 1-7.8-7.8l8.6-8.6a3.7 3.7 0 0 1 5.2 5.2l-8.6 8.6a1.8 1.8 0 0 1-2.6-2.6l8-8"/></svg></button>
    <input class="file" type="file" accept="image/*" hidden>
    <div class="field">
      <label class="sr-only" for="sc-input"></label>
      <textarea id="sc-input" rows="1" maxlength="${MAX_CHARS}"></textarea>
      <div class="counter" aria-live="polite" hidden></div>
    </div>
    <button class="send" type="submit" disabled></button>
  </form>
</section>
<button class="launcher" type="button" aria-expanded="false">
  <svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"
    stroke-linejoin="round" aria-hidden="true"><path class="icon-chat" d="M21 12a8 8 0 0 1-11.6 7.1L4 20l1-4.6A8 8 0 1 1 21 12z"/>
    <path class="icon-close" d="M6 9l6 6 6-6"/></svg>
  <span class="unread" hidden></span>
</button>`;

const OPTION_KEYS = ["title", "color", "position", "locale", "greeting", "suggestions",
  "identityToken", "server"];

class SupportChat extends HTMLElement {
  static SERVER_FRAME_TYPES = SERVER_FRAME_TYPES;
  static CLIENT_FRAME_TYPES = CLIENT_FRAME_TYPES;
  static renderMarkdown = renderMarkdown;
  static stringsFor = stringsFor;

  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    this.ws = null;
    this.outbox = [];          // {client_id, text, attachments, node}: typed, not yet sent
    this.inflight = new Map(); // client_id -> the same item: sent, no reply yet
    this.seen = new Set();     // server message ids already rendered
    this.tools = new Map();    // tool -> label, while running
    this.photos = [];          // uploaded, waiting for the next message: {id, preview}
    this.initOptions = {};     // from window.SupportAgent.init(); data attributes are the rest
    this.attempt = 0;
    this.resuming = false;  // a resume is in flight: hold the outbox until the history is drawn
    this.owner = "bot";
    this.conversationId = storage.get();
    this.t = stringsFor("en");
  }

  connectedCallback() {
    if (!this.ui) this.build();
    this.stopped = false;
    this.trackViewport(true);
    // With a stored conversation, connect at once so staff replies arrive while the panel is shut.
    if (this.conversationId) this.connect();
  }

  disconnectedCallback() {
    this.stopped = true;
    this.trackViewport(false);
    clearTimeout(this.retryTimer);
    if (this.ws) this.ws.close();
  }

  /* The options in force: init() wins over data attributes. */
  get options() {
    const o = {};
    for (const key of OPTION_KEYS) {
      const value = this.initOptions[key] ?? this.dataset[key];
      if (value != null && value !== "") o[key] = value;
    }
    if (typeof o.suggestions === "string") {
      o.suggestions = o.suggestions.split("|").map((s) => s.trim()).filter(Boolean);
    }
    return o;
  }

  /* window.SupportAgent.init() lands here; safe to call again at any time. */
  configure(options = {}) {
    const before = this.options.identityToken;
    for (const key of OPTION_KEYS) if (key in options) this.initOptions[key] = options[key];
    if (!this.ui) return;
    this.applyOptions();
    if (this.options.identityToken !== before) this.identify();
  }

  build() {
    const base = new URL(this.options.server || scriptUrl.origin, location.href);
    const root = base.pathname.replace(/\/$/, "");
    this.base = new URL(`${root}/`, base);
    const css = Object.assign(document.createElement("link"),
      { rel: "stylesheet", href: new URL("widget.css", this.base).href });
    // Shown once styled: an unstyled launcher would be a bare button at the end of the page.
    this.style.display = "none";
    css.addEventListener("load", () => { this.style.display = ""; });
    css.addEventListener("error", () => console.warn("support-chat: could not load", css.href));
    this.shadowRoot.innerHTML = MARKUP;
    this.shadowRoot.prepend(css);
    const ws = new URL("ws/chat", this.base);
    ws.protocol = base.protocol === "https:" ? "wss:" : "ws:";
    this.endpoint = ws.href;
    const $ = (sel) => this.shadowRoot.querySelector(sel);
    this.ui = { panel: $(".panel"), title: $("h2"), conn: $(".conn"), close: $(".close"),
      scroll: $(".scroll"), log: $(".log"), live: $(".live-reply"), status: $(".status"),
      quick: $(".quick"), tray: $(".tray"), form: $("form"), attach: $(".attach"),
      file: $(".file"), label: $("label"), input: $("textarea"), counter: $(".counter"),
      send: $(".send"), launcher: $(".launcher"), unread: $(".unread") };

    const { launcher, close, form, input, panel, attach, file } = this.ui;
    launcher.addEventListener("click", () => this.setOpen(panel.hidden));
    close.addEventListener("click", () => this.setOpen(false));
    panel.addEventListener("keydown", (e) => { if (e.key === "Escape") this.setOpen(false); });
    form.addEventListener("submit", (e) => { e.preventDefault(); this.submit(); });
    input.addEventListener("input", () => this.onInput());
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); this.submit(); }
    });
    attach.addEventListener("click", () => this.pickPhoto());
    file.addEventListener("change", () => this.uploadPhotos());
    window.addEventListener("online", () => { if (!this.ws && !this.stopped) this.connect(); });
    this.applyOptions();
  }

  /* Labels, colours and position from the options; redrawn in place when init() changes them. */
  applyOptions() {
    const o = this.options, t = (this.t = stringsFor(o.locale));
    const { title, close, label, input, send, attach, log, quick } = this.ui;
    title.textContent = o.title || t("title");
    close.setAttribute("aria-label", t("close"));
    label.textContent = t("input");
    input.placeholder = t("placeholder");
    send.textContent = t("send");
    attach.setAttribute("aria-label", t("attach"));
    attach.title = t("attach");
    log.setAttribute("aria-label", t("conversation"));
    quick.setAttribute("aria-label", t("quickLabel"));
    this.setAttribute("data-position", o.position === "left" ? "left" : "right");
    if (o.color && CSS.supports("color", o.color)) {
      this.style.setProperty("--accent", o.color);
      this.style.setProperty("--on-accent", textOn(o.color));
    }
    this.greeting = o.greeting || t("greeting");
    this.setOpenLabel();
    this.setConn(this.connText);
    if (this.greetingNode) this.greetingNode.replaceWith(this.greetingNode = this.bubble(
      { role: "assistant", text: this.greeting }));
    else this.renderHistory([]);
  }

  setOpenLabel() {
    const open = !this.ui.panel.hidden;
    this.ui.launcher.setAttribute("aria-expanded", String(open));
    this.ui.launcher.setAttribute("aria-label", this.t(open ? "close" : "open"));
  }

  setOpen(open) {
    const { panel, launcher, input, unread } = this.ui;
    panel.hidden = !open;
    this.setOpenLabel();
    this.fitViewport();
    if (!open) { launcher.focus(); return; }
    unread.hidden = true;
    this.connect();
    this.scrollDown();
    input.focus();
  }

  connect() {
    if (this.stopped || (this.ws && this.ws.readyState <= WebSocket.OPEN)) return;
    clearTimeout(this.retryTimer);
    this.setConn(this.t("connecting"));
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
      }
      // After the resume (frames are handled in order) and before any message: the signed
      // login binds the resumed conversation, or the one the first message starts.
      this.identify();
      this.sendCsat();
      this.flush();
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
    this.setConn(this.t(this.outbox.length ? "offlineQueued" : "offline"));
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  ping() {
    if (!this.isOpen()) return;
    // No frame for two intervals: the socket is dead even if the browser has not noticed.
    if (Date.now() - this.lastSeen > 2 * PING_MS) { this.ws.close(); return; }
    this.send({ type: "ping" });
  }

  isOpen() { return !!this.ws && this.ws.readyState === WebSocket.OPEN; }

  send(frame) { this.ws.send(JSON.stringify(frame)); }

  /* The storefront's signed login token goes in a frame, never in a URL. */
  identify() {
    const token = this.options.identityToken;
    if (token && this.isOpen()) this.send({ type: "identify", token: String(token) });
  }

  flush() {
    while (this.outbox.length && this.isOpen() && !this.resuming) {
      const item = this.outbox.shift();
      if (item.attachments.length) {
        this.send({ type: "message", text: item.text, client_id: item.client_id,
          attachments: item.attachments });
      } else {
        this.send({ type: "message", text: item.text, client_id: item.client_id });
      }
      this.inflight.set(item.client_id, item);
      item.node.classList.remove("queued");
      this.showStatus();
    }
  }

  setConn(text) {
    this.connText = text;
    const ownerNote = { queued: this.t("queued"), human: this.t("human") };
    this.ui.conn.textContent = text || ownerNote[this.owner] || "";
  }

  onInput() {
    const { input, counter, send } = this.ui;
    const n = input.value.length;
    counter.hidden = n < COUNTER_FROM;
    counter.textContent = `${n.toLocaleString()} / ${MAX_CHARS.toLocaleString()}`;
    counter.classList.toggle("over", n >= MAX_CHARS);
    send.disabled = !input.value.trim() && !this.photos.length;
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight + 2, 120)}px`;
  }

  submit() {
    const typed = this.ui.input.value.trim();
    if (!typed && !this.photos.length) return;
    if (typed.length > MAX_CHARS) {
      this.notice(this.t("tooLong", { n: MAX_CHARS.toLocaleString() }), true);
      return;
    }
    const photos = this.photos.splice(0);
    this.renderTray();
    this.ui.input.value = "";
    this.onInput();
    this.queue(typed || this.t("photoOnly"), photos);
  }

  /* Show a customer message at once and send it when the socket allows. */
  queue(text, photos = []) {
    const node = this.bubble({ role: "customer", text,
      attachments: photos.map((p) => ({ id: p.id, url: p.preview })) });
    node.classList.add("queued");
    node.append(el("span", "note", this.t("sending")));
    this.ui.log.append(node);
    this.showQuickReplies([]);
    this.outbox.push({ client_id: newId(), text, attachments: photos.map((p) => p.id), node });
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
    const text = labels.length ? labels[labels.length - 1] : waiting ? this.t("typing") : "";
    status.textContent = text;
    status.hidden = !text;
    this.scrollDown();
  }
}
