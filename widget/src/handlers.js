/* One handler per SERVER_FRAME_TYPES entry, called with the <support-chat> element as `this`. */
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
  token_reset() {
    // The draft so far is void (the model failed mid-reply); the turn's answer streams anew.
    this.pending = null;
    this.ui.live.replaceChildren();
    this.showStatus();
  },
  tool_status(f) {
    if (f.status === "started") this.tools.set(f.tool, f.label);
    else this.tools.delete(f.tool);
    this.showStatus();
  },
  escalated() { this.notice(this.t("escalated")); },
  message(f) {
    this.remember(f.conversation_id, f.owner);
    if (f.client_id) {  // the end of a turn; staff replies arrive without one, at any time
      this.inflight.delete(f.client_id);
      this.endTurn();
    }
    this.addMessage(f);
    // Yes / No when the reply asks to confirm an action: only the newest reply offers them.
    this.showQuickReplies(f.role === "customer" ? [] : f.quick_replies || []);
    if (this.ui.panel.hidden) this.ui.unread.hidden = false;
  },
  error(f) {
    const wasResuming = this.resuming;
    this.resuming = false;
    if (wasResuming && f.code === "conversation_not_found") {
      // The stored conversation is gone (e.g. the data was reset): start afresh.
      this.remember(null);
      this.renderHistory([]);
    } else if (this.csatOut && f.code === "bad_frame") {
      this.csatOut = false;  // the rating was refused: its form stays for another try
      this.csatNode?.querySelector(".send")?.removeAttribute("disabled");
      this.notice(f.message || this.t("failed"), true);
    } else if (!wasResuming) {
      // The server handles one frame at a time, so the error is about the oldest message out.
      const [clientId, item] = this.inflight.entries().next().value || [];
      this.inflight.delete(clientId);
      if (item && !item.messageId) item.node.querySelector(".note").textContent = this.t("notSent");
      this.endTurn();
      this.notice(f.message || this.t("failed"), true);
    }
    this.flush();
  },
  pong() { /* liveness only: lastSeen is updated for every frame */ },
  identified(f) {
    // The storefront's signed login was accepted: the server bound the conversation.
    if (!this.identifiedShown) this.notice(this.t("identified", { name: f.first_name || "" }));
    this.identifiedShown = true;
  },
  csat_request(f) {
    if (f.conversation_id) this.remember(f.conversation_id);
    this.showCsat();
  },
  csat_saved() {
    this.csatOut = false;
    this.csatThanks();
  },
};
