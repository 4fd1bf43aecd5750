// The console's entry point: who is signed in, the hash router, the live event stream.

import { get, post, request, setCsrf, whenSignedOut } from "./api.js";
import { h, replace, toast } from "./dom.js";
import { renderQueue } from "./queue.js";
import { renderConversation } from "./conversation.js";
import { renderKnowledge } from "./knowledge.js";
import { renderAnalytics } from "./analytics.js";
import { renderStaff, renderSettings } from "./admin.js";
import { connectEvents, disconnectEvents, newView } from "./events.js";

const main = document.getElementById("main");
const top = document.querySelector("header.top");
export const session = { staff: null };

const ROUTES = [
  [/^#\/queue$/, () => renderQueue(main, session)],
  [/^#\/c\/([\w-]+)$/, (m) => renderConversation(main, session, m[1])],
  [/^#\/knowledge(?:\?q=(.*))?$/, (m) => renderKnowledge(main, session, m[1] ? decodeURIComponent(m[1]) : "")],
  [/^#\/analytics$/, () => renderAnalytics(main, session)],
  [/^#\/staff$/, () => renderStaff(main, session), true],
  [/^#\/settings$/, () => renderSettings(main, session), true],
];

function isAdmin() {
  return session.staff?.role === "admin";
}

async function route() {
  if (!session.staff) return;
  const hash = location.hash || "#/queue";
  for (const [pattern, render, adminOnly] of ROUTES) {
    const m = hash.match(pattern);
    if (!m) continue;
    if (adminOnly && !isAdmin()) break;
    const section = hash.split("/")[1].split("?")[0];
    for (const link of top.querySelectorAll("nav a")) {
      const here = link.dataset.nav === section || (section === "c" && link.dataset.nav === "queue");
      if (here) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    newView();
    try {
      await render(m);
    } catch (err) {
      if (err.status !== 401) replace(main, h("p", { class: "error", role: "alert" }, err.message));
    }
    return;
  }
  location.hash = "#/queue";
}

function showShell() {
  top.hidden = false;
  const staff = session.staff;
  replace(top.querySelector(".who"), staff.name || staff.email, " · ", staff.role);
  for (const link of top.querySelectorAll("[data-admin]")) link.hidden = !isAdmin();
  connectEvents(signedOut);
}

function signedOut() {
  session.staff = null;
  top.hidden = true;
  disconnectEvents();
  renderLogin();
}

function renderLogin(message = "") {
  const error = h("p", { class: "error", role: "alert" }, message);
  const email = h("input", { type: "email", name: "email", id: "login-email",
    autocomplete: "username", required: true });
  const password = h("input", { type: "password", name: "password", id: "login-password",
    autocomplete: "current-password", required: true });
  const button = h("button", { type: "submit", class: "primary" }, "Sign in");
  const form = h("form", { class: "login", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title" }, "Support console"),
    h("label", { for: "login-email" }, "Email"), email,
    h("label", { for: "login-password" }, "Password"), password,
    button, error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    error.textContent = "";
    try {
      const answer = await request("POST", "/api/staff/login",
        { email: email.value.trim(), password: password.value });
      setCsrf(answer.csrf_token);
      session.staff = answer.staff;
      showShell();
      await route();
    } catch (err) {
      // 429 carries the server's own words: how long until sign-in is allowed again
      error.textContent = err.status === 401 ? "Wrong email or password." : err.message;
      password.value = "";
      password.focus();
    } finally {
      button.disabled = false;
    }
  });
  replace(main, h("div", { class: "login-wrap" }, form));
  email.focus();
}

async function start() {
  whenSignedOut(signedOut);
  top.querySelector(".logout").addEventListener("click", async () => {
    try {
      await post("/api/staff/logout");
    } catch (err) {
      if (err.status !== 401) toast(err.message, "error");
    }
    setCsrf(null);
    signedOut();
  });
  window.addEventListener("hashchange", route);
  try {
    const me = await get("/api/staff/me");
    session.staff = me.staff || me;
    if (me.csrf_token) setCsrf(me.csrf_token);
    showShell();
    await route();
  } catch (err) {
    // a 401 has already shown the sign-in form (request() calls signedOut); drawing it again
    // would wipe what a fast typist has entered since
    if (err.status !== 401) renderLogin(err.message);
  }
}

start();
