/* The reply format: markdown_safe.py's subset (paragraphs, bold, italic, lists, simple tables,
   http/https/mailto links), built as DOM nodes. Text only ever becomes text nodes: no innerHTML,
   no attribute but href (checked), the fixed rel/target, and a table cell's data-label (its
   column's header text, for the narrow-screen layout). */
const MD = {
  bullet: /^ {0,3}[-*+•][ \t]+(.*)$/,
  numbered: /^ {0,3}([0-9]{1,9})[.)][ \t]+(.*)$/,
  heading: /^ {0,3}#{1,6}[ \t]+(.*?)[ \t#]*$/,
  row: /^ {0,3}\|(.*)\|[ \t]*$/,
  rule: /^ {0,3}\|(?:[ \t]*:?-+:?[ \t]*\|)+[ \t]*$/,
  continuation: /^(?: {2,}|\t)(\S.*)$/,
  inline: new RegExp([
    String.raw`\\([\\\x60*_\[\]()#+\-.!|>~•])`,
    String.raw`\[([^\]\n]+)\]\(([^()\s]+)\)`,
    String.raw`(https?:\/\/[^\s<>"'()\[\]]*[^\s<>"'()\[\].,;:!?*_])`,
    String.raw`\*\*([^\s*](?:[^*]*[^\s*])?)\*\*`,
    String.raw`\*([^\s*](?:[^*]*[^\s*])?)\*`,
    String.raw`_([^\s_](?:[^_]*[^\s_])?)_`,
  ].join("|"), "g"),
  word: /[A-Za-z0-9]/,
  safeUrl: /^(?:https?:\/\/[^/\s]|mailto:[^\s@]+@)/i,
};

const mdCells = (line) => {
  const m = MD.row.exec(line);
  const cells = [];
  let cur = "", esc = false;
  for (const ch of m ? m[1] : line) {  // a \| inside a cell is a literal pipe
    if (esc) { cur += ch === "|" ? ch : `\\${ch}`; esc = false; }
    else if (ch === "\\") esc = true;
    else if (ch === "|") { cells.push(cur.trim()); cur = ""; }
    else cur += ch;
  }
  cells.push((cur + (esc ? "\\" : "")).trim());
  return cells;
};

const mdBlocks = (text) => {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  const blocks = [];
  let para = [], list = null, m;
  const close = () => { if (para.length) { blocks.push({ kind: "p", lines: para }); para = []; } };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const num = MD.numbered.exec(line), bullet = num ? null : MD.bullet.exec(line);
    if (!line.trim()) { close(); list = null; }
    else if (MD.row.test(line) && i + 1 < lines.length && MD.rule.test(lines[i + 1])) {
      close(); list = null;
      const header = mdCells(line), rows = [];
      for (i += 2; i < lines.length && MD.row.test(lines[i]); i++) {
        const row = mdCells(lines[i]);
        rows.push(header.map((_, k) => row[k] ?? ""));
      }
      i--;
      blocks.push({ kind: "table", header, rows });
    } else if (num || bullet) {
      close();
      if (!list || list.ordered !== !!num) {
        list = { kind: "list", ordered: !!num, start: num ? parseInt(num[1], 10) : 1, items: [] };
        blocks.push(list);
      }
      list.items.push((num ? num[2] : bullet[1]).trim());
    } else if (list && (m = MD.continuation.exec(line))) {
      list.items[list.items.length - 1] += ` ${m[1].trim()}`;
    } else if ((m = MD.heading.exec(line))) {
      close(); list = null;
      blocks.push({ kind: "p", lines: [m[1]], heading: true });
    } else { list = null; para.push(line.trim()); }
  }
  close();
  return blocks;
};

const mdLink = (href, children) => {
  if (!MD.safeUrl.test(href)) return children;
  const a = document.createElement("a");
  a.setAttribute("href", href);
  a.setAttribute("rel", "nofollow noopener noreferrer");
  a.setAttribute("target", "_blank");
  a.append(children);
  return a;
};

const mdInline = (text, links = true) => {
  const out = document.createDocumentFragment();
  const re = new RegExp(MD.inline.source, "g");
  let pos = 0, buf = "";
  const flush = () => { if (buf) { out.append(document.createTextNode(buf)); buf = ""; } };
  const wrap = (tag, children) => { const n = document.createElement(tag); n.append(children); return n; };
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) { buf += text.slice(pos); break; }
    const [all, esc, ltext, lurl, auto, strong, em, uem] = m;
    const start = m.index, end = start + all.length;
    const snake = uem !== undefined &&  // a snake_case word, not emphasis
      (MD.word.test(text[start - 1] || " ") || MD.word.test(text[end] || " "));
    if (snake || ((ltext !== undefined || auto !== undefined) && !links)) {
      buf += text.slice(pos, start + 1);
      pos = start + 1;
      continue;
    }
    buf += text.slice(pos, start);
    pos = end;
    if (esc !== undefined) { buf += esc; continue; }
    flush();
    if (ltext !== undefined) out.append(mdLink(lurl, mdInline(ltext, false)));
    else if (auto !== undefined) out.append(mdLink(auto, document.createTextNode(auto)));
    else if (strong !== undefined) out.append(wrap("strong", mdInline(strong, links)));
    else out.append(wrap("em", mdInline(em !== undefined ? em : uem, links)));
  }
  flush();
  return out;
};

const renderMarkdown = (text) => {
  const out = document.createDocumentFragment();
  for (const b of mdBlocks(String(text ?? ""))) {
    if (b.kind === "p") {
      const p = document.createElement("p");
      const target = b.heading ? p.appendChild(document.createElement("strong")) : p;
      b.lines.forEach((line, n) => {
        if (n) target.append(document.createElement("br"));
        target.append(mdInline(line));
      });
      out.append(p);
    } else if (b.kind === "list") {
      const list = document.createElement(b.ordered ? "ol" : "ul");
      if (b.ordered && b.start !== 1) list.setAttribute("start", String(b.start));
      for (const item of b.items) list.appendChild(el("li")).append(mdInline(item));
      out.append(list);
    } else {
      const table = document.createElement("table");
      const head = table.appendChild(document.createElement("thead")).appendChild(el("tr"));
      for (const c of b.header) head.appendChild(el("th")).append(mdInline(c));
      const body = table.appendChild(document.createElement("tbody"));
      for (const row of b.rows) {
        const tr = body.appendChild(el("tr"));
        // data-label: on narrow screens widget.css draws each row as "label: value" lines
        row.forEach((c, k) => {
          const td = tr.appendChild(el("td"));
          td.setAttribute("data-label", b.header[k]);
          td.append(mdInline(c));
        });
      }
      out.append(table);
    }
  }
  return out;
};
