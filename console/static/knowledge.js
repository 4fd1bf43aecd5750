// The help center: documents with chunk counts and last ingest, upload, delete, re-index,
// flagged passages, and the questions it could not answer, each one click from an article.

import { ApiError, del, get, post, request } from "./api.js";
import { h, label, replace, toast, when } from "./dom.js";

async function optional(path, fallback) {
  try {
    return await get(path);
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 405)) return fallback;
    throw err;
  }
}

function slug(text) {
  const s = text.toLowerCase().normalize("NFKD").replace(/[^\w\s-]/g, "").trim()
    .replace(/[\s_]+/g, "-").slice(0, 60);
  return s || "article";
}

function reportText(r) {
  const parts = [];
  for (const key of ["added", "updated", "unchanged", "deleted"]) {
    const v = r[key];
    const n = Array.isArray(v) ? v.length : v;
    if (n) parts.push(`${n} ${key}`);
  }
  if (r.chunks_flagged) parts.push(`${r.chunks_flagged} passages flagged`);
  for (const s of r.skipped || []) parts.push(`skipped ${s.document}: ${s.reason}`);
  return parts.join(", ") || "Done.";
}

function questionsOf(found) {
  const list = Array.isArray(found) ? found : found.items || found.questions || [];
  const byText = new Map();
  for (const q of list) {
    const text = (q.question || q.query || "").trim();
    if (!text) continue;
    const key = text.toLowerCase();
    const seen = byText.get(key) || { text, title: q.draft?.title || text, count: 0, last: q.last_at || q.at };
    seen.count += q.count || 1;
    byText.set(key, seen);
  }
  return [...byText.values()].sort((a, b) => b.count - a.count);
}

export async function renderKnowledge(main, session, prefill = "") {
  const admin = session.staff.role === "admin";
  const docsBody = h("tbody");
  const flaggedList = h("ul", { class: "flagged" });
  const unansweredList = h("ol", { class: "unanswered" });
  const statsLine = h("p", { class: "sub stats" });

  // the article form: a title and Markdown, uploaded as <slug>.md
  const title = h("input", { type: "text", id: "article-title", required: true, maxlength: 150 });
  const bodyText = h("textarea", { id: "article-body", rows: 8, required: true });
  const file = h("input", { type: "file", id: "article-file",
    accept: ".md,.markdown,.txt,.html,.htm,.pdf,.csv,.json,.jsonl,.ndjson,.yaml,.yml" });
  const write = h("form", { class: "card write", "aria-labelledby": "write-title" },
    h("h2", { id: "write-title" }, "Write an article"),
    h("label", { for: "article-title" }, "Title (the question it answers)"), title,
    h("label", { for: "article-body" }, "Answer (Markdown)"), bodyText,
    h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, "Publish article")),
    h("h3", {}, "Or upload a file"),
    h("div", { class: "row" }, file,
      h("button", { type: "button", class: "upload", onclick: () => upload() }, "Upload")));
  write.addEventListener("submit", async (e) => {
    e.preventDefault();
    const name = `${slug(title.value)}.md`;
    const markdown = `# ${title.value.trim()}\n\n${bodyText.value.trim()}\n`;
    try {
      const report = await request("POST", `/api/staff/kb/documents?name=${encodeURIComponent(name)}`,
        new Blob([markdown], { type: "text/markdown" }), { raw: true, contentType: "text/markdown" });
      toast(`${name}: ${reportText(report)}`);
      title.value = "";
      bodyText.value = "";
      await load();
    } catch (err) {
      toast(err.message, "error");
    }
  });

  const upload = async () => {
    const chosen = file.files[0];
    if (!chosen) return toast("Choose a file first.", "error");
    try {
      const report = await request("POST", `/api/staff/kb/documents?name=${encodeURIComponent(chosen.name)}`,
        chosen, { raw: true, contentType: chosen.type || "application/octet-stream" });
      toast(`${chosen.name}: ${reportText(report)}`);
      file.value = "";
      await load();
    } catch (err) {
      toast(err.message, "error");
    }
  };

  const draft = (question) => {
    title.value = question;
    bodyText.value = "";
    write.scrollIntoView({ block: "start" });
    bodyText.focus();
  };

  const docRow = (d) => h("tr", { dataset: { doc: d.doc_id } },
    h("td", {}, h("strong", {}, d.title || d.doc_id), h("div", { class: "sub" }, d.doc_id)),
    h("td", {}, label(d.kind)),
    h("td", { class: "num" }, d.chunks),
    h("td", { class: "num" }, d.flagged ? h("span", { class: "badge warn" }, d.flagged) : "0"),
    h("td", { class: "date" }, d.ingested_at ? new Date(d.ingested_at).toLocaleDateString() : "—"),
    h("td", { class: "actions" }, admin ? [
      h("button", { type: "button", onclick: () => reindex([d.doc_id]) }, "Re-index"),
      h("button", { type: "button", class: "danger", onclick: () => remove(d) }, "Delete")] : null));

  const remove = async (d) => {
    if (!window.confirm(`Delete "${d.title || d.doc_id}" from the help center?`)) return;
    try {
      await del(`/api/staff/kb/documents/${encodeURIComponent(d.doc_id)}`);
      toast(`Deleted ${d.doc_id}.`);
      await load();
    } catch (err) {
      toast(err.message, "error");
    }
  };

  const reindex = async (ids) => {
    try {
      toast("Re-indexing…");
      toast(reportText(await post("/api/staff/kb/reindex", { doc_ids: ids })));
      await load();
    } catch (err) {
      toast(err.message, "error");
    }
  };

  const load = async () => {
    const [docs, stats, flagged, unanswered] = await Promise.all([
      get("/api/staff/kb/documents"),
      optional("/api/staff/kb/stats", null),
      optional("/api/staff/kb/flagged", null),
      optional("/api/staff/kb/unanswered", null).then((found) => found ?? get("/api/staff/unanswered")),
    ]);
    replace(docsBody, docs.length ? docs.map(docRow)
      : h("tr", {}, h("td", { colspan: 6, class: "empty" }, "No documents yet.")));
    if (stats) statsLine.textContent = `${stats.documents} documents, ${stats.chunks} passages, ${stats.flagged_chunks} flagged`;
    const passages = flagged ? (Array.isArray(flagged) ? flagged : flagged.passages || [])
      : docs.filter((d) => d.flagged).map((d) => ({ doc_id: d.doc_id, title: d.title, text: `${d.flagged} passage(s) flagged` }));
    replace(flaggedList, passages.length ? passages.map((p) => h("li", {},
      h("strong", {}, p.title || p.doc_id), p.heading ? ` › ${p.heading}` : "",
      h("blockquote", {}, p.text || p.reason || ""))) : h("li", { class: "muted" }, "No flagged passages."));
    const questions = questionsOf(unanswered);
    replace(unansweredList, questions.length ? questions.slice(0, 50).map((q) => h("li", {},
      h("span", { class: "q" }, q.text),
      h("span", { class: "sub" }, ` asked ${q.count}×`),
      admin ? h("button", { type: "button", class: "draft", onclick: () => draft(q.title) },
        "Write an article for this") : null))
      : h("li", { class: "muted" }, "Every question found an answer."));
  };

  replace(main, h("section", { class: "knowledge" },
    h("h1", {}, "Knowledge"), statsLine,
    h("div", { class: "columns" },
      h("div", {},
        h("section", { class: "card" },
          h("div", { class: "card-head" }, h("h2", {}, "Documents"),
            admin ? h("button", { type: "button", onclick: () => reindex(null) }, "Re-index all") : null),
          h("table", { class: "grid docs" },
            h("thead", {}, h("tr", {}, ["Document", "Kind", "Passages", "Flagged", "Last ingest", ""]
              .map((t) => h("th", { scope: "col" }, t)))), docsBody)),
        h("section", { class: "card" }, h("h2", {}, "Flagged passages"),
          h("p", { class: "sub" }, "Text that reads like instructions to the agent; it is never served to customers."),
          flaggedList)),
      h("div", {},
        h("section", { class: "card" }, h("h2", {}, "Unanswered questions"), unansweredList),
        admin ? write : h("p", { class: "muted" }, "Ask an admin to publish articles.")))));
  await load();
  if (prefill && admin) draft(prefill);
}
