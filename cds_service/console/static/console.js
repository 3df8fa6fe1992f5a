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
  $("service-info").textContent = service ? `${service.title || service.id} (${service.hook}): ${service.description}` : "";
}

async function loadServices() {
  const data = await getJson("/cds-services");
  services = Array.isArray(data.services) ? data.services : [];
  const select = $("service");
  select.replaceChildren();
  for (const service of services) {
    const option = el("option", "", `${service.title || service.id} (${service.id})`);
    option.value = service.id;
    option.title = option.textContent; // the full title, also where the list is narrow
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
  $("as-of").value = "";
  clearAnswer();
  showExpected(scenario);
  if (!scenario) return;
  try {
    const body = await getJson(`/console/scenarios/${encodeURIComponent(scenario.name)}`);
    $("request").value = JSON.stringify(body, null, 2);
    const byHook = services.find((s) => s.hook === body.hook);
    const wanted = services.some((s) => s.id === scenario.service) ? scenario.service : byHook && byHook.id;
    if (wanted) $("service").value = wanted;
    showServiceInfo();
    $("as-of").value = scenario.now || "";
    $("scenario-info").textContent = scenario.description || "";
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

/** " (line 3, column 7)" from the browser's JSON error, without the parser's own wording. */
function jsonErrorPlace(text, error) {
  const match = /position (\d+)/.exec(error.message || "");
  if (!match) return "";
  const before = text.slice(0, Number(match[1]));
  const lines = before.split("\n");
  return ` (line ${lines.length}, column ${lines[lines.length - 1].length + 1})`;
}

/** Forget the previous answer: a failed send must not leave old cards on screen. */
function clearAnswer() {
  $("raw-request").textContent = "";
  $("raw-response").textContent = "";
  $("comparison").replaceChildren();
  lastResponse = null;
  showLint(null, "");
  renderCards(null);
}

/** Expected (the scenario's expected.json) and actual cards side by side; a difference is flagged. */
function compareWithExpected(cards) {
  const box = $("comparison");
  box.replaceChildren();
  const scenario = scenarios.find((s) => s.name === $("scenario").value);
  if (!scenario || !cards) return;
  const key = (rule, indicator) => `${rule} (${indicator})`;
  const expected = scenario.cards.map((c) => key(c.rule, c.indicator));
  const actual = cards.map((c) => key((c.source && c.source.topic && c.source.topic.code) || "?", c.indicator));
  const same = expected.length === actual.length && [...expected].sort().join("|") === [...actual].sort().join("|");
  const table = el("table", "comparison__table");
  const head = el("tr");
  head.append(el("th", "", "Expected"), el("th", "", "Actual"));
  table.append(head);
  for (let i = 0; i < Math.max(expected.length, actual.length); i += 1) {
    const row = el("tr");
    const want = expected[i] || "";
    const got = actual[i] || "";
    row.append(el("td", actual.includes(want) ? "" : "missing", want), el("td", expected.includes(got) ? "" : "unexpected", got));
    table.append(row);
  }
  const verdict = same
    ? el("p", "comparison__verdict comparison__verdict--same", "The cards match the scenario's expected cards.")
    : el("p", "comparison__verdict comparison__verdict--differ", "Difference: the cards do not match the scenario's expected cards.");
  box.dataset.match = same ? "true" : "false";
  box.append(verdict, table);
}

async function send() {
  clearAnswer();
  let body;
  try {
    body = JSON.parse($("request").value);
  } catch (error) {
    setStatus("error", `The request is not valid JSON${jsonErrorPlace($("request").value, error)}: check the brackets, quotes and commas there.`);
    return;
  }
  const id = $("service").value;
  if (!id) {
    setStatus("error", "No service is selected.");
    return;
  }
  const url = `/cds-services/${encodeURIComponent(id)}`;
  const asOf = $("as-of").value.trim();
  const note = asOf ? ` (evaluated as of ${asOf} through /console/send)` : "";
  $("raw-request").textContent = `POST ${url}${note}\n\n${JSON.stringify(body, null, 2)}`;
  setStatus("pending", "Sending…");
  let response;
  let text;
  try {
    // With an "as of" date the console asks for the same code path with the service clock set.
    response = await fetch(asOf ? "/console/send" : url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(asOf ? { service: id, now: asOf, request: body } : body),
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
  compareWithExpected(cards);
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
