// The console's web UI: plain JavaScript over the /api/v1 API (docs/console-api.yaml).
//
// Safety rules of this file:
// - every string from the API is put on the page with textContent/createTextNode only (no
//   innerHTML anywhere; the Content-Security-Policy's Trusted Types would refuse it anyway), and
//   agent-controlled text first goes through the operator library's escaping rules
//   (escape.js = runtime/operator/escape.ts): control characters become visible escapes and
//   bidirectional controls loud [BIDI …] markers;
// - the token lives in sessionStorage and travels only in the Authorization header (no cookie,
//   so no request from another site carries it);
// - an approval sends the sha256 this page computed itself over the very bytes it rendered.
"use strict";
(() => {
  const Esc = self.AgentFleetEscape;
  const TOKEN_KEY = "agent-fleet-console-token";
  const REFRESH_MS = 5000;
  const MAX_LOG_LINES = 2000;
  const PROPOSAL_ID = /^p-\d{6}-\d{6}-[2-9a-hjkmnp-z]{6}$/;
  const $ = (id) => document.getElementById(id);

  let token = sessionStorage.getItem(TOKEN_KEY);
  let refreshTimer = null;
  let logAbort = null;
  let proposalOrder = [];
  let selected = -1;
  /** The proposal on screen: its id and the sha256 of the bytes rendered. */
  let shown = null;

  // ------------------------------------------------------------------ text and elements

  /** One line of agent-controlled text, escaped (newlines and tabs shown as \n, \t). */
  const line = (v) => Esc.escapeText(v === null || v === undefined ? "" : String(v), { multiline: false }).text;

  function el(tag, props, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (k === "class") e.className = v;
      else if (k === "href") e.setAttribute("href", v);
      else if (k === "title") e.title = v;
      else if (k === "data") for (const [dk, dv] of Object.entries(v)) e.dataset[dk] = dv;
      else throw new Error(`el: unexpected property ${k}`);
    }
    for (const c of children)
      if (c !== null && c !== undefined) e.append(typeof c === "string" ? document.createTextNode(c) : c);
    return e;
  }

  /** Reviewer agents' verdicts and reasons (agent-written text: escaped, then set as text). */
  function reviewsOf(r) {
    const head = `${line(r.state)}, quorum ${r.quorum} of ${r.reviewers.length}${r.escalation ? `: ${line(r.escalation)}` : ""}`;
    const items = r.reviewers.map((name) => {
      const v = r.verdicts.find((x) => x.reviewer === name);
      const who = `agent:${line(name)}`;
      if (!v) return el("li", null, `${who}: no verdict yet`);
      if (v.verdict === "none") return el("li", null, marked(`${who}: no verdict (${line(v.error)})`));
      return el(
        "li",
        null,
        `${who}: ${v.verdict}${v.counts ? "" : " (of another patch: does not count)"}`,
        v.reasons.length > 0 ? el("ul", null, ...v.reasons.map((x) => el("li", null, marked(line(x))))) : null,
      );
    });
    return el("div", { class: "reviews" }, head, el("ul", null, ...items));
  }

  function table(target, headers, rows) {
    target.replaceChildren(
      el("thead", null, el("tr", null, ...headers.map((h) => el("th", null, h)))),
      el("tbody", null, ...rows),
    );
  }

  /** Escaped text where each escape marker is highlighted (the text nodes stay plain text). */
  const MARKER = /\\x[0-9a-f]{2}|\\u[0-9a-f]{4}|\\[rnt]|\[BIDI U\+[0-9A-F]{4} [A-Z]{3}\]/g;
  function marked(text) {
    const frag = document.createDocumentFragment();
    let at = 0;
    for (const m of text.matchAll(MARKER)) {
      if (m.index > at) frag.append(document.createTextNode(text.slice(at, m.index)));
      frag.append(el("span", { class: "esc" }, m[0]));
      at = m.index + m[0].length;
    }
    if (at < text.length) frag.append(document.createTextNode(text.slice(at)));
    return frag;
  }

  function say(text, isError) {
    const m = $("message");
    m.textContent = text;
    m.className = isError ? "error" : "";
  }

  function age(iso) {
    if (!iso) return "-";
    const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
    if (s < 90) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
    if (s < 5400) return `${Math.round(s / 60)}m`;
    if (s < 172800) return `${Math.round(s / 3600)}h`;
    return `${Math.round(s / 86400)}d`;
  }

  // ------------------------------------------------------------------ API

  class ApiError extends Error {
    constructor(status, detail) {
      super(detail);
      this.status = status;
    }
  }

  async function api(method, path, body) {
    const headers = { Authorization: `Bearer ${token}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
    if (res.status === 401) {
      signOut("The token was refused: sign in again.");
      throw new ApiError(401, "unauthorized");
    }
    const data = await res.json().catch(() => null);
    if (!res.ok) throw new ApiError(res.status, data && data.detail ? `${data.detail}` : `HTTP ${res.status}`);
    return data;
  }

  function failed(err) {
    if (err instanceof ApiError && err.status === 401) return;
    say(line(err.message), true);
  }

  // ------------------------------------------------------------------ sign in / routing

  function signOut(why) {
    token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    show("login");
    if (why) say(why, true);
  }

  function show(view) {
    for (const s of document.querySelectorAll("main > section")) s.hidden = s.id !== `view-${view}`;
    $("nav").hidden = view === "login";
    for (const a of document.querySelectorAll("nav a"))
      a.classList.toggle("current", a.dataset.view === view || (view === "proposal" && a.dataset.view === "proposals"));
  }

  function route() {
    clearInterval(refreshTimer);
    refreshTimer = null;
    if (logAbort) {
      logAbort.abort();
      logAbort = null;
    }
    shown = null;
    say("");
    if (!token) {
      show("login");
      $("login-token").focus();
      return;
    }
    const hash = location.hash.slice(1);
    if (hash.startsWith("proposal/") && PROPOSAL_ID.test(hash.slice(9))) {
      show("proposal");
      loadProposal(hash.slice(9)).catch(failed);
      return;
    }
    const view = ["fleet", "queue", "proposals", "logs", "projects"].includes(hash) ? hash : "fleet";
    show(view);
    const load = { fleet: loadFleet, queue: loadQueue, proposals: loadProposals, projects: loadProjects }[view];
    if (view === "logs") followLogs();
    if (load) {
      load().catch(failed);
      refreshTimer = setInterval(() => load().catch(failed), REFRESH_MS);
    }
  }

  // ------------------------------------------------------------------ fleet

  async function loadFleet() {
    const agents = await api("GET", "/agents");
    table(
      $("agents"),
      ["Agent", "State", "Heartbeat", "Mode", "Current task", "Paused", "Done", "Failed", "Last error"],
      agents.map((a) =>
        el(
          "tr",
          null,
          el("td", null, line(a.agent)),
          el(
            "td",
            null,
            (a.alive
              ? line(a.state) + (a.idle_since ? " (idle)" : "")
              : a.idle_stopped
                ? "idle-stopped"
                : a.state === "stopped"
                  ? "stopped"
                  : "not responding") + (a.over_budget ? ` (over-budget until ${line(a.over_budget.until)})` : ""),
          ),
          el("td", null, `${a.heartbeat_age_seconds}s ago`),
          el("td", null, a.mode),
          el("td", null, line(a.current_task || "-")),
          el(
            "td",
            null,
            a.paused ? "paused " : "no ",
            el(
              "button",
              { class: "agent-control", data: { agent: a.agent, action: a.paused ? "resume" : "pause" } },
              a.paused ? "Resume" : "Pause",
            ),
          ),
          el("td", null, String(a.tasks_done)),
          el("td", null, String(a.tasks_failed)),
          el("td", null, marked(line(a.last_error || "-"))),
        ),
      ),
    );
    if (agents.length === 0) $("agents").replaceChildren(el("caption", null, "No agent has reported yet."));
  }

  /** A Pause/Resume button in the fleet table: the runtime stops or starts claiming at its next poll. */
  async function agentControl(ev) {
    const b = ev.target.closest("button.agent-control");
    if (!b) return;
    const { agent, action } = b.dataset;
    b.disabled = true;
    try {
      await api("POST", `/agents/${encodeURIComponent(agent)}/${action}`, {});
      say(
        action === "pause"
          ? `Paused ${line(agent)}: it finishes its current task and claims no new one.`
          : `Resumed ${line(agent)}.`,
      );
      await loadFleet();
    } catch (err) {
      failed(err);
      b.disabled = false;
    }
  }

  // ------------------------------------------------------------------ queue

  const STATES = ["pending", "claimed", "done", "failed"];

  async function loadQueue() {
    const tasks = await api("GET", "/tasks");
    const box = $("tasks");
    const parts = [];
    for (const state of STATES) {
      const list = tasks.filter((t) => t.status === state);
      parts.push(el("h3", null, `${state} (${list.length})`));
      if (list.length === 0) continue;
      const t = el("table", { class: `tasks-${state}` });
      table(
        t,
        ["ID", "Title", "For", "Priority", "Tries", "Agent", "Result"],
        list.map((x) =>
          el(
            "tr",
            { data: { task: x.id } },
            el("td", null, x.id),
            el("td", null, marked(line(x.title))),
            el(
              "td",
              null,
              x.agent ? `agent ${line(x.agent)}` : x.capability ? `capability ${line(x.capability)}` : "any",
            ),
            el("td", null, String(x.priority)),
            el("td", null, String(x.attempts)),
            el("td", null, line(x.claimed_by || "-")),
            el("td", null, resultCell(x)),
          ),
        ),
      );
      parts.push(t);
    }
    box.replaceChildren(...parts);
  }

  function resultCell(t) {
    if (!t.result) return t.last_error ? marked(line(`last error: ${t.last_error}`)) : "-";
    const r = t.result;
    const frag = document.createDocumentFragment();
    frag.append(r.outcome);
    if (r.proposal_id && PROPOSAL_ID.test(r.proposal_id))
      frag.append(" ", el("a", { href: `#proposal/${r.proposal_id}` }, r.proposal_id));
    if (r.commit) frag.append(` ${line(r.commit).slice(0, 12)}`);
    if (r.error) frag.append(": ", marked(line(r.error)));
    return frag;
  }

  async function addTask(ev) {
    ev.preventDefault();
    const kind = $("task-target-kind").value;
    const target = $("task-target").value.trim();
    const body = {
      title: $("task-title").value,
      instructions: $("task-instructions").value,
      priority: Number($("task-priority").value),
    };
    if (kind !== "any") {
      if (!target) {
        say(`Name the ${kind} the task is for.`, true);
        return;
      }
      body[kind] = target;
    }
    try {
      const { id } = await api("POST", "/tasks", body);
      say(`Queued ${id}.`);
      $("task-form").reset();
      await loadQueue();
    } catch (err) {
      failed(err);
    }
  }

  // ------------------------------------------------------------------ proposals

  async function loadProposals() {
    const list = await api("GET", "/proposals");
    // Waiting for a decision first, then the newest.
    list.sort(
      (a, b) => (b.effective_state === "pending") - (a.effective_state === "pending") || (a.id < b.id ? 1 : -1),
    );
    proposalOrder = list.map((p) => p.id);
    if (selected >= proposalOrder.length) selected = proposalOrder.length - 1;
    table(
      $("proposals"),
      ["ID", "State", "Agent", "Task", "Change", "Age"],
      list.map((p, i) =>
        el(
          "tr",
          { class: i === selected ? "selected" : "", data: { proposal: p.id } },
          el("td", null, el("a", { href: `#proposal/${p.id}` }, p.id)),
          el(
            "td",
            null,
            p.effective_state === p.state
              ? `${p.state}${p.state === "pending" && p.reviews ? ` (${p.reviews.state} by reviewer agents)` : ""}`
              : `${p.effective_state} (not yet applied)`,
          ),
          el("td", null, line(p.agent)),
          el("td", null, marked(line(p.task_title))),
          el("td", null, `${p.diffstat.files.length} file(s) +${p.diffstat.added} -${p.diffstat.removed}`),
          el("td", null, age(p.created_at)),
        ),
      ),
    );
    if (list.length === 0) $("proposals").replaceChildren(el("caption", null, "No proposals yet."));
  }

  function base64Bytes(b64) {
    const bin = atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  async function sha256Hex(bytes) {
    const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function diffClass(text) {
    if (text.startsWith("diff --git ")) return "file";
    if (text.startsWith("@@")) return "hunk";
    if (text.startsWith("+") && !text.startsWith("+++ ")) return "add";
    if (text.startsWith("-") && !text.startsWith("--- ")) return "del";
    return "";
  }

  async function loadProposal(id) {
    selected = proposalOrder.indexOf(id);
    const p = await api("GET", `/proposals/${id}`);
    const bytes = base64Bytes(p.patch_base64);
    const hash = await sha256Hex(bytes);
    const rendered = Esc.escapeBytes(bytes, { multiline: true });
    const title = Esc.escapeText(p.task_title, { multiline: false });
    $("proposal-heading").replaceChildren(`Proposal ${p.id}: `, marked(title.text));
    const meta = [
      ["State", p.effective_state === p.state ? p.state : `${p.effective_state} (decided, not yet applied)`],
      ["Agent", line(p.agent)],
      ["Task", line(p.task_id)],
      ["Base", line(p.base_commit)],
      ["Created", line(p.created_at)],
      ["sha256 (of the diff below)", el("code", { class: "sha" }, hash)],
    ];
    if (p.approvals_required)
      meta.push([
        "Approvals",
        `${p.approvals.length} of ${p.approvals_required} distinct approvers: ${p.approvals.map((v) => line(v.by)).join(", ") || "none yet"}`,
      ]);
    if (p.reviews) meta.push(["Reviewer agents", reviewsOf(p.reviews)]);
    if (p.decision)
      meta.push(["Decision", `${line(p.decision.decision)} by ${line(p.decision.by)} at ${line(p.decision.at)}`]);
    if (p.commit) meta.push(["Commit", el("code", { class: "commit" }, line(p.commit))]);
    if (p.reason) meta.push(["Reason", marked(line(p.reason))]);
    $("proposal-meta").replaceChildren(...meta.flatMap(([k, v]) => [el("dt", null, k), el("dd", null, v)]));

    const warnings = [];
    if (hash !== p.sha256)
      warnings.push(
        `The patch received does not hash to the server's sha256 (${line(p.sha256)}): reload before deciding.`,
      );
    if (rendered.bidi + title.bidi > 0)
      warnings.push(
        `This proposal contains ${rendered.bidi + title.bidi} bidirectional control character(s), shown as [BIDI …] markers: text may be meant to read differently from what is applied.`,
      );
    if (rendered.escaped + title.escaped > 0)
      warnings.push(
        `${rendered.escaped + title.escaped} control or invisible character(s) are shown as escapes (highlighted).`,
      );
    $("proposal-warnings").replaceChildren(...warnings.map((w) => el("p", { class: "warning" }, w)));

    table(
      $("proposal-diffstat"),
      ["File", "+", "-"],
      p.diffstat.files.map((f) =>
        el(
          "tr",
          null,
          el("td", null, marked(line(f.path))),
          el("td", null, String(f.added)),
          el("td", null, String(f.removed)),
        ),
      ),
    );

    const lines = rendered.text.split("\n");
    if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
    $("diff").replaceChildren(...lines.map((t) => el("div", { class: diffClass(t) }, marked(t))));

    const pending = p.effective_state === "pending";
    $("approve").disabled = !pending || hash !== p.sha256;
    $("reject").disabled = !pending;
    $("proposal-decide").hidden = !pending;
    shown = { id: p.id, sha256: hash, pending };
  }

  async function approve() {
    if (!shown || !shown.pending || $("approve").disabled) return;
    const note = $("approve-note").value.trim();
    try {
      const d = await api("POST", `/proposals/${shown.id}/approve`, {
        sha256: shown.sha256,
        ...(note ? { note } : {}),
      });
      say(
        d.approvals && d.approvals.have < d.approvals.need
          ? `Approved ${d.proposal}: ${d.approvals.have} of ${d.approvals.need} distinct approvals; it applies once the rest approve.`
          : `Approved ${d.proposal} (sha256 ${d.sha256}); its agent applies it at its next poll.`,
      );
      await loadProposal(shown.id);
      watchUntilDecided(shown.id);
    } catch (err) {
      failed(err);
    }
  }

  async function reject() {
    if (!shown || !shown.pending) return;
    const reason = $("reject-reason").value.trim();
    if (!reason) {
      say("Write the reason first.", true);
      $("reject-reason").focus();
      return;
    }
    try {
      const d = await api("POST", `/proposals/${shown.id}/reject`, { reason, sha256: shown.sha256 });
      say(`Rejected ${d.proposal}.`);
      await loadProposal(shown.id);
      watchUntilDecided(shown.id);
    } catch (err) {
      failed(err);
    }
  }

  /** After a decision: reload the proposal until its runtime has acted on it. */
  function watchUntilDecided(id) {
    clearInterval(refreshTimer);
    refreshTimer = setInterval(async () => {
      if (!shown || shown.id !== id) {
        clearInterval(refreshTimer);
        return;
      }
      try {
        const p = await api("GET", `/proposals/${id}`);
        if (p.state !== "pending") {
          clearInterval(refreshTimer);
          await loadProposal(id);
        }
      } catch (err) {
        failed(err);
      }
    }, 1000);
  }

  function move(step) {
    if (proposalOrder.length === 0) return;
    selected = Math.max(0, Math.min(proposalOrder.length - 1, selected + step));
    if (!$("view-proposal").hidden) location.hash = `#proposal/${proposalOrder[selected]}`;
    else
      for (const tr of $("proposals").querySelectorAll("tbody tr"))
        tr.classList.toggle("selected", tr.dataset.proposal === proposalOrder[selected]);
  }

  function onKey(ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const typing =
      ev.target instanceof HTMLInputElement ||
      ev.target instanceof HTMLTextAreaElement ||
      ev.target instanceof HTMLSelectElement;
    const inProposal = !$("view-proposal").hidden;
    const inList = !$("view-proposals").hidden;
    if (typing) {
      if (ev.key === "Enter" && ev.target === $("reject-reason")) {
        ev.preventDefault();
        reject();
      }
      if (ev.key === "Escape") ev.target.blur();
      return;
    }
    if (!inProposal && !inList) return;
    if (ev.key === "j") move(1);
    else if (ev.key === "k") move(-1);
    else if (ev.key === "Enter" && inList && selected >= 0) location.hash = `#proposal/${proposalOrder[selected]}`;
    else if (ev.key === "a" && inProposal) approve();
    else if (ev.key === "r" && inProposal && shown && shown.pending) {
      ev.preventDefault();
      $("reject-reason").focus();
    } else if (ev.key === "Escape" && inProposal) location.hash = "#proposals";
    else return;
    ev.preventDefault();
  }

  // ------------------------------------------------------------------ logs (server-sent events over fetch: EventSource cannot send a header)

  function logLine(entry) {
    if (entry.raw !== undefined) return el("div", null, marked(line(entry.raw)));
    const { time, agent, level, event, ...rest } = entry;
    const fields = Object.entries(rest)
      .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
      .join(" ");
    return el(
      "div",
      { class: level === "warn" || level === "error" ? level : "" },
      marked(line(`${time} ${agent} ${level} ${event} ${fields}`)),
    );
  }

  async function followLogs() {
    const box = $("log");
    box.replaceChildren();
    const agent = $("logs-agent").value.trim();
    const ctrl = new AbortController();
    logAbort = ctrl;
    const query = `follow=1&lines=200${agent ? `&agent=${encodeURIComponent(agent)}` : ""}`;
    try {
      const res = await fetch(`/api/v1/logs?${query}`, {
        headers: { Authorization: `Bearer ${token}` },
        signal: ctrl.signal,
        cache: "no-store",
      });
      if (res.status === 401) {
        signOut("The token was refused: sign in again.");
        return;
      }
      if (!res.ok) {
        const p = await res.json().catch(() => null);
        say(line(p && p.detail ? p.detail : `HTTP ${res.status}`), true);
        return;
      }
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let end;
        while ((end = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          let event = "message";
          let data = "";
          for (const l of block.split("\n")) {
            if (l.startsWith("event: ")) event = l.slice(7);
            else if (l.startsWith("data: ")) data += l.slice(6);
          }
          if (event !== "log" || !data) continue;
          box.append(logLine(JSON.parse(data)));
          while (box.childElementCount > MAX_LOG_LINES) box.firstElementChild.remove();
        }
      }
    } catch (err) {
      if (err.name !== "AbortError") failed(err);
    }
  }

  // ------------------------------------------------------------------ projects

  // A project is known from the tasks that name it and from the agents that push it to a remote
  // (their status). Per project: its tasks by state, the newest ones, and each agent's push state.
  async function loadProjects() {
    const [tasks, agents] = await Promise.all([api("GET", "/tasks"), api("GET", "/agents")]);
    const names = new Set(tasks.map((t) => t.project).filter((p) => typeof p === "string"));
    for (const a of agents) for (const n of Object.keys(a.projects || {})) names.add(n);
    if (names.size === 0) {
      $("projects").replaceChildren(
        el("p", { class: "hint" }, "No projects yet: no task names one, and no agent reports pushing one."),
      );
      return;
    }
    const parts = [];
    for (const name of [...names].sort()) {
      const mine = tasks.filter((t) => t.project === name);
      const counts = STATES.map((st) => `${st} ${mine.filter((t) => t.status === st).length}`).join(", ");
      parts.push(el("h3", { data: { project: name } }, line(name)), el("p", null, counts));
      const pushes = agents.filter((a) => a.projects && a.projects[name]);
      if (pushes.length > 0) {
        const t = el("table", { class: "project-pushes" });
        table(
          t,
          ["Agent", "Remote", "Pushed", "Push error"],
          pushes.map((a) => {
            const p = a.projects[name];
            return el(
              "tr",
              null,
              el("td", null, line(a.agent)),
              el("td", null, line(p.remote || "-")),
              el("td", null, p.pushed ? `${line(p.pushed).slice(0, 12)} ${p.pushed_at || ""}` : "-"),
              el("td", null, p.push_error ? marked(line(`${p.push_error} (${p.push_failures}x)`)) : "-"),
            );
          }),
        );
        parts.push(t);
      }
      const newest = [...mine].sort((a, b) => (a.created_at < b.created_at ? 1 : -1)).slice(0, 10);
      if (newest.length > 0) {
        const t = el("table", { class: "project-tasks" });
        table(
          t,
          ["ID", "Title", "State", "Agent", "Result"],
          newest.map((x) =>
            el(
              "tr",
              { data: { task: x.id } },
              el("td", null, x.id),
              el("td", null, marked(line(x.title))),
              el("td", null, x.status),
              el("td", null, line(x.claimed_by || "-")),
              el("td", null, resultCell(x)),
            ),
          ),
        );
        parts.push(t);
      }
    }
    $("projects").replaceChildren(...parts);
  }

  // ------------------------------------------------------------------ start

  $("login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    token = $("login-token").value.trim();
    $("login-token").value = "";
    try {
      await api("GET", "/agents");
      sessionStorage.setItem(TOKEN_KEY, token);
      if (!location.hash || location.hash === "#login") location.hash = "#fleet";
      route();
    } catch (err) {
      failed(err);
    }
  });
  $("logout").addEventListener("click", () => signOut());
  $("task-form").addEventListener("submit", addTask);
  $("agents").addEventListener("click", agentControl);
  $("approve").addEventListener("click", approve);
  $("reject").addEventListener("click", reject);
  $("logs-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (logAbort) logAbort.abort();
    followLogs();
  });
  document.addEventListener("keydown", onKey);
  window.addEventListener("hashchange", route);
  route();
})();
