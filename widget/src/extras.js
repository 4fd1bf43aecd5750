/* The rating asked for when a conversation resolves, photo attachments, and keeping the widget
   on screen: sized to the visual viewport (pinch zoom, on-screen keyboard, pages wider than the
   phone). Mixed into SupportChat.prototype. */

/* White or near-black text, whichever reads better on `color` (WCAG relative luminance). */
const luminance = (rgb) => {
  const [r, g, b] = rgb.map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
};
const contrast = (a, b) => {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
};
const textOn = (color) => {
  const probe = document.createElement("span");
  probe.style.color = color;
  document.documentElement.append(probe);
  const rgb = (getComputedStyle(probe).color.match(/\d+(\.\d+)?/g) || [0, 0, 0]).slice(0, 3).map(Number);
  probe.remove();
  return contrast(rgb, [255, 255, 255]) >= contrast(rgb, [17, 24, 39]) ? "#fff" : "#111827";
};

const EXTRAS = {
  showCsat() {
    this.ui.log.querySelector(".csat")?.remove();  // one rating form at a time
    const t = this.t, scores = t("csatScores");
    const li = el("li", "csat");
    const form = li.appendChild(el("form"));
    const legend = form.appendChild(el("p", "ask", t("csatAsk")));
    legend.id = `sc-csat-${Date.now()}`;
    const row = form.appendChild(el("div", "scores"));
    row.setAttribute("role", "group");
    row.setAttribute("aria-labelledby", legend.id);
    const caption = form.appendChild(el("div", "scale"));
    caption.append(el("span", null, scores[0]), el("span", null, scores[4]));
    const comment = form.appendChild(el("textarea", "comment"));
    Object.assign(comment, { rows: 2, maxLength: MAX_COMMENT, placeholder: t("csatComment") });
    comment.setAttribute("aria-label", t("csatComment"));
    const submit = form.appendChild(el("button", "send", t("csatSend")));
    submit.disabled = true;
    let score = 0;
    scores.forEach((label, i) => {
      const b = row.appendChild(button("score", String(i + 1), `${i + 1} - ${label}`));
      b.title = label;
      b.setAttribute("aria-pressed", "false");
      b.addEventListener("click", () => {
        score = i + 1;
        for (const other of row.children) other.setAttribute("aria-pressed", String(other === b));
        submit.disabled = false;
      });
    });
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      if (!score) return;
      this.csatPending = { score, comment: comment.value.trim().slice(0, MAX_COMMENT) };
      submit.disabled = true;
      this.sendCsat();
    });
    this.ui.log.append(li);
    this.csatNode = li;
    this.scrollDown();
  },

  /* The chosen rating goes out now, or on the next socket (after its resume) if offline. */
  sendCsat() {
    if (!this.csatPending) return;
    if (!this.isOpen()) { this.connect(); return; }
    const { score, comment } = this.csatPending;
    this.csatPending = null;
    this.csatOut = true;
    this.send({ type: "csat", score, ...(comment ? { comment } : {}) });
  },

  csatThanks() {
    const li = this.csatNode || this.ui.log.appendChild(el("li", "csat"));
    li.replaceChildren(el("p", "thanks", this.t("csatThanks")));
    this.csatNode = null;
    this.scrollDown();
  },

  pickPhoto() {
    // The upload belongs to a conversation: there is none before the first message.
    if (!this.conversationId) { this.notice(this.t("attachFirst")); return; }
    if (this.photos.length >= MAX_ATTACHMENTS) {
      this.notice(this.t("tooMany", { n: MAX_ATTACHMENTS }), true);
      return;
    }
    this.ui.file.click();
  },

  async uploadPhotos() {
    const { file } = this.ui;
    const files = [...file.files].slice(0, MAX_ATTACHMENTS - this.photos.length);
    file.value = "";
    for (const f of files) {
      const body = new FormData();
      body.append("file", f);
      body.append("conversation_id", this.conversationId);
      try {
        const r = await fetch(new URL("api/attachments", this.base), { method: "POST", body });
        const data = await r.json().catch(() => ({}));
        if (r.status !== 201 || !data.id) throw new Error(data.error?.message || String(r.status));
        this.photos.push({ id: data.id, preview: URL.createObjectURL(f) });
      } catch (err) {
        this.notice(`${this.t("uploadFailed")} ${err.message || ""}`.trim(), true);
      }
    }
    this.renderTray();
    this.onInput();
  },

  renderTray() {
    const { tray } = this.ui;
    tray.replaceChildren();
    for (const p of this.photos) {
      const item = tray.appendChild(el("div", "thumb"));
      const img = item.appendChild(el("img"));
      Object.assign(img, { src: p.preview, alt: this.t("photo") });
      const remove = item.appendChild(button("remove", "\u00d7", this.t("removePhoto")));
      remove.addEventListener("click", () => {
        this.photos = this.photos.filter((x) => x !== p);
        this.renderTray();
        this.onInput();
      });
    }
    tray.hidden = !this.photos.length;
  },

  trackViewport(on) {
    const vv = window.visualViewport;
    this.fitHandler ||= () => this.fitViewport();
    const method = on ? "addEventListener" : "removeEventListener";
    if (vv) { vv[method]("resize", this.fitHandler); vv[method]("scroll", this.fitHandler); }
    window[method]("resize", this.fitHandler);
    if (on) this.fitViewport();
  },

  /* The host box covers exactly what the customer sees: on a page wider than the phone, zoomed
     or under an on-screen keyboard, the launcher stays in the corner and the open panel fits. */
  fitViewport() {
    const vv = window.visualViewport;
    if (!vv) return;
    const px = (v) => `${Math.round(v * 100) / 100}px`;
    // Custom properties, read by widget.css's :host rule: its !important beats the page's.
    const box = { x: vv.offsetLeft, y: vv.offsetTop, w: vv.width, h: vv.height };
    for (const [k, v] of Object.entries(box)) this.style.setProperty(`--sc-vv-${k}`, px(v));
  },
};
Object.assign(SupportChat.prototype, EXTRAS);
