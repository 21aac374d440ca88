// The support page's script: reads the admin API (/admin/api, relative to this page) with the
// token pasted into the page, and renders what it returns.
//
// Every value comes from IdPs and customers, so it is written with textContent or as text nodes
// only: this file never assigns innerHTML/outerHTML, never calls insertAdjacentHTML or
// document.write, and never builds markup from strings. The server's Content-Security-Policy
// backs this up (no inline script).
"use strict";

(() => {
  const TOKEN_KEY = "scim-server.admin-token";
  const API = "api";

  const $ = (id) => document.getElementById(id);
  let token = sessionStorage.getItem(TOKEN_KEY);
  let shownUser = null;
  let lastEventId = null;
  let view = 0; // bumped by each new organization or search: late answers of older ones are dropped

  // --- DOM helpers: elements from tags, text from strings ---------------------------------

  function el(tag, options = {}, ...children) {
    const node = document.createElement(tag);
    if (options.className) node.className = options.className;
    if (options.title) node.title = options.title;
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function clear(node) {
    node.replaceChildren();
    return node;
  }

  function cssToken(value) {
    return String(value ?? "").toLowerCase().replace(/[^a-z0-9-]/g, "-");
  }

  function time(value) {
    if (!value) return "-";
    const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(value);
    return match ? `${match[1]} ${match[2]}` : String(value);
  }

  function text(value) {
    if (value === null || value === undefined || value === "") return "-";
    if (typeof value === "boolean") return value ? "yes" : "no";
    if (Array.isArray(value)) return value.length ? value.map(text).join(", ") : "none";
    if (typeof value === "object") return JSON.stringify(value);
    return String(value);
  }

  function facts(pairs) {
    const list = el("dl", { className: "facts" });
    for (const [label, value] of pairs) {
      const shown = value instanceof Node ? value : text(value);
      list.append(el("dt", {}, label), el("dd", {}, shown));
    }
    return list;
  }

  function badge(value, prefix) {
    return el("span", { className: `badge ${prefix}-${cssToken(value)}` }, text(value));
  }

  function say(message, isError = false) {
    const node = $("message");
    node.textContent = message;
    node.className = isError ? "error" : "";
  }

  // --- The admin API -----------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(path) {
    const response = await fetch(`${API}/${path}`, {
      headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
      cache: "no-store",
      credentials: "omit",
    });
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    if (!response.ok) {
      const reason = body && typeof body.error === "string" ? body.error : response.statusText;
      throw new ApiError(response.status, `${reason} (HTTP ${response.status})`);
    }
    return body;
  }

  function orgPath(...parts) {
    return ["orgs", encodeURIComponent($("org").value), ...parts].join("/");
  }

  // --- Signing in and out ------------------------------------------------------------------

  async function signIn() {
    let me;
    try {
      me = await api("me");
    } catch (error) {
      if (error.status === 401) signOut();
      say(`The token was refused: ${error.message}`, true);
      return;
    }
    const scope = me.orgs === "*" ? "every organization" : text(me.orgs);
    const manage = me.manage === "*" ? "every organization" : text(me.manage);
    $("whoami").textContent = `Signed in as ${me.name} (${me.kind}); reads ${scope}; manages ${manage}.`;
    $("sign-in").hidden = true;
    $("workspace").hidden = false;
    await loadOrgs();
  }

  function signOut() {
    token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    $("whoami").textContent = "Not signed in.";
    $("sign-in").hidden = false;
    $("workspace").hidden = true;
    for (const id of ["org-panel", "explain-panel", "timeline-panel"]) $(id).hidden = true;
    say("");
  }

  async function loadOrgs() {
    const { orgs } = await api("orgs");
    const select = clear($("org"));
    for (const org of orgs) {
      const label = org.display_name ? `${org.key} (${org.display_name})` : org.key;
      const option = el("option", {}, label);
      option.value = org.key;
      select.append(option);
    }
    if (!orgs.length) {
      say("No organization is visible with this token.", true);
      return;
    }
    const wanted = new URLSearchParams(location.hash.slice(1));
    if (orgs.some((org) => org.key === wanted.get("org"))) select.value = wanted.get("org");
    await showOrg();
    if (wanted.get("user")) {
      $("user").value = wanted.get("user");
      await search();
    }
  }

  // --- The organization: settings and queue status -----------------------------------------

  async function showOrg() {
    for (const id of ["explain-panel", "timeline-panel"]) $(id).hidden = true;
    shownUser = null;
    const current = ++view;
    let org;
    try {
      org = await api(orgPath());
    } catch (error) {
      if (current === view) say(`Could not read the organization: ${error.message}`, true);
      return;
    }
    if (current !== view) return;
    const status = org.status || {};
    const details = clear($("org-details"));
    const states = Object.entries(status.links_by_state || {}).map(([state, count]) => `${state}: ${count}`);
    details.append(
      el(
        "div",
        { className: "columns" },
        facts([
          ["Key", org.key],
          ["Name", org.display_name],
          ["Auth0 organization", org.auth0_org],
          ["Connection", org.connection],
          ["Identity mode", org.identity_mode],
          ["Mapping profile", org.profile],
          ["SCIM base URL", org.scim_url],
        ]),
        facts([
          ["Queued tasks", status.depth],
          ["Due now", status.due],
          ["Oldest due since", time(status.oldest_due_at)],
          ["Tasks in error", status.in_error],
          ["Users by state", states.length ? states.join(", ") : "none"],
        ]),
      ),
    );
    const errors = status.errors || [];
    if (errors.length) {
      details.append(el("h3", {}, "Tasks in error"), table(errors));
    }
    $("org-panel").hidden = false;
    say("");
  }

  function table(rows) {
    const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
    const head = el("tr", {}, ...columns.map((column) => el("th", {}, column.replaceAll("_", " "))));
    const cell = (row, column) => (column.endsWith("_at") ? time(row[column]) : text(row[column]));
    const body = rows.map((row) => el("tr", {}, ...columns.map((column) => el("td", {}, cell(row, column)))));
    return el("table", {}, el("thead", {}, head), el("tbody", {}, ...body));
  }

  // --- One person: explanation and timeline ------------------------------------------------

  async function search() {
    const user = $("user").value.trim();
    if (!user) return;
    history.replaceState(null, "", `#${new URLSearchParams({ org: $("org").value, user })}`);
    say(`Searching ${user}...`);
    const query = new URLSearchParams({ user });
    const current = ++view;
    const [events, explained] = await Promise.allSettled([
      api(orgPath(`events?${query}`)),
      api(orgPath(`explain?${query}`)),
    ]);
    if (current !== view) return;
    for (const result of [events, explained]) {
      if (result.status === "rejected" && result.reason.status === 401) throw result.reason;
    }
    shownUser = user;
    const problems = [];
    if (events.status === "fulfilled") {
      showTimeline(events.value.events, true);
    } else {
      problems.push(`timeline: ${events.reason.message}`);
      $("timeline-panel").hidden = true;
    }
    if (explained.status === "fulfilled") {
      showExplanations(explained.value.matches);
    } else if (explained.reason.status === 404) {
      showExplanations([]);
    } else {
      problems.push(`explanation: ${explained.reason.message}`);
      $("explain-panel").hidden = true;
    }
    if (problems.length) say(`Could not read the ${problems.join("; ")}`, true);
    else say("");
  }

  function showTimeline(events, replace) {
    const body = $("timeline").tBodies[0];
    if (replace) {
      clear(body);
      lastEventId = null;
    }
    for (const event of events) {
      body.append(eventRow(event));
      lastEventId = event.id;
    }
    const count = body.rows.length;
    $("timeline-note").textContent = count
      ? `${count} event${count === 1 ? "" : "s"} about ${shownUser}, oldest first (the latest 200 when there are more).`
      : `No event mentions ${shownUser}.`;
    $("timeline").hidden = count === 0;
    $("timeline-panel").hidden = false;
  }

  function eventRow(event) {
    const what = el("td", { className: "summary" }, event.summary);
    const reasons = event.details && event.details.reasons;
    if (reasons && typeof reasons === "object" && !Array.isArray(reasons)) {
      for (const [role, citations] of Object.entries(reasons)) {
        what.append(el("div", { className: "reasons" }, `${role} \u2190 ${text(citations)}`));
      }
    }
    if (event.details && Object.keys(event.details).length) {
      what.append(
        el("details", {}, el("summary", {}, "details"), el("pre", { className: "mono" }, JSON.stringify(event.details, null, 2))),
      );
    }
    return el(
      "tr",
      {},
      el("td", { className: "time", title: event.at }, time(event.at)),
      el("td", {}, event.source),
      el("td", {}, text(event.actor)),
      el("td", { className: "mono" }, event.kind),
      el("td", {}, badge(event.outcome, "outcome")),
      what,
    );
  }

  async function loadNewer() {
    if (!shownUser) return;
    const query = new URLSearchParams({ user: shownUser });
    if (lastEventId !== null) query.set("after", String(lastEventId));
    const current = view;
    const { events } = await api(orgPath(`events?${query}`));
    if (current !== view) return;
    showTimeline(events, false);
    say(events.length ? `${events.length} newer event(s).` : "No newer event.");
  }

  function showExplanations(matches) {
    const box = clear($("explain"));
    if (!matches.length) {
      box.append(el("p", {}, `No SCIM user of this organization matches ${shownUser}.`));
    }
    for (const match of matches) box.append(explanation(match));
    $("explain-panel").hidden = false;
  }

  function explanation(match) {
    const who = match.identity || {};
    const scim = match.scim || {};
    const desired = match.desired || {};
    const applied = match.applied || {};
    const pending = match.pending || {};
    const title = who.email || who.user_name || who.scim_id;
    const card = el("article", { className: "card explanation" }, el("h3", {}, title, who.deleted ? " (deleted)" : null));

    card.append(
      el(
        "div",
        { className: "columns" },
        facts([
          ["SCIM id", who.scim_id],
          ["externalId", who.external_id],
          ["userName", who.user_name],
          ["Email", who.email],
          ["Auth0 user_id", who.auth0_user_id],
          ["Active in the IdP", scim.active],
          ["Groups", el("span", { className: "groups" }, text(scim.groups))],
        ]),
        facts([
          ["State", badge(match.state, "state")],
          ["Last synced", time(match.last_synced_at)],
          ["Last error", match.last_error],
        ]),
      ),
    );

    card.append(el("h4", {}, "Desired (what the rules say)"));
    card.append(facts([["Member", desired.member], ["Email", desired.email]]));
    const roles = desired.roles || [];
    if (roles.length) {
      const rows = roles.map((role) =>
        el(
          "tr",
          {},
          el("td", { className: "role" }, role.role),
          el(
            "td",
            {},
            el(
              "ul",
              { className: "plain" },
              ...(role.because || []).map((reason) =>
                el("li", { className: "because" }, el("code", {}, reason.citation), " \u2014 ", reason.rule),
              ),
            ),
          ),
        ),
      );
      card.append(
        el(
          "table",
          { className: "roles" },
          el("thead", {}, el("tr", {}, el("th", {}, "Role"), el("th", {}, "Because of"))),
          el("tbody", {}, ...rows),
        ),
      );
    } else {
      card.append(el("p", {}, "No role is desired."));
    }

    card.append(el("h4", {}, "Applied (what Auth0 holds, as far as we know)"));
    card.append(facts(Object.entries(applied).map(([key, value]) => [key.replaceAll("_", " "), value])));

    card.append(el("h4", {}, "Pending work"));
    if (pending.queued) {
      card.append(
        facts([
          ["Due", time(pending.due_at)],
          ["Attempts", pending.attempts],
          ["Last error", pending.last_error],
        ]),
      );
      const steps = pending.steps || [];
      card.append(steps.length ? el("ul", { className: "plain steps" }, ...steps.map((step) => el("li", {}, step))) : el("p", {}, "No step left to plan."));
    } else {
      card.append(el("p", {}, "Nothing queued: Auth0 is up to date with the desired state."));
    }

    const errors = match.recent_errors || [];
    if (errors.length) {
      card.append(
        el("h4", {}, "Recent errors"),
        el("ul", { className: "plain" }, ...errors.map((entry) => el("li", {}, `${time(entry.at)} ${entry.summary}`))),
      );
    }
    return card;
  }

  // --- Wiring ------------------------------------------------------------------------------

  function guarded(action) {
    return (event) => {
      if (event) event.preventDefault();
      action().catch((error) => {
        if (error.status === 401) signOut(); // expired or revoked meanwhile: ask for a token again
        say(error.message, true);
      });
    };
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("token-form").addEventListener(
      "submit",
      guarded(async () => {
        const pasted = $("token").value.trim();
        $("token").value = "";
        if (!pasted) return;
        token = pasted;
        sessionStorage.setItem(TOKEN_KEY, token);
        await signIn();
      }),
    );
    $("sign-out").addEventListener("click", signOut);
    $("org").addEventListener("change", guarded(showOrg));
    $("search-form").addEventListener("submit", guarded(search));
    $("newer").addEventListener("click", guarded(loadNewer));
    if (token) guarded(signIn)();
  });
})();
