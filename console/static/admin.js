// Admin pages: the staff list and the settings (read-only; the server masks secrets). Agents
// never see the links, and the API refuses them anyway.

import { get } from "./api.js";
import { h, replace, when } from "./dom.js";

export async function renderStaff(main) {
  const found = await get("/api/staff/members");
  const list = Array.isArray(found) ? found : found.staff || [];
  replace(main, h("section", { class: "admin" }, h("h1", {}, "Staff"),
    h("p", { class: "sub" }, "Add or disable accounts with `support-agent staff add EMAIL --role agent|admin`."),
    h("table", { class: "grid" },
      h("thead", {}, h("tr", {}, ["Name", "Email", "Role", "Status", "Added"]
        .map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, list.map((m) => h("tr", {},
        h("td", {}, m.name || ""), h("td", {}, m.email), h("td", {}, m.role),
        h("td", {}, m.disabled || m.active === false ? "disabled" : "active"),
        h("td", {}, when(m.last_login_at || m.created_at) || "—")))))));
}

function flatten(obj, prefix = "") {
  const out = [];
  for (const [k, v] of Object.entries(obj || {})) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === "object" && !Array.isArray(v)) out.push(...flatten(v, key));
    else out.push([key, Array.isArray(v) ? v.join(", ") : String(v)]);
  }
  return out;
}

export async function renderSettings(main) {
  const found = await get("/api/staff/settings");
  const rows = flatten(found.settings || found);
  replace(main, h("section", { class: "admin" }, h("h1", {}, "Settings"),
    h("p", { class: "sub" }, "Read-only. Change them in the environment (SUPPORT_*) and restart."),
    h("table", { class: "grid settings" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Setting"), h("th", { scope: "col" }, "Value"))),
      h("tbody", {}, rows.map(([k, v]) => h("tr", {}, h("td", {}, h("code", {}, k)), h("td", {}, v)))))));
}
