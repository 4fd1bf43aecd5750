// The staff API over the session cookie. Every state change carries the CSRF token the login
// answered with (kept for the tab in sessionStorage, read again from /me after a reload).

const CSRF_KEY = "support-console:csrf";
const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

let onSignedOut = () => {};
export function whenSignedOut(callback) {
  onSignedOut = callback;
}

export function setCsrf(token) {
  if (token) sessionStorage.setItem(CSRF_KEY, token);
  else sessionStorage.removeItem(CSRF_KEY);
}

async function detail(response) {
  try {
    const body = await response.json();
    const d = body.error?.message ?? body.detail ?? body.message;
    if (typeof d === "string") return d;
    if (Array.isArray(d)) return d.map((e) => e.msg || JSON.stringify(e)).join("; ");
    return JSON.stringify(body);
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

export async function request(method, path, body, { raw = false, contentType } = {}) {
  const headers = { Accept: "application/json" };
  if (UNSAFE.has(method)) headers["X-CSRF-Token"] = sessionStorage.getItem(CSRF_KEY) || "";
  let payload;
  if (body !== undefined) {
    if (raw) {
      payload = body;
      headers["Content-Type"] = contentType || "application/octet-stream";
    } else {
      payload = JSON.stringify(body);
      headers["Content-Type"] = "application/json";
    }
  }
  const response = await fetch(path, {
    method, headers, body: payload, credentials: "same-origin",
  });
  if (response.status === 401 && !path.endsWith("/login")) {
    setCsrf(null);
    onSignedOut();
  }
  if (!response.ok) throw new ApiError(response.status, await detail(response));
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  return type.includes("json") ? response.json() : response.text();
}

export const get = (path) => request("GET", path);
export const post = (path, body = {}) => request("POST", path, body);
export const del = (path) => request("DELETE", path);
export const put = (path, body = {}) => request("PUT", path, body);
