/* support-agent chat widget. One <script src="https://your-host/widget.js"> tag adds a
   <support-chat> element that loads widget.css and talks over /ws/chat on the same host
   (docs/protocol.md, docs/widget.md). Plain JS, no build step, nothing from third parties.
   Options come from data attributes on the script tag (or a hand-placed <support-chat>) or from
   window.SupportAgent.init({...}): title, color, position, locale, greeting, suggestions,
   identityToken, server (base URL, when widget.js is served from somewhere else).

   The server serves this file as the concatenation of widget/src/*.js in the order listed in
   widget/__init__.py, inside one function scope: each source file sees the others' constants. */

// Mirrors channels/protocol.py; tests/widget/test_frame_names.py checks the lists match.
const SERVER_FRAME_TYPES = [
  "conversation", "ack", "token", "token_reset", "tool_status", "escalated", "message", "error",
  "pong", "identified", "csat_request", "csat_saved",
];
const CLIENT_FRAME_TYPES = ["message", "resume", "ping", "identify", "csat"];

const STORAGE_KEY = "support-agent:conversation";
const MAX_CHARS = 4000;
const COUNTER_FROM = 3500;
const PING_MS = 25000;
const MAX_BACKOFF_MS = 30000;
const MAX_ATTACHMENTS = 3;
const MAX_COMMENT = 1000;

// Read while the script runs: document.currentScript is null afterwards.
const script = document.currentScript ||
  [...document.scripts].find((s) => /\/widget\.js([?#]|$)/.test(s.src));
const scriptUrl = new URL(script && script.src ? script.src : "/widget.js", location.href);

const el = (tag, cls, text) => {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text != null) node.textContent = text;
  return node;
};
const button = (cls, text, label) => {
  const b = el("button", cls, text);
  b.type = "button";
  if (label) b.setAttribute("aria-label", label);
  return b;
};
const newId = () => (crypto.randomUUID ? crypto.randomUUID() :
  [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join(""));
const storage = {  // localStorage throws in some sandboxed iframes and private modes
  get() { try { return localStorage.getItem(STORAGE_KEY); } catch { return null; } },
  set(v) { try { v ? localStorage.setItem(STORAGE_KEY, v) : localStorage.removeItem(STORAGE_KEY); } catch { /* ignore */ } },
};
