// The ops page: polls the JSON API and draws it. Every value goes in as text (textContent, SVG attributes),
// never as markup, so nothing a call carries can run here. No library, nothing from outside this origin.
"use strict";

(function () {
  const REFRESH_MS = 2000;
  const STATS_MS = 10000;
  const SVG = "http://www.w3.org/2000/svg";
  let selected = null;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "className") node.className = value;
      else if (key.startsWith("data-")) node.setAttribute(key, value);
      else node[key] = value;
    }
    for (const child of children) {
      node.append(child instanceof Node ? child : document.createTextNode(child == null ? "–" : String(child)));
    }
    return node;
  }

  function svgEl(tag, attrs) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    return node;
  }

  function ms(value) {
    return value == null ? "–" : `${value} ms`;
  }

  function age(value) {
    if (value == null) return "–";
    if (value < 1000) return `${value} ms`;
    if (value < 120000) return `${(value / 1000).toFixed(1)} s`;
    return `${Math.round(value / 60000)} min`;
  }

  function clock(epochMs) {
    return epochMs == null ? "–" : new Date(epochMs).toLocaleTimeString();
  }

  function percent(rate) {
    return rate == null ? "–" : `${(rate * 100).toFixed(1)} %`;
  }

  async function getJson(path) {
    const response = await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (response.status === 401) {
      window.location.assign("/ops");
      throw new Error("logged out");
    }
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    return response.json();
  }

  function fill(tableId, rows, emptyText) {
    const body = document.querySelector(`#${tableId} tbody`);
    if (!rows.length) {
      const columns = document.querySelectorAll(`#${tableId} thead th`).length;
      body.replaceChildren(el("tr", {}, el("td", { colSpan: columns, className: "muted" }, emptyText)));
      return;
    }
    body.replaceChildren(...rows);
  }

  function setText(id, value) {
    document.getElementById(id).textContent = value == null ? "–" : String(value);
  }

  // --- charts -------------------------------------------------------------------------------------------------

  function barChart(values, { error = false, label = "" } = {}) {
    const width = 132, height = 28, gap = 2;
    const chart = svgEl("svg", { class: "chart", width, height, viewBox: `0 0 ${width} ${height}`, role: "img" });
    const title = svgEl("title");
    title.textContent = label;
    chart.append(title);
    const top = Math.max(1, ...values.map((v) => v || 0));
    const slot = width / Math.max(values.length, 1);
    values.forEach((value, index) => {
      const x = index * slot + gap / 2;
      if (value == null) {
        chart.append(svgEl("rect", { class: "empty", x, y: height - 1, width: slot - gap, height: 1 }));
        return;
      }
      const h = Math.max(1, Math.round((value / top) * (height - 2)));
      chart.append(svgEl("rect", { class: error ? "bar err" : "bar", x, y: height - h, width: slot - gap, height: h }));
    });
    return chart;
  }

  function timingChart(timings) {
    const entries = Object.entries(timings);
    const width = 300, row = 16, labelWidth = 90;
    const chart = svgEl("svg", { class: "timing", width, height: row * entries.length, role: "img" });
    const longest = Math.max(1, ...entries.map(([, value]) => Math.max(value, 0)));
    entries.forEach(([name, value], index) => {
      const y = index * row;
      const label = svgEl("text", { x: 0, y: y + 12 });
      label.textContent = name;
      const w = Math.max(1, Math.round((Math.max(value, 0) / longest) * (width - labelWidth - 60)));
      const bar = svgEl("rect", { class: name === "total" ? "seg total" : "seg", x: labelWidth, y: y + 3, width: w, height: 10 });
      const figure = svgEl("text", { x: labelWidth + w + 4, y: y + 12 });
      figure.textContent = `${value} ms`;
      chart.append(label, bar, figure);
    });
    return chart;
  }

  // --- the overview -------------------------------------------------------------------------------------------

  function outcomeCell(call) {
    const text = call.code ? `${call.status} (${call.code})` : call.status;
    return el("td", { className: `outcome-${call.status}` }, text);
  }

  function renderOverview(data) {
    setText("tile-in-flight", data.in_flight.count);
    setText("tile-workers", data.workers.length);
    const tools = data.queues.find((queue) => queue.name === "evi-tools");
    setText("tile-queue", tools ? tools.waiting : "–");
    setText("tile-chats", data.chats.count);

    fill(
      "in-flight",
      data.in_flight.calls.map((call) =>
        el("tr", {},
          el("td", { className: "id" }, call.tool_call_id),
          el("td", {}, call.tool),
          el("td", { className: `outcome-${call.state}` }, call.state),
          el("td", { className: "num" }, age(call.age_ms)),
          el("td", { className: "num" }, age(call.due_in_ms)),
          el("td", {}, call.worker),
          el("td", { className: "id" }, call.chat_id))),
      "none",
    );

    fill(
      "recent",
      data.recent.map((call) => {
        const row = el("tr", { className: "clickable", "data-id": call.tool_call_id },
          el("td", {}, clock(call.received_ms)),
          el("td", {}, call.tool),
          outcomeCell(call),
          el("td", { className: "num" }, ms(call.latency_ms)),
          el("td", {}, call.transport),
          el("td", { className: "id" }, call.tool_call_id));
        if (call.tool_call_id === selected) row.classList.add("selected");
        return row;
      }),
      "no calls yet",
    );

    fill(
      "workers",
      data.workers.map((worker) =>
        el("tr", {},
          el("td", { className: "id" }, worker.name),
          el("td", {}, worker.state),
          el("td", {}, `${worker.hostname || "?"} / ${worker.pid == null ? "?" : worker.pid}`),
          el("td", { className: "num" }, `${age(worker.heartbeat_age_ms)} ago`),
          el("td", { className: "num" }, worker.successful_jobs),
          el("td", { className: "num" }, worker.failed_jobs))),
      "no live worker",
    );

    fill(
      "queues",
      data.queues.map((queue) =>
        el("tr", {},
          el("td", {}, queue.name),
          el("td", { className: "num" }, queue.waiting),
          el("td", { className: "num" }, queue.starting),
          el("td", { className: "num" }, queue.failed))),
      "none",
    );

    fill(
      "chats",
      data.chats.chats.map((chat) =>
        el("tr", {},
          el("td", { className: "id" }, chat.chat_id),
          el("td", { className: "num" }, age(data.now_ms - chat.started_ms)),
          el("td", {}, chat.socket),
          el("td", { className: "id" }, chat.relay),
          el("td", { className: "num" }, chat.sent))),
      "none",
    );
  }

  function renderStats(stats) {
    const names = Object.keys(stats.tools);
    let calls = 0, errors = 0;
    const rows = names.map((name) => {
      const tool = stats.tools[name];
      calls += tool.calls;
      errors += tool.errors;
      const p95s = tool.slices.map((slice) => slice.p95_ms);
      const errs = tool.slices.map((slice) => (slice.calls ? slice.errors : null));
      return el("tr", {},
        el("td", {}, name),
        el("td", { className: "num" }, tool.calls),
        el("td", { className: "num" }, ms(tool.p50_ms)),
        el("td", { className: "num" }, ms(tool.p95_ms)),
        el("td", { className: "num" }, percent(tool.error_rate)),
        el("td", {}, barChart(p95s, { label: `${name}: p95 per 5 minutes (ms): ${p95s.map((v) => (v == null ? "–" : v)).join(", ")}` })),
        el("td", {}, barChart(errs, { error: true, label: `${name}: errors per 5 minutes: ${errs.map((v) => (v == null ? "–" : v)).join(", ")}` })));
    });
    fill("tools", rows, "no calls in the last hour");
    setText("tile-calls", calls);
    setText("tile-errors", errors);
    setText("stats-note", stats.calls_read >= 5000 ? `(from the newest ${stats.calls_read} calls)` : "");
  }

  // --- one call -------------------------------------------------------------------------------------------------

  function renderDetail(call) {
    const facts = [
      ["call", call.tool_call_id],
      ["tool", call.tool],
      ["outcome", call.code ? `${call.status} (${call.code})` : call.status],
      ["latency", ms(call.latency_ms)],
      ["transport", call.transport],
      ["chat", call.chat_id],
      ["worker", call.worker],
      ["delivery", call.delivery_attempts == null ? null : `${call.delivery_attempts} attempt(s)`],
      ["dedupe hits", call.dedupe_hits],
      ["redacted", call.redacted.length ? call.redacted.join(", ") : null],
    ].filter(([, value]) => value != null && value !== "");
    const list = el("dl", {}, ...facts.flatMap(([name, value]) => [el("dt", {}, name), el("dd", {}, value)]));
    const aside = document.getElementById("detail");
    const parts = [el("h2", {}, "Call"), list];
    if (Object.keys(call.timings_ms).length) parts.push(el("h2", {}, "Timing"), timingChart(call.timings_ms));
    parts.push(el("h2", {}, "Arguments"), el("pre", {}, call.arguments == null ? "(not recorded)" : JSON.stringify(call.arguments, null, 2)));
    parts.push(el("h2", {}, "Answer"), el("pre", {}, call.answer.content == null ? "(none yet)" : call.answer.content));
    if (call.answer.error) parts.push(el("p", { className: "muted" }, call.answer.error));
    const record = el("dl", {}, ...Object.entries(call.record).flatMap(([key, value]) => [el("dt", {}, key), el("dd", {}, value)]));
    parts.push(el("h2", {}, "Record"), record);
    aside.replaceChildren(...parts);
  }

  async function showCall(id) {
    selected = id;
    document.querySelectorAll("#recent tbody tr").forEach((row) => row.classList.toggle("selected", row.dataset.id === id));
    try {
      renderDetail(await getJson(`/ops/api/calls/${encodeURIComponent(id)}`));
    } catch (error) {
      document.getElementById("detail").replaceChildren(el("h2", {}, "Call"), el("p", { className: "muted" }, error.message));
    }
  }

  // --- polling --------------------------------------------------------------------------------------------------

  async function refresh() {
    try {
      renderOverview(await getJson("/ops/api/overview"));
      setText("status", `updated ${new Date().toLocaleTimeString()}`);
    } catch (error) {
      setText("status", `not updated: ${error.message}`);
    } finally {
      window.setTimeout(refresh, REFRESH_MS);
    }
  }

  async function refreshStats() {
    try {
      renderStats(await getJson("/ops/api/stats"));
    } catch (error) {
      setText("stats-note", `(not updated: ${error.message})`);
    } finally {
      window.setTimeout(refreshStats, STATS_MS);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelector("#recent tbody").addEventListener("click", (event) => {
      const row = event.target.closest("tr[data-id]");
      if (row) showCall(row.dataset.id);
    });
    refresh();
    refreshStats();
  });
})();
