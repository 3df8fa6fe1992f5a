// The console: services from discovery, fixture scenarios, send a request, show the cards and
// the raw exchange. Same-origin fetches only; card text never goes through innerHTML.
import { el, renderCard } from "./cards.js";

const $ = (id) => document.getElementById(id);
let services = [];
let scenarios = [];
let lastResponse = null; // the parsed response shown, linted per profile

const AUTH_HELP =
  "this service requires a signed JWT from a trusted issuer, and the console sends none. " +
  "Run with CDS_REQUIRE_AUTH=false (the quickstart does) to use the console.";

class HttpError extends Error {
  constructor(url, status) {
    super(status === 401 ? `401 Unauthorized from ${url}: ${AUTH_HELP}` : `${url} answered HTTP ${status}`);
    this.status = status;
  }
}

async function getJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new HttpError(url, response.status);
  return response.json();
}

function setStatus(kind, text) {
  const status = $("status");
  status.className = `status status--${kind}`;
  status.textContent = text;
}

function showServiceInfo() {
  const service = services.find((s) => s.id === $("service").value);
  $("service-info").textContent = service ? `${service.hook}: ${service.description}` : "";
}

async function loadServices() {
  const data = await getJson("/cds-services");
  services = Array.isArray(data.services) ? data.services : [];
  const select = $("service");
  select.replaceChildren();
  for (const service of services) {
    const option = el("option", "", `${service.title || service.id} (${service.id})`);
    option.value = service.id;
    select.append(option);
  }
  showServiceInfo();
}

async function loadScenarios() {
  scenarios = await getJson("/console/scenarios");
  const select = $("scenario");
  for (const scenario of scenarios) {
    const option = el("option", "", scenario.name);
    option.value = scenario.name;
    select.append(option);
  }
}

function showExpected(scenario) {
  const box = $("expected");
  box.replaceChildren();
  if (!scenario) return;
  box.append(el("span", "muted", "Expected cards: "));
  if (!scenario.cards.length) box.append(el("span", "", "none"));
  for (const expected of scenario.cards) {
    box.append(el("span", `chip chip--${expected.indicator}`, `${expected.rule} (${expected.indicator})`), " ");
  }
}

async function pickScenario() {
  const scenario = scenarios.find((s) => s.name === $("scenario").value);
  $("scenario-info").textContent = "";
  showExpected(scenario);
  if (!scenario) return;
  try {
    const body = await getJson(`/console/scenarios/${encodeURIComponent(scenario.name)}`);
    $("request").value = JSON.stringify(body, null, 2);
    const byHook = services.find((s) => s.hook === body.hook);
    const wanted = services.some((s) => s.id === scenario.service) ? scenario.service : byHook && byHook.id;
    if (wanted) $("service").value = wanted;
    showServiceInfo();
    const when = scenario.now
      ? ` Written for ${scenario.now}; the service answers at today's date, so cards that depend on the age of results may differ (the review page runs it at that date).`
      : "";
    $("scenario-info").textContent = (scenario.description || "") + when;
  } catch (error) {
    setStatus("error", `Could not load the scenario: ${error.message}`);
  }
}

function renderCards(cards) {
  const box = $("cards");
  box.replaceChildren();
  if (!cards) return;
  if (!cards.length) box.append(el("p", "muted", "The service returned no cards."));
  for (const card of cards) box.append(renderCard(card));
}

function describeError(status, parsed, text) {
  if (status === 401) return `401 Unauthorized: ${AUTH_HELP}`;
  const issues = parsed && Array.isArray(parsed.issue) ? parsed.issue.map((i) => i.diagnostics).filter(Boolean) : [];
  return `HTTP ${status}: ${issues.join("; ") || text.slice(0, 300) || "no details"}`;
}

async function send() {
  let body;
  try {
    body = JSON.parse($("request").value);
  } catch (error) {
    setStatus("error", `The request is not valid JSON: ${error.message}`);
    return;
  }
  const id = $("service").value;
  if (!id) {
    setStatus("error", "No service is selected.");
    return;
  }
  const url = `/cds-services/${encodeURIComponent(id)}`;
  $("raw-request").textContent = `POST ${url}\n\n${JSON.stringify(body, null, 2)}`;
  $("raw-response").textContent = "";
  lastResponse = null;
  showLint(null, "");
  renderCards(null);
  setStatus("pending", "Sending…");
  let response;
  let text;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    });
    text = await response.text();
  } catch (error) {
    setStatus("error", `The service could not be reached: ${error.message}`);
    return;
  }
  let parsed = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = null;
  }
  const shown = parsed === null ? text : JSON.stringify(parsed, null, 2);
  $("raw-response").textContent = `HTTP ${response.status} ${response.statusText}\n\n${shown}`;
  if (!response.ok) {
    $("cards").append(el("p", "muted", "No cards: the service did not accept the request (see the raw response)."));
    setStatus(response.status === 401 ? "unauthorized" : "error", describeError(response.status, parsed, text));
    return;
  }
  const cards = parsed && Array.isArray(parsed.cards) ? parsed.cards : [];
  lastResponse = parsed;
  renderCards(cards);
  lintShown();
  setStatus("ok", `HTTP ${response.status}: ${cards.length} card${cards.length === 1 ? "" : "s"}`);
}

function showLint(findings, text) {
  $("lint-status").textContent = text;
  const list = $("lint-findings");
  list.replaceChildren();
  for (const f of findings || []) {
    const item = el("li", "lint-finding");
    item.append(el("code", "", f.path), " ", el("span", "", f.problem), " ");
    item.append(el("span", "chip", `${f.constraint}: ${f.effect}`));
    item.append(el("blockquote", "", f.quote));
    const source = el("a", "", `${f.source}, ${f.section}`);
    source.href = f.url;
    source.rel = "noreferrer";
    item.append(source);
    list.append(item);
  }
}

async function lintShown() {
  if (!lastResponse || typeof lastResponse !== "object") return;
  const profile = $("lint-profile").value;
  try {
    const response = await fetch("/console/lint", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ profile, response: lastResponse }),
    });
    if (!response.ok) throw new HttpError("/console/lint", response.status);
    const data = await response.json();
    const n = data.findings.length;
    showLint(data.findings, n ? `${profile}: ${n} element${n === 1 ? "" : "s"} would be rejected or ignored` : `${profile}: nothing would be rejected or ignored`);
  } catch (error) {
    showLint(null, `Could not lint the response: ${error.message}`);
  }
}

async function start() {
  $("lint-profile").addEventListener("change", lintShown);
  $("service").addEventListener("change", showServiceInfo);
  $("scenario").addEventListener("change", pickScenario);
  $("send").addEventListener("click", send);
  const results = await Promise.allSettled([loadServices(), loadScenarios()]);
  const failed = results.filter((r) => r.status === "rejected").map((r) => r.reason);
  if (failed.length) {
    const kind = failed.some((e) => e.status === 401) ? "unauthorized" : "error";
    setStatus(kind, failed.map((e) => e.message).join(" "));
  }
  document.body.dataset.ready = failed.length ? "error" : "true";
}

start();
