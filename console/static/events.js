// Live updates: one EventSource on /api/staff/events for the whole page. Views subscribe while
// they are shown; each event is a JSON object with at least a "type" (and usually a
// "conversation_id"). The stream reconnects by itself; the status line says when it is down.

const listeners = new Set();
let source = null;
let onLogout = () => {};

function status(text, state) {
  const el = document.querySelector("header.top .live");
  if (!el) return;
  el.textContent = text;
  el.dataset.state = state;
}

function deliver(raw, fallbackType) {
  let event;
  try {
    event = JSON.parse(raw);
  } catch {
    return;
  }
  if (event && typeof event === "object") {
    if (!event.type) event.type = fallbackType;
    if (event.type === "logout") {
      disconnectEvents();
      onLogout();
      return;
    }
    for (const listener of [...listeners]) listener(event);
  }
}

const NAMED = ["escalation", "ownership", "note", "action", "logout"];

/** `signedOut` runs when the server ends the session (the stream's "logout" event). */
export function connectEvents(signedOut) {
  if (signedOut) onLogout = signedOut;
  if (source) return;
  source = new EventSource("/api/staff/events", { withCredentials: true });
  source.addEventListener("open", () => status("Live", "up"));
  source.addEventListener("error", () => status("Reconnecting…", "down"));
  source.addEventListener("message", (e) => deliver(e.data, "message"));
  // a server that names its events (event: escalation) reaches the same listeners
  for (const name of NAMED) source.addEventListener(name, (e) => deliver(e.data, name));
}

export function disconnectEvents() {
  if (source) source.close();
  source = null;
  status("", "off");
}

/** Calls `listener(event)` for every event while the current view is shown. */
export function onEvent(listener) {
  listeners.add(listener);
}

/** The router calls this before it draws another view. */
export function newView() {
  listeners.clear();
}

/** Runs `fn` at most once per `ms`, trailing (a burst of events makes one refetch). */
export function throttled(fn, ms = 300) {
  let timer = 0;
  return () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = 0;
      fn();
    }, ms);
  };
}
