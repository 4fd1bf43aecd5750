/* Drawing the conversation: messages, notices, source chips, photos, quick replies and the
   suggested questions. Mixed into SupportChat.prototype. */
const VIEW = {
  renderHistory(messages) {
    this.seen.clear();
    this.greetingNode = this.bubble({ role: "assistant", text: this.greeting });
    this.ui.log.replaceChildren(this.greetingNode);
    for (const m of messages) this.addMessage(m);
    // Messages typed while offline stay visible under the history until they are sent.
    for (const item of this.outbox) if (!this.seen.has(item.messageId)) this.ui.log.append(item.node);
    const last = messages[messages.length - 1];
    if (!messages.length && !this.outbox.length) this.showSuggestions();
    else this.showQuickReplies(last && last.role !== "customer" ? last.quick_replies || [] : []);
    this.scrollDown();
  },

  addMessage(m) {
    if (m.id && this.seen.has(m.id)) return;
    if (m.id) this.seen.add(m.id);
    this.ui.log.append(m.role === "system" ? el("li", "notice", m.text) : this.bubble(m));
    this.scrollDown();
  },

  bubble(m) {
    const li = el("li", `msg ${m.role}`);
    if (m.role === "staff") li.append(el("span", "who", this.t("team")));
    if (m.role === "assistant" || m.role === "staff") {
      // Replies are the safe Markdown subset; the customer's own words stay plain text.
      li.appendChild(el("div", "body md")).append(renderMarkdown(m.text));
    } else {
      li.append(el("div", "body", m.text));
    }
    const photos = (m.attachments || []).map((a) => this.safeUrl(a.url)).filter(Boolean);
    if (photos.length) {
      const row = li.appendChild(el("div", "photos"));
      for (const src of photos) {
        const img = row.appendChild(el("img"));
        Object.assign(img, { src, alt: this.t("photo"), loading: "lazy" });
      }
    }
    if (m.created_at) li.title = new Date(m.created_at).toLocaleString();
    if (m.citations && m.citations.length) {
      const sources = el("div", "sources");
      sources.append(el("span", null, this.t("sources")));
      for (const c of m.citations) {
        // `url` is the help-center article's page (absolute, or relative to the server).
        const href = this.safeUrl(c.url) || this.safeUrl(/^https?:/i.test(c.source || "") ? c.source : "");
        const chip = el(href ? "a" : "span", "chip", c.title || c.id);
        if (href) Object.assign(chip, { href, target: "_blank", rel: "noopener noreferrer" });
        else if (c.source) chip.title = c.source;
        sources.append(chip);
      }
      li.append(sources);
    }
    return li;
  },

  /* An http(s) URL resolved against the server, or "" (javascript:, data:, garbage...). */
  safeUrl(url) {
    if (!url || typeof url !== "string") return "";
    if (url.startsWith("blob:")) return url.startsWith(`blob:${location.origin}/`) ? url : "";
    try {
      const u = new URL(url, this.base);
      return u.protocol === "https:" || u.protocol === "http:" ? u.href : "";
    } catch { return ""; }
  },

  notice(text, isError = false) {
    const li = el("li", isError ? "notice error" : "notice", text);
    if (isError) li.setAttribute("role", "alert");
    this.ui.log.append(li);
    this.scrollDown();
  },

  scrollDown() {
    const { scroll } = this.ui;
    requestAnimationFrame(() => { scroll.scrollTop = scroll.scrollHeight; });
  },

  /* Buttons under the newest reply; a click sends the button's text as the customer's message. */
  showQuickReplies(replies, label = this.t("quickLabel"), kind = "reply") {
    const { quick } = this.ui;
    quick.replaceChildren();
    quick.dataset.kind = kind;
    quick.setAttribute("aria-label", label);
    for (const text of replies.filter((r) => typeof r === "string" && r.trim()).slice(0, 6)) {
      const b = quick.appendChild(button("qr", text));
      b.addEventListener("click", () => {
        this.showQuickReplies([]);
        this.queue(text);
        this.ui.input.focus();
      });
    }
    quick.hidden = !quick.childElementCount;
    this.scrollDown();
  },

  /* Suggested questions for an empty conversation: data-suggestions, else the locale's own. */
  showSuggestions() {
    const own = this.options.suggestions;
    const list = Array.isArray(own) && own.length ? own : this.t("suggestions");
    this.showQuickReplies(list.map(String), this.t("suggestionsLabel"), "suggestion");
  },
};
Object.assign(SupportChat.prototype, VIEW);
