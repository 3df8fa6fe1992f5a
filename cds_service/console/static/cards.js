// CDS Hooks cards as DOM nodes, the way an EHR shows them. Every piece of card text goes in
// through textContent (or the safe Markdown subset); nothing is parsed as HTML.
import { renderMarkdown, safeLink } from "./markdown.js";

const INDICATORS = { info: "Info", warning: "Warning", critical: "Critical" };

/** A new element with an optional class and text. */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function resourceLabel(resource) {
  if (!resource || typeof resource !== "object") return "";
  const concept = resource.medicationCodeableConcept || resource.code || {};
  const text = concept.text || (concept.coding && concept.coding[0] && concept.coding[0].display);
  return [resource.resourceType, text].filter(Boolean).join(": ");
}

function renderAction(action) {
  const li = el("li", "action-item");
  const type = ["create", "update", "delete"].includes(action.type) ? action.type : "other";
  li.append(el("span", `action action--${type}`, action.type), " ", action.description || "");
  const target = action.type === "delete" ? action.resourceId : resourceLabel(action.resource);
  if (target) li.append(" ", el("code", "action__target", target));
  return li;
}

const KINDS = { MedicationRequest: "a medication order", ServiceRequest: "a lab or procedure order" };

/** In words, what accepting the suggestion does: "Creates a medication order: gabapentin; then removes the draft order MedicationRequest/draft-1". */
export function suggestionInWords(suggestion) {
  const steps = (suggestion.actions || []).map((action) => {
    if (action.type === "delete") return `removes the draft order ${action.resourceId || "(unnamed)"}`;
    const resource = action.resource || {};
    const kind = KINDS[resource.resourceType] || resource.resourceType || "a resource";
    const concept = resource.medicationCodeableConcept || resource.code || {};
    const what = concept.text || (Array.isArray(concept.coding) && concept.coding[0] && concept.coding[0].display) || "";
    const verb = action.type === "update" ? "updates" : "creates";
    return `${verb} ${kind}${what ? `: ${what}` : ""}`;
  });
  if (!steps.length) return "";
  const text = steps.join("; then ");
  return text[0].toUpperCase() + text.slice(1) + ".";
}

function renderSuggestion(suggestion) {
  const box = el("div", "suggestion" + (suggestion.isRecommended ? " suggestion--recommended" : ""));
  const button = el("button", "suggestion__button", suggestion.label);
  button.type = "button";
  if (suggestion.isRecommended) button.append(" ", el("span", "star", "★ recommended"));
  const actions = el("ul", "actions");
  for (const action of suggestion.actions || []) actions.append(renderAction(action));
  const resources = (suggestion.actions || []).filter((a) => a.resource);
  const raw = el("pre", "json suggestion__resources", JSON.stringify(resources.map((a) => a.resource), null, 2));
  raw.hidden = true;
  button.title = "Show the resources this suggestion would create";
  button.addEventListener("click", () => {
    raw.hidden = !raw.hidden;
    button.setAttribute("aria-expanded", String(!raw.hidden));
  });
  box.append(button, el("p", "suggestion__words", suggestionInWords(suggestion)), actions);
  if (resources.length) box.append(raw);
  return box;
}

function renderSource(source) {
  const p = el("p", "card__source", "Source: ");
  p.append(safeLink(source.url, source.label || source.url || ""));
  if (source.topic && source.topic.code) {
    p.append(" ", el("span", "muted", "· topic "), el("code", "", source.topic.code));
  }
  return p;
}

/** One card: indicator badge, summary, Markdown detail, source, suggestions, overrides. */
export function renderCard(card) {
  const indicator = Object.hasOwn(INDICATORS, card.indicator) ? card.indicator : "unknown";
  const article = el("article", `card card--${indicator}`);
  article.dataset.indicator = indicator;
  const head = el("header", "card__head");
  head.append(el("span", `badge badge--${indicator}`, INDICATORS[indicator] || String(card.indicator)));
  head.append(el("h3", "card__summary", card.summary || ""));
  article.append(head);
  if (card.detail) {
    const detail = el("div", "card__detail md");
    detail.append(renderMarkdown(card.detail));
    article.append(detail);
  }
  if (card.source) article.append(renderSource(card.source));
  if (Array.isArray(card.suggestions) && card.suggestions.length) {
    const box = el("div", "card__suggestions");
    for (const s of card.suggestions) box.append(renderSuggestion(s));
    article.append(box);
  }
  if (Array.isArray(card.links) && card.links.length) {
    const links = el("p", "card__links");
    for (const link of card.links) links.append(safeLink(link.url, link.label || link.url), " ");
    article.append(links);
  }
  if (Array.isArray(card.overrideReasons) && card.overrideReasons.length) {
    const p = el("p", "card__overrides");
    p.append(el("span", "muted", "Override reasons:"));
    for (const reason of card.overrideReasons) p.append(" ", el("span", "chip", reason.display || reason.code));
    article.append(p);
  }
  return article;
}
