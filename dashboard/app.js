// The llm_router dashboard. It reads two JSON endpoints, relative to the
// page's own URL (so it works on the admin endpoint and wherever the
// llm_router_dashboard handler is mounted): ./stats every few seconds and
// ./usage for the spend. It only reads (GET) and builds the DOM with
// textContent, never HTML, so no route or client name can inject markup.
"use strict";
(function () {
  const STATS_EVERY_MS = 3000;
  const USAGE_EVERY_MS = 30000;
  const BUCKETS = ["≤ 256", "≤ 1k", "≤ 4k", "≤ 16k", "≤ 64k", "> 64k"];
  const COLORS = ["#2f6fde", "#d9480f", "#2b8a3e", "#ae3ec9", "#e8a200", "#0c8599", "#c2255c", "#5c7cfa", "#868e96", "#74b816"];

  const $ = (id) => document.getElementById(id);
  const state = { stats: null, statsAt: 0, usage: null, usageError: null, filter: "", charts: {} };
  // For tests and the curious: the data and the uPlot charts on the page.
  window.llmDashboard = state;

  // el builds an element: el("td", {class: "x"}, "text", child...).
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k.startsWith("data-")) e.dataset[k.slice(5).replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = v;
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }
  const empty = (text) => el("p", { class: "empty" }, text);
  const table = (head, rows) => el("div", { class: "scroll" },
    el("table", {}, el("thead", {}, el("tr", {}, head.map((h) => el("th", {}, h)))), el("tbody", {}, rows)));

  const fmt = {
    int: (n) => (n || 0).toLocaleString("en-US"),
    ms: (n) => (n === undefined || n === null ? "–" : n < 10 ? n.toFixed(1) + " ms" : Math.round(n).toLocaleString("en-US") + " ms"),
    usd: (n) => {
      n = n || 0;
      if (n === 0) return "$0";
      if (Math.abs(n) < 0.01) return "$" + n.toPrecision(3);
      return "$" + n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    },
    price: (n) => "$" + (+n).toString(),
    duration: (ms) => {
      const s = Math.max(0, Math.ceil(ms / 1000));
      if (s < 60) return s + "s";
      if (s < 3600) return Math.floor(s / 60) + "m " + (s % 60) + "s";
      return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
    },
    time: (iso) => new Date(iso).toLocaleTimeString(),
    date: (d) => d.toISOString().slice(0, 10),
  };

  function matches(...texts) {
    if (!state.filter) return true;
    return texts.some((t) => t && String(t).toLowerCase().includes(state.filter));
  }

  async function getJSON(url) {
    const resp = await fetch(url, { cache: "no-store", credentials: "same-origin" });
    let body = null;
    try { body = await resp.json(); } catch (e) { body = null; }
    if (!resp.ok) {
      const err = new Error((body && body.error) || resp.status + " " + resp.statusText);
      err.status = resp.status;
      throw err;
    }
    return body;
  }

  // ---- routes -----------------------------------------------------------

  // The server's clock now, from the last stats and the time since.
  const serverNow = () => Date.parse(state.stats.now) + (Date.now() - state.statsAt);

  function breakerCell(rt) {
    let text = rt.breaker;
    if (rt.breaker_cause) {
      text += " (" + rt.breaker_cause.replace("_", " ") + ")";
    }
    if (rt.breaker === "open" && rt.open_until) {
      text += " · closes in " + fmt.duration(Date.parse(rt.open_until) - serverNow());
    }
    return el("td", { class: "breaker breaker-" + rt.breaker, "data-open-until": rt.open_until }, text);
  }

  function renderRoutes() {
    const box = $("routes");
    const s = state.stats;
    if (!s.routes.length) {
      box.replaceChildren(empty("No llm_router handler is running: each model's vendors appear here once a config with llm_router is loaded."));
      return;
    }
    const byModel = new Map();
    for (const rt of s.routes) {
      if (!byModel.has(rt.model)) byModel.set(rt.model, []);
      byModel.get(rt.model).push(rt);
    }
    const rankings = new Map((s.models || []).map((m) => [m.model, m.rankings]));
    const strategies = (s.models && s.models.length ? s.models[0].rankings : []).map((r) => r.routing);
    const bucket = bucketOf(s.ranked_for ? s.ranked_for.prompt_tokens : 256);
    const cards = [];
    for (const [model, routes] of byModel) {
      if (!matches(model, ...routes.map((r) => r.vendor))) continue;
      const ranks = {}; // strategy -> vendor -> {pos, predicted_ms, expected_cost_usd, tier}
      for (const r of rankings.get(model) || []) {
        ranks[r.routing] = {};
        r.vendors.forEach((v, i) => { ranks[r.routing][v.vendor] = Object.assign({ pos: i + 1 }, v); });
      }
      const first = strategies[0];
      const sorted = routes.slice().sort((a, b) =>
        ((ranks[first] || {})[a.vendor] || { pos: 1e9 }).pos - ((ranks[first] || {})[b.vendor] || { pos: 1e9 }).pos);
      const rows = sorted.map((rt) => el("tr", { "data-model": model, "data-vendor": rt.vendor },
        el("td", { class: "vendor" }, rt.vendor, el("span", { class: "sub" }, rt.kind + (rt.vendor_model !== model ? " · " + rt.vendor_model : ""))),
        strategies.map((st) => {
          const r = (ranks[st] || {})[rt.vendor];
          if (!r) return el("td", { class: "rank" }, "–");
          const why = [r.tier, r.predicted_ms !== undefined ? "predicted " + fmt.ms(r.predicted_ms) : "not measured",
            r.expected_cost_usd !== undefined ? "expected " + fmt.usd(r.expected_cost_usd) : "no price"].join(", ");
          return el("td", { class: "rank rank-" + r.pos, "data-strategy": st, title: why }, "#" + r.pos);
        }),
        breakerCell(rt),
        el("td", { class: "num successes" }, fmt.int(rt.successes)),
        el("td", { class: "num failures" + (rt.failures ? " bad" : "") }, fmt.int(rt.failures)),
        el("td", { class: "num ttft" }, rt.buckets[bucket] && rt.buckets[bucket].samples ? fmt.ms(rt.buckets[bucket].ttft_ms) : "–"),
        el("td", { class: "num decode" }, rt.decode_tokens_per_sec ? rt.decode_tokens_per_sec.toFixed(1) + " tok/s" : "–"),
        el("td", { class: "num price" }, rt.price ? fmt.price(rt.price.input) + " / " + fmt.price(rt.price.output) : "no price")));
      cards.push(el("div", { class: "card", "data-model": model },
        el("h3", {}, model),
        table(["vendor", ...strategies, "breaker", "successes", "failures", "TTFT " + BUCKETS[bucket], "decode", "price in / out per 1M"], rows)));
    }
    box.replaceChildren(...(cards.length ? cards : [empty("No model or vendor matches the filter.")]));
  }

  function bucketOf(tokens) {
    const limits = [256, 1024, 4096, 16384, 65536];
    for (let i = 0; i < limits.length; i++) if (tokens <= limits[i]) return i;
    return limits.length;
  }

  // ---- TTFT chart ---------------------------------------------------------

  function renderTTFT() {
    const s = state.stats;
    const select = $("ttft-model");
    const models = [...new Set(s.routes.map((r) => r.model))].filter((m) =>
      matches(m, ...s.routes.filter((r) => r.model === m).map((r) => r.vendor)));
    const previous = select.value;
    const options = models.map((m) => el("option", { value: m }, m));
    select.replaceChildren(...options);
    if (models.includes(previous)) select.value = previous;
    else if (models.length) {
      // Start with a model that has measurements.
      const measured = models.find((m) => s.routes.some((r) => r.model === m && r.buckets.some((b) => b.samples)));
      select.value = measured || models[0];
    }
    const model = select.value;
    const routes = s.routes.filter((r) => r.model === model);
    const box = $("ttft");
    if (!routes.some((r) => r.buckets.some((b) => b.samples))) {
      destroyChart("ttft");
      box.replaceChildren(empty(models.length
        ? "No latency measured for " + model + " yet: each vendor's time to first token per prompt size appears after its first answers."
        : "No routes: the chart shows each vendor's time to first token per prompt size once there are."));
      return;
    }
    const xs = BUCKETS.map((_, i) => i);
    const data = [xs, ...routes.map((r) => r.buckets.map((b) => (b.samples ? b.ttft_ms : null)))];
    const opts = {
      title: model,
      height: 260,
      scales: { x: { time: false, range: [-0.5, BUCKETS.length - 0.5] } },
      axes: [
        { splits: () => xs, values: (u, vals) => vals.map((v) => BUCKETS[v] || ""), label: "prompt tokens" },
        { label: "TTFT (ms)", size: 70 },
      ],
      series: [{ label: "prompt", value: (u, v) => (v === null ? "–" : BUCKETS[v] + " tokens") }, ...routes.map((r, i) => ({
        label: r.vendor, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: false,
        points: { size: 7 }, value: (u, v) => (v === null ? "–" : fmt.ms(v)),
      }))],
    };
    const wasOpen = !!(box.querySelector("details") || {}).open;
    drawChart("ttft", box, opts, data, model + "|" + routes.map((r) => r.vendor).join(","));
    const rows = routes.map((r) => el("tr", { "data-vendor": r.vendor }, el("td", {}, r.vendor),
      r.buckets.map((b) => el("td", { class: "num" }, b.samples ? fmt.ms(b.ttft_ms) + " (" + b.samples + ")" : "–"))));
    box.append(el("details", { open: wasOpen }, el("summary", {}, "as a table (samples in brackets)"), table(["vendor", ...BUCKETS], rows)));
  }

  // drawChart draws into box, reusing the chart while its series (key) stay
  // the same, so that a refresh does not rebuild it.
  function drawChart(name, box, opts, data, key) {
    const width = Math.max(280, box.clientWidth || 600);
    const c = state.charts[name];
    if (c && c.key === key && box.contains(c.plot.root)) {
      c.plot.setData(data);
      [...box.children].forEach((ch) => { if (ch !== c.plot.root) ch.remove(); });
      return;
    }
    destroyChart(name);
    box.replaceChildren();
    const plot = new uPlot(Object.assign({ width }, opts), data, box);
    state.charts[name] = { plot, key };
  }

  function destroyChart(name) {
    if (state.charts[name]) {
      state.charts[name].plot.destroy();
      delete state.charts[name];
    }
  }

  window.addEventListener("resize", () => {
    for (const c of Object.values(state.charts)) {
      const box = c.plot.root.parentElement;
      if (box) c.plot.setSize({ width: Math.max(280, box.clientWidth), height: c.plot.height });
    }
  });

  // ---- decisions ------------------------------------------------------------

  function renderDecisions() {
    const ds = (state.stats.decisions || []).filter((d) =>
      matches(d.model, d.vendor, d.client, d.outcome, ...d.failed_attempts.map((a) => a.vendor + " " + a.reason)));
    const box = $("decisions");
    if (!ds.length) {
      box.replaceChildren(empty(state.stats.decisions && state.stats.decisions.length
        ? "No decision matches the filter."
        : "No request has failed over or broken off yet. When one does, it appears here: the vendors in the order they were tried, and why each one failed."));
      return;
    }
    const rows = ds.map((d) => el("tr", { "data-request-id": d.request_id },
      el("td", {}, fmt.time(d.time)),
      el("td", {}, d.model, el("span", { class: "sub" }, d.routing)),
      el("td", {}, d.client || "–"),
      el("td", { class: "outcome outcome-" + d.outcome }, d.outcome),
      el("td", { class: "served" }, d.vendor || "none"),
      el("td", { class: "num attempts" }, d.attempts),
      el("td", { class: "tried" }, d.ranked.map((r) => r.vendor).join(" › ")),
      el("td", { class: "failed" }, el("ul", {}, d.failed_attempts.map((a) =>
        el("li", {}, el("b", {}, a.vendor), " ", a.status ? String(a.status) + " " : "", el("code", {}, a.reason),
          a.message ? el("span", { class: "sub" }, a.message) : null))))));
    box.replaceChildren(table(["time", "model", "client", "outcome", "served by", "attempts", "ranked", "failed attempts"], rows));
  }

  // ---- limits ---------------------------------------------------------------

  function renderLimits() {
    const box = $("limits");
    const all = state.stats.limits || [];
    const rows = [];
    for (const c of all) {
      for (const l of c.limits) {
        if (!matches(c.client, l.model, l.kind)) continue;
        const usd = l.kind === "usd";
        const show = (n) => (n === undefined || n === null ? "?" : usd ? fmt.usd(n / 1e6) : fmt.int(n));
        const known = l.used !== undefined && l.used !== null;
        rows.push(el("tr", { "data-client": c.client, "data-kind": l.kind },
          el("td", {}, c.client),
          el("td", {}, l.kind + (l.hard ? " (hard)" : "")),
          el("td", {}, l.model || "any"),
          el("td", {}, l.per || "–"),
          el("td", { class: "num used" }, show(l.used) + " / " + show(l.limit)),
          el("td", {}, known ? el("meter", { min: "0", max: String(l.limit), value: String(Math.min(l.used, l.limit)), high: String(l.limit * 0.8), optimum: "0" }) : "not known"),
          el("td", {}, l.reset ? fmt.time(l.reset) : "–")));
      }
    }
    if (!rows.length) {
      box.replaceChildren(empty(all.length ? "No limit matches the filter."
        : "No client has used a limit yet (or no limits block is configured): usage against each limit appears here once clients send requests."));
      return;
    }
    box.replaceChildren(table(["client", "limit", "model", "per", "used / limit", "", "resets"], rows));
  }

  // ---- spend ----------------------------------------------------------------

  function spendRange() {
    const from = $("spend-from").value, to = $("spend-to").value;
    const end = new Date(to + "T00:00:00Z");
    end.setUTCDate(end.getUTCDate() + 1); // the page's range includes its last day
    return { from, to: fmt.date(end) };
  }

  async function refreshUsage() {
    const r = spendRange();
    try {
      state.usage = await getJSON("usage?group_by=client,model&granularity=day&from=" + r.from + "&to=" + r.to);
      state.usageError = null;
    } catch (e) {
      state.usage = null;
      state.usageError = e;
    }
    renderSpend();
  }

  function sumRows(rows, key) {
    const m = new Map();
    for (const row of rows) {
      const k = row[key] || "(none)";
      const t = m.get(k) || { key: k, requests: 0, failures: 0, tokens: 0, billable: 0, absorbed: 0 };
      t.requests += row.requests;
      t.failures += row.failures;
      t.tokens += row.billable_prompt_tokens + row.billable_completion_tokens;
      t.billable += row.billable_cost_usd;
      t.absorbed += row.absorbed_cost_usd;
      m.set(k, t);
    }
    return [...m.values()].sort((a, b) => b.billable + b.absorbed - (a.billable + a.absorbed) || (a.key < b.key ? -1 : 1));
  }

  function renderSpend() {
    const box = $("spend");
    if (state.usageError) {
      destroyChart("spend");
      box.replaceChildren(empty(state.usageError.status === 404
        ? "No spend to show: " + state.usageError.message + "."
        : "Could not read the ledger: " + state.usageError.message));
      return;
    }
    if (!state.usage) return;
    const rows = state.usage.rows.filter((r) => matches(r.client, r.model));
    if (!rows.length) {
      destroyChart("spend");
      box.replaceChildren(empty(state.usage.rows.length ? "No spend matches the filter."
        : "No requests in this range yet: spend per client and per model, billable and absorbed, appears here as the ledger records them."));
      return;
    }
    // Every day of the range, so that days without spend show as such.
    const r = spendRange();
    let days = [];
    for (let d = Date.parse(r.from + "T00:00:00Z"); d < Date.parse(r.to + "T00:00:00Z") && days.length <= 366; d += 86400000) {
      days.push(new Date(d).toISOString());
    }
    if (days.length > 366 || !days.length) days = [...new Set(rows.map((row) => row.start))].sort();
    const dayOf = (iso) => iso.slice(0, 10);
    const perDay = (field) => days.map((d) => rows.filter((row) => dayOf(row.start) === dayOf(d)).reduce((sum, row) => sum + row[field], 0));
    const chartBox = el("div", { class: "chart" });
    box.replaceChildren(chartBox);
    const bars = uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.6, 60] }) : undefined;
    const xs = days.map((d) => Date.parse(d) / 1000);
    drawChart("spend", chartBox, {
      height: 220,
      // Half a day of room on either side of the bars.
      scales: { x: { time: true, range: () => [xs[0] - 43200, xs[xs.length - 1] + 43200] } },
      axes: [{ splits: (u) => { const k = Math.ceil(xs.length / Math.max(1, Math.floor(u.bbox.width / devicePixelRatio / 60))); return xs.filter((_, i) => i % k === 0); },
        values: (u, vals) => vals.map((v) => fmt.date(new Date(v * 1000)).slice(5)) },
        { label: "USD", size: 80, values: (u, vals) => vals.map((v) => fmt.usd(v)) }],
      series: [{ label: "day", value: (u, v) => (v === null ? "–" : fmt.date(new Date(v * 1000))) },
        { label: "billable", stroke: COLORS[0], fill: COLORS[0] + "99", paths: bars, points: { show: !bars }, value: (u, v) => fmt.usd(v) },
        { label: "absorbed", stroke: COLORS[1], fill: COLORS[1] + "99", paths: bars, points: { show: !bars }, value: (u, v) => fmt.usd(v) }],
    }, [xs, perDay("billable_cost_usd"), perDay("absorbed_cost_usd")], "spend:" + days.join(","));
    const totals = (key, label) => el("div", { class: "half", id: "spend-by-" + key },
      el("h3", {}, "per " + label),
      table([label, "requests", "failed", "billable tokens", "billable", "absorbed"], sumRows(rows, key).map((t) =>
        el("tr", { "data-key": t.key }, el("td", {}, t.key), el("td", { class: "num" }, fmt.int(t.requests)),
          el("td", { class: "num" }, fmt.int(t.failures)), el("td", { class: "num" }, fmt.int(t.tokens)),
          el("td", { class: "num billable" }, fmt.usd(t.billable)), el("td", { class: "num absorbed" }, fmt.usd(t.absorbed))))));
    box.append(el("div", { class: "halves" }, totals("client", "client"), totals("model", "model")));
  }

  // ---- the loop ---------------------------------------------------------------

  function renderAll() {
    if (!state.stats) return;
    renderRoutes();
    renderTTFT();
    renderDecisions();
    renderLimits();
  }

  async function refreshStats() {
    try {
      state.stats = await getJSON("stats?prompt_tokens=" + $("prompt-size").value);
      state.statsAt = Date.now();
      renderAll();
      $("status").textContent = "updated " + new Date().toLocaleTimeString();
      $("status").className = "";
    } catch (e) {
      $("status").textContent = "cannot read stats: " + e.message;
      $("status").className = "bad";
    }
  }

  // loop runs fn every so often, skipping the rounds while the tab is hidden.
  function loop(fn, every) {
    (document.hidden ? Promise.resolve() : fn()).finally(() => setTimeout(() => loop(fn, every), every));
  }
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) { refreshStats(); refreshUsage(); }
  });

  const today = new Date();
  const weekAgo = new Date(today.getTime() - 6 * 86400000);
  $("spend-to").value = fmt.date(today);
  $("spend-from").value = fmt.date(weekAgo);
  $("filter").addEventListener("input", (e) => {
    state.filter = e.target.value.trim().toLowerCase();
    renderAll();
    renderSpend();
  });
  $("prompt-size").addEventListener("change", refreshStats);
  $("ttft-model").addEventListener("change", renderTTFT);
  $("spend-from").addEventListener("change", refreshUsage);
  $("spend-to").addEventListener("change", refreshUsage);
  loop(refreshStats, STATS_EVERY_MS);
  loop(refreshUsage, USAGE_EVERY_MS);
})();
