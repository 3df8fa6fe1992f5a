// A tiny, safe Markdown subset for card detail: paragraphs, **bold**, bullet and numbered
// lists, <https://autolinks> and [text](https://links). Builds DOM nodes with textContent
// only; never innerHTML. Links are created only for http and https URLs.

const SAFE_SCHEMES = new Set(["http:", "https:"]);
const INLINE = /\*\*(.+?)\*\*|<(https?:\/\/[^\s<>]+)>|\[([^\]\n]+)\]\((https?:\/\/[^\s()]+)\)/g;
const BULLET = /^\s*[-*+]\s+/;
const ORDERED = /^\s*\d+[.)]\s+/;

/** The URL if it parses and uses http or https, else null. */
export function safeHref(url) {
  if (typeof url !== "string") return null;
  try {
    const parsed = new URL(url);
    return SAFE_SCHEMES.has(parsed.protocol) ? parsed.href : null;
  } catch {
    return null;
  }
}

/** An <a> for a safe URL, or a text node when the URL is not http(s). */
export function safeLink(url, label) {
  const href = safeHref(url);
  if (!href) return document.createTextNode(label);
  const a = document.createElement("a");
  a.setAttribute("href", href);
  a.setAttribute("rel", "noopener noreferrer");
  a.setAttribute("target", "_blank");
  a.textContent = label;
  return a;
}

function appendInline(parent, text) {
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    parent.append(document.createTextNode(text.slice(last, m.index)));
    if (m[1] !== undefined) {
      const strong = document.createElement("strong");
      appendInline(strong, m[1]);
      parent.append(strong);
    } else if (m[2] !== undefined) {
      parent.append(safeLink(m[2], m[2]));
    } else {
      parent.append(safeLink(m[4], m[3]));
    }
    last = m.index + m[0].length;
  }
  parent.append(document.createTextNode(text.slice(last)));
}

function kindOf(line) {
  if (BULLET.test(line)) return "ul";
  if (ORDERED.test(line)) return "ol";
  return "p";
}

/** Render ``source`` into a DocumentFragment of p, ul, ol, li, strong and a elements. */
export function renderMarkdown(source) {
  const fragment = document.createDocumentFragment();
  const blocks = String(source ?? "").replace(/\r\n?/g, "\n").split(/\n[ \t]*\n/);
  for (const block of blocks) {
    let current = null;
    let currentKind = null;
    for (const line of block.split("\n")) {
      if (!line.trim()) continue;
      const kind = kindOf(line);
      if (kind === "p" && currentKind !== "p" && current && /^\s/.test(line)) {
        // an indented line continues the previous list item
        appendInline(current.lastChild, " " + line.trim());
        continue;
      }
      if (kind !== currentKind) {
        current = document.createElement(kind);
        currentKind = kind;
        fragment.append(current);
      }
      if (kind === "p") {
        if (current.childNodes.length) current.append(document.createTextNode(" "));
        appendInline(current, line.trim());
      } else {
        const li = document.createElement("li");
        appendInline(li, line.replace(kind === "ul" ? BULLET : ORDERED, ""));
        current.append(li);
      }
    }
  }
  return fragment;
}
