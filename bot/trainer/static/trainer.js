// The trainer's classroom: draws GET /api/view, sends what the trainer does to /api/act.
"use strict";
(function () {
  const token = document.querySelector('meta[name="tierline-token"]').content;
  const $ = (id) => document.getElementById(id);
  let view = null;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k.startsWith("data-")) node.setAttribute(k, v);
      else if (k === "onclick") node.addEventListener("click", v);
      else node[k] = v;
    }
    for (const c of children) node.append(c instanceof Node ? c : String(c));
    return node;
  }

  function showError(text) {
    $("error").textContent = text || "";
    $("error").hidden = !text;
  }

  async function post(path, body) {
    const res = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Tierline-Token": token },
      body: JSON.stringify(body),
    });
    const data = await res.json();
    if (!res.ok) { showError(data.error || "refused"); return null; }
    showError("");
    return data;
  }

  async function act(body) {
    document.body.classList.add("busy");
    try {
      const data = await post("/api/act", body);
      if (data) draw(data);
    } finally { document.body.classList.remove("busy"); }
  }

  function draw(v) {
    view = v;
    $("clock").textContent = v.now_text;
    $("clock").dataset.now = v.now;
    const sel = $("scenario");
    if (sel.options.length === 1) for (const s of v.scenarios) sel.append(el("option", { value: s }, s));
    if (v.scenario) sel.value = v.scenario.file;
    $("next").textContent = v.next ? `next: ${v.next} (${v.cursor + 1}/${v.moves})` : `${v.cursor} step(s) played`;
    $("forward").disabled = !v.next;
    $("back").disabled = v.cursor === 0;
    $("focus").textContent = `as ${v.focus}`;

    const events = $("events");
    events.replaceChildren(...v.events.map((e) => {
      const li = el("li", { class: `event ${e.kind}${e.refused ? " refused" : ""}`, "data-kind": e.kind });
      const who = { applicant: e.user, bot: "Tierline", notice: "notice", officer: "officer", problem: "problem" }[e.kind];
      if (who) li.append(el("span", { class: "who" }, who));
      li.append(e.text);
      if (e.buttons && e.buttons.length) li.append(el("span", { class: "btns" }, e.buttons.map((b) => `[${b.label}]`).join(" ")));
      return li;
    }));
    events.scrollTop = events.scrollHeight;
    $("keyboard").replaceChildren(...v.buttons.map((b) =>
      el("button", { type: "button", "data-data": b.data, onclick: () => act({ do: "press", data: b.data }) }, b.label)));

    const m = v.machine;
    $("tiers").replaceChildren(...m.tiers.map((t) => el("li", { class: `${t.id}${t.current ? " current" : ""}` }, t.title)));
    $("state-title").textContent = m.title;
    $("state").textContent = m.state;
    $("state").dataset.state = m.state;
    const fired = $("fired");
    if (m.fired.length) {
      fired.classList.toggle("stale", !m.fresh);
      fired.replaceChildren(el("div", { class: "label" }, m.fresh ? "Just fired" : "Last transition (no transition in the last step)"), ...m.fired.map((f) => el("div", { class: "transition", "data-trigger": f.trigger },
        el("div", {}, f.source_title, " ", el("span", { class: "arrow" }, `──${f.trigger}──▶`), " ", f.dest_title),
        el("div", {}, el("b", {}, "rule "), el("code", {}, f.rule)),
        f.why ? el("div", { class: "muted" }, f.why) : "")));
    } else {
      fired.replaceChildren(el("div", { class: "label" }, "Just fired"), el("div", { class: "muted" }, "no transition in the last step"));
    }
    const r = $("refused");
    r.hidden = !m.refused;
    if (m.refused) {
      r.replaceChildren(el("div", { class: "label" }, m.refused.kept === "no" ? "A guard said no (nothing changed)" : "Decided without moving"),
        el("div", {}, el("b", {}, "rule "), el("code", {}, m.refused.rule)),
        m.refused.why ? el("div", {}, m.refused.why) : "",
        el("div", { class: "muted" }, m.refused.said));
    }
    $("states").replaceChildren(...m.states.map((s) =>
      el("li", { class: (s.current ? "current" : "") + (s.previous ? " previous" : ""), title: s.name, "data-state": s.name }, s.title)));
    $("possible").replaceChildren(...(m.possible.length ? m.possible.map((p) =>
      el("li", {}, el("code", {}, p.trigger), " → ", p.dest_title, p.why ? el("span", { class: "muted" }, ` — ${p.why}`) : "")) : [el("li", { class: "muted" }, "only the commands below")]));
    $("anywhere").replaceChildren(...m.anywhere.map((p) => el("li", {}, el("code", {}, p.trigger), " → ", p.dest_title)));

    $("moments").replaceChildren(...v.moments.map((mo) => el("li", {},
      el("button", { type: "button", class: "moment", "data-kind": mo.kind, "data-at": mo.at, onclick: () => act({ do: "clock", to: mo.at }) },
        `» ${mo.label} — ${mo.when}`))));

    const tbody = $("queue").tBodies[0];
    tbody.replaceChildren(...v.officer.queue.map((q) => el("tr", { "data-reference": q.reference },
      el("td", {}, el("b", {}, q.reference), el("br"), el("span", { class: "muted" }, q.summary)),
      el("td", {}, q.due, q.overdue ? " (due)" : ""),
      el("td", {}, q.status, q.taken_by ? ` (${q.taken_by})` : ""),
      el("td", {}, el("button", { type: "button", class: "take", onclick: () => act({ do: "take", reference: q.reference }) }, "Take")))));
    if (!v.officer.queue.length) tbody.append(el("tr", {}, el("td", { colSpan: 4, class: "muted" }, "no open item")));
    const taken = $("taken");
    taken.hidden = !v.officer.taken;
    if (v.officer.taken) {
      const t = v.officer.taken;
      const outcome = el("select", { id: "outcome" }, ...t.outcomes.map((o) => el("option", { value: o }, o)));
      const note = el("input", { id: "note", placeholder: "note (a refusal needs one)" });
      taken.replaceChildren(el("div", { class: "label" }, "You hold"), el("b", {}, t.reference),
        el("div", {}, t.summary), t.phone ? el("div", {}, `phone ${t.phone}`) : "", t.case ? el("div", { class: "muted" }, t.case) : "",
        outcome, note,
        el("button", { type: "button", id: "complete", onclick: () => act({ do: "complete", reference: t.reference, outcome: outcome.value, note: note.value }) }, "Record outcome"));
    }
  }

  $("say").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = $("say-text").value;
    if (!text.trim()) return;
    $("say-text").value = "";
    act({ do: "say", text });
  });
  $("clock-form").addEventListener("submit", (ev) => { ev.preventDefault(); act({ do: "clock", by: $("clock-by").value }); });
  $("forward").addEventListener("click", () => act({ do: "forward" }));
  $("back").addEventListener("click", () => act({ do: "back" }));
  $("restart").addEventListener("click", () => act({ do: "restart" }));
  $("load").addEventListener("click", () => act({ do: "load", scenario: $("scenario").value }));
  $("save-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const data = await post("/api/save", { name: $("save-name").value, keep: $("save-keep").checked });
    if (!data) return;
    $("saved").textContent = `Saved ${data.file}: ${data.passed ? "replays green" : "does NOT replay: " + data.warnings.join("; ")}`;
  });

  fetch("/api/view").then((r) => r.json()).then(draw).catch((e) => showError(String(e)));
})();
