// report.js: draws the tpslab run report page (analyzer/report).
//
// The page (html_report.cc) carries the report document (schema
// "tpslab.report/1") in the JSON script element #tpslab-report, the page
// options {live, report_url} in #tpslab-options, and the uPlot chart
// library as the global `uPlot`. This script builds every section from the
// document with DOM calls only (strings from the document always become text,
// never HTML), then sets document.body.dataset.rendered to "ok", or to
// "error" with the messages shown in #errors.
//
// Live mode fetches options.report_url every second and redraws, keeping the
// zoom, hidden series and overlay picks; it stops polling once the run's state
// is no longer "running".
//
// No framework and no build step: this file is embedded as it is.
(function () {
  "use strict";

  // ---------------------------------------------------------------- formatting

  const DASH = "\u2013";
  const LOCALE = "en-US";

  function isNum(v) {
    return typeof v === "number" && Number.isFinite(v);
  }

  function isObj(v) {
    return v !== null && typeof v === "object" && !Array.isArray(v);
  }

  function obj(v) {
    return isObj(v) ? v : {};
  }

  function arr(v) {
    return Array.isArray(v) ? v : [];
  }

  function str(v) {
    return typeof v === "string" ? v : isNum(v) ? String(v) : "";
  }

  // Removes floating point noise (0.30000000000000004) before printing.
  function clean(v) {
    return Number(v.toPrecision(12));
  }

  function fmtInt(v) {
    return isNum(v) ? Math.round(v).toLocaleString(LOCALE) : DASH;
  }

  // About three significant digits, never an exponent: 0.0123, 1.23, 12.3, 1,234.
  function fmtSig(v) {
    if (!isNum(v)) return DASH;
    const a = Math.abs(v);
    if (a === 0) return "0";
    if (a >= 100) return fmtInt(v);
    const digits = Math.min(6, Math.max(0, 2 - Math.floor(Math.log10(a))));
    return Number(v.toFixed(digits)).toLocaleString(LOCALE, { maximumFractionDigits: digits });
  }

  function fmtMs(v) {
    return isNum(v) ? fmtSig(v) + " ms" : DASH;
  }

  function fmtTps(v) {
    return isNum(v) ? (Math.abs(v) >= 100 ? fmtInt(v) : fmtSig(v)) : DASH;
  }

  function fmtPct(fraction, digits) {
    return isNum(fraction)
      ? (fraction * 100).toFixed(digits === undefined ? 1 : digits) + "%"
      : DASH;
  }

  // Error rates are often tiny: keep two significant digits below 1%.
  function fmtRate(fraction) {
    if (!isNum(fraction)) return DASH;
    if (fraction === 0) return "0%";
    const pct = fraction * 100;
    return (pct >= 1 ? pct.toFixed(1) : Number(pct.toPrecision(2)).toString()) + "%";
  }

  // Tick labels: plain up to 9,999, then 12k, 1.2M, 3.4G.
  function fmtAxis(v) {
    if (!isNum(v)) return "";
    const a = Math.abs(v);
    if (a >= 1e9) return clean(v / 1e9).toLocaleString(LOCALE) + "G";
    if (a >= 1e6) return clean(v / 1e6).toLocaleString(LOCALE) + "M";
    if (a >= 1e4) return clean(v / 1e3).toLocaleString(LOCALE) + "k";
    return clean(v).toLocaleString(LOCALE, { maximumFractionDigits: 6 });
  }

  const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

  // Tick steps for byte axes: 1, 2, 4 ... 512 of each binary unit, so ticks
  // read 256 MiB, 512 MiB, 768 MiB rather than 476.8 MiB.
  const BYTE_INCRS = [];
  for (let unit = 1; unit <= Math.pow(1024, 5); unit *= 1024) {
    for (let m = 1; m < 1024; m *= 2) BYTE_INCRS.push(m * unit);
  }

  function fmtBytes(v) {
    if (!isNum(v)) return DASH;
    let i = 0;
    let x = Math.abs(v);
    while (x >= 1024 && i < BYTE_UNITS.length - 1) {
      x /= 1024;
      i++;
    }
    const digits = i === 0 ? 0 : x >= 100 ? 0 : x >= 10 ? 1 : 2;
    return (v < 0 ? "-" : "") + x.toFixed(digits) + " " + BYTE_UNITS[i];
  }

  function fmtBytesAxis(v) {
    if (!isNum(v)) return "";
    let i = 0;
    let x = Math.abs(v);
    while (x >= 1024 && i < BYTE_UNITS.length - 1) {
      x /= 1024;
      i++;
    }
    return (
      (v < 0 ? "-" : "") +
      clean(x).toLocaleString(LOCALE, { maximumFractionDigits: 1 }) +
      " " +
      BYTE_UNITS[i]
    );
  }

  // Seconds since the run started as m:ss (h:mm:ss past an hour).
  function fmtClock(t) {
    if (!isNum(t)) return DASH;
    const sign = t < 0 ? "-" : "";
    let s = Math.abs(t);
    const h = Math.floor(s / 3600);
    s -= h * 3600;
    const m = Math.floor(s / 60);
    s -= m * 60;
    const whole = Math.abs(s - Math.round(s)) < 1e-6;
    let sec = whole ? String(Math.round(s)) : s.toFixed(1);
    if (s < 10) sec = "0" + sec;
    return sign + (h > 0 ? h + ":" + String(m).padStart(2, "0") : String(m)) + ":" + sec;
  }

  function fmtDuration(seconds) {
    if (!isNum(seconds)) return DASH;
    if (seconds < 60) return seconds.toFixed(seconds < 10 ? 2 : 1) + " s";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min " + Math.round(seconds % 60) + " s";
    return (
      Math.floor(seconds / 3600) +
      " h " +
      String(Math.round((seconds % 3600) / 60)).padStart(2, "0") +
      " min"
    );
  }

  // ISO 8601 timestamps are shown in UTC so the report reads the same everywhere.
  function fmtDate(iso) {
    const text = str(iso);
    if (!text) return DASH;
    const d = new Date(text);
    if (Number.isNaN(d.getTime())) return text;
    return d
      .toISOString()
      .replace("T", " ")
      .replace(/\.\d+Z$/, "Z")
      .replace("Z", " UTC");
  }

  function fmtPercentile(p) {
    if (!isNum(p)) return DASH;
    if (p >= 100) return "100% (max)";
    return Number(p.toFixed(5)).toString() + "%";
  }

  // ------------------------------------------------------------------- DOM

  // el("td", {class: "text", title: "..."}, child, "text", ...): children are
  // nodes or strings; strings become text nodes, so data is never parsed as HTML.
  function el(tag, props) {
    const node = document.createElement(tag);
    if (props) {
      for (const key of Object.keys(props)) {
        const v = props[key];
        if (v === null || v === undefined || v === false) continue;
        if (key === "class") node.className = v;
        else if (key === "text") node.textContent = v;
        else if (key.startsWith("on")) node.addEventListener(key.slice(2), v);
        else node.setAttribute(key, v === true ? "" : String(v));
      }
    }
    for (let i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }

  function append(node, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) {
      child.forEach((c) => append(node, c));
    } else if (typeof child === "string" || typeof child === "number") {
      node.appendChild(document.createTextNode(String(child)));
    } else {
      node.appendChild(child);
    }
  }

  function badge(text, kind) {
    return el("span", { class: "badge" + (kind ? " " + kind : "") }, text);
  }

  // columns: [{title, text: bool, cell: row => string|Node, cls: row => string}]
  function table(columns, rows, rowClass) {
    const head = el(
      "tr",
      null,
      columns.map((c) =>
        el("th", { class: c.text ? "text" : null, title: c.hint || null }, c.title),
      ),
    );
    const body = el("tbody");
    rows.forEach((row) => {
      const tr = el("tr", { class: rowClass ? rowClass(row) : null });
      columns.forEach((c) => {
        const classes = [];
        if (c.text) classes.push("text");
        if (c.wrap) classes.push("wrap");
        if (c.cls) {
          const extra = c.cls(row);
          if (extra) classes.push(extra);
        }
        tr.appendChild(el("td", { class: classes.join(" ") || null }, c.cell(row)));
      });
      body.appendChild(tr);
    });
    return el("table", { class: "data" }, el("thead", null, head), body);
  }

  // ------------------------------------------------------- metric catalog

  const COLORS = {
    blue: "#2563eb",
    orange: "#ea580c",
    green: "#16a34a",
    red: "#dc2626",
    purple: "#7c3aed",
    teal: "#0891b2",
    amber: "#ca8a04",
    pink: "#db2777",
    slate: "#64748b",
    ink: "#0f172a",
  };
  const PALETTE = [
    COLORS.blue,
    COLORS.orange,
    COLORS.green,
    COLORS.purple,
    COLORS.teal,
    COLORS.red,
    COLORS.amber,
    COLORS.pink,
    COLORS.slate,
  ];

  // How values of a unit are shown: `mul` scales the stored value for display
  // (fractions 0..1 become percent), `legend` formats a cursor value, `axis` a tick.
  const UNITS = {
    tps: { legend: (v) => fmtTps(v) + " tx/s", axis: fmtAxis },
    users: { legend: (v) => fmtSig(v), axis: fmtAxis },
    ms: { legend: fmtMs, axis: (v) => fmtAxis(v) + " ms" },
    pct: { mul: 100, legend: (v) => v.toFixed(1) + "%", axis: (v) => fmtAxis(v) + "%" },
    cores: { legend: (v) => v.toFixed(2) + " cores", axis: fmtAxis },
    bytes: { legend: fmtBytes, axis: fmtBytesAxis, incrs: BYTE_INCRS },
    bytes_per_s: {
      legend: (v) => fmtBytes(v) + "/s",
      axis: (v) => fmtBytesAxis(v) + "/s",
      incrs: BYTE_INCRS,
    },
    per_s: { legend: (v) => fmtSig(v) + "/s", axis: fmtAxis },
    count: { legend: (v) => fmtSig(v), axis: fmtAxis },
    load: { legend: (v) => v.toFixed(2), axis: fmtAxis },
  };

  // Every per-second series of the schema, in the order the overlay picker lists them.
  const METRICS = {
    tps: { label: "TPS", unit: "tps" },
    users: { label: "Active users", unit: "users" },
    errors_per_s: { label: "Errors/s", unit: "per_s" },
    p50_ms: { label: "p50 latency", unit: "ms" },
    p90_ms: { label: "p90 latency", unit: "ms" },
    p99_ms: { label: "p99 latency", unit: "ms" },
    max_ms: { label: "Max latency", unit: "ms" },
    generator_cpu: { label: "Generator CPU", unit: "pct" },
    cpu_busy: { label: "CPU busy", unit: "pct", server: true },
    cpu_user: { label: "CPU user", unit: "pct", server: true },
    cpu_system: { label: "CPU system", unit: "pct", server: true },
    cpu_softirq: { label: "CPU softirq", unit: "pct", server: true },
    cpu_iowait: { label: "CPU iowait", unit: "pct", server: true },
    load1: { label: "Load average (1 min)", unit: "load", server: true },
    mem_used_bytes: { label: "Memory used", unit: "bytes", server: true },
    net_rx_bytes_per_s: { label: "Network rx", unit: "bytes_per_s", server: true },
    net_tx_bytes_per_s: { label: "Network tx", unit: "bytes_per_s", server: true },
    tcp_active_opens_per_s: { label: "TCP active opens", unit: "per_s", server: true },
    tcp_passive_opens_per_s: { label: "TCP passive opens", unit: "per_s", server: true },
    tcp_retrans_per_s: { label: "TCP retransmits", unit: "per_s", server: true },
    tcp_curr_estab: { label: "TCP established", unit: "count", server: true },
    tcp_time_wait: { label: "TCP TIME_WAIT", unit: "count", server: true },
    listen_overflows_per_s: { label: "Listen overflows", unit: "per_s", server: true },
    process_cpu: { label: "Process CPU", unit: "cores", server: true },
    process_rss_bytes: { label: "Process RSS", unit: "bytes", server: true },
    process_threads: { label: "Process threads", unit: "count", server: true },
    process_fds: { label: "Process open files", unit: "count", server: true },
    process_ctx_switches_per_s: { label: "Process context switches", unit: "per_s", server: true },
  };

  function metric(key) {
    return METRICS[key] || { label: key, unit: "count" };
  }

  function hasData(values) {
    return Array.isArray(values) && values.some(isNum);
  }

  // The series key a correlation names: "cpu_busy" -> cpu_busy, "p99" -> p99_ms.
  function seriesKey(name, series) {
    if (name in series) return name;
    if (name + "_ms" in series) return name + "_ms";
    return name;
  }

  function bottleneckText(b) {
    const names = {
      cpu: "CPU-bound",
      disk: "Disk-bound",
      network: "Network-bound",
      "lock-or-queue": "Lock- or queue-bound",
      client: "Client-bound (the generator was the limit)",
      "not-saturated": "Not saturated",
      undetermined: "Bottleneck undetermined",
    };
    return names[b] || (b ? "Bottleneck: " + b : "No bottleneck verdict");
  }

  function bottleneckKind(b) {
    if (b === "not-saturated") return "ok";
    if (b === "client") return "bad";
    if (b === "undetermined" || !b) return null;
    return "warn";
  }

  function stateKind(state) {
    return { completed: "ok", running: "info", aborted: "warn", failed: "bad" }[state] || null;
  }

  function severityKind(sev) {
    const s = str(sev).toLowerCase();
    if (s === "critical" || s === "error") return "bad";
    if (s === "warning" || s === "warn") return "warn";
    if (s === "info" || s === "notice") return "info";
    return null;
  }

  function checkKind(state) {
    const s = str(state).toUpperCase();
    if (s === "OK") return "ok";
    if (s === "WARNING") return "warn";
    if (s === "CRITICAL") return "bad";
    return null;
  }

  function loadText(stage) {
    if (isNum(stage.users)) return stage.users + (stage.users === 1 ? " user" : " users");
    if (isNum(stage.target_rate)) return fmtSig(stage.target_rate) + " tx/s offered";
    if (isNum(stage.load)) return "load " + fmtSig(stage.load);
    return "";
  }

  // ------------------------------------------------------------- page state

  const state = {
    options: { live: false, report_url: "" },
    report: null, // the document drawn last
    ctx: null, // derived values the chart hooks read (see context())
    xZoom: null, // {min, max} when the user zoomed the time charts, else null
    overlay: null, // {a, b}: series keys of the overlay chart
    generation: 0, // render counter, to find charts no longer drawn
    syncing: false, // true while one chart's zoom is copied to the others
    rendering: false,
    problems: [],
  };

  // id -> {u: uPlot, sig: string, time: bool, generation: number}
  const charts = new Map();

  function context(report) {
    const series = obj(report.series);
    const t = arr(series.t_s);
    const stages = arr(report.stages).filter(isObj);
    const knee = obj(report.knee);
    return {
      report: report,
      series: series,
      t: t,
      hasTime: hasData(t),
      stages: stages,
      kneeStage: knee.found === true && isNum(knee.stage) ? knee.stage : null,
      knee: knee,
      slo: obj(report.slo),
      usl: obj(report.usl),
    };
  }

  // --------------------------------------------------------- chart plumbing

  const FONT_FAMILY =
    'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", Arial, sans-serif';
  const AXIS_FONT = "11px " + FONT_FAMILY;
  const TIME_INCRS = [
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400,
  ];

  // Left/right axes as wide as their longest tick label.
  function axisSize(u, values, axisIdx, cycleNum) {
    const axis = u.axes[axisIdx];
    if (cycleNum > 1) return axis._size;
    let size = axis.ticks.size + axis.gap;
    const longest = (values || []).reduce(
      (acc, v) => (String(v).length > acc.length ? String(v) : acc),
      "",
    );
    if (longest !== "") {
      u.ctx.font = axis.font[0];
      size += u.ctx.measureText(longest).width / uPlot.pxRatio;
    }
    return Math.ceil(size) + 2;
  }

  function axis(extra) {
    return Object.assign(
      {
        stroke: "#475569",
        font: AXIS_FONT,
        labelFont: "600 11px " + FONT_FAMILY,
        grid: { stroke: "#edf1f5", width: 1 },
        ticks: { stroke: "#cbd5e1", width: 1, size: 4 },
        gap: 4,
      },
      extra,
    );
  }

  function timeAxis() {
    return axis({ space: 60, incrs: TIME_INCRS, values: (u, splits) => splits.map(fmtClock) });
  }

  // [min, max] of a y scale: from 0 (or below, for negative data) to a little above the data.
  function zeroBasedRange(extraMax) {
    return function (u, dmin, dmax) {
      let lo = isNum(dmin) ? Math.min(0, dmin) : 0;
      let hi = isNum(dmax) ? dmax : 1;
      if (isNum(extraMax)) hi = Math.max(hi, extraMax);
      if (hi <= lo) hi = lo + 1;
      return uPlot.rangeNum(lo, hi, 0.1, true);
    };
  }

  function signature(opts) {
    return JSON.stringify({
      s: opts.series.map((s) => [s.label, s.scale, s.stroke]),
      a: opts.axes.map((a) => [a.scale, a.side]),
      h: opts.height,
      k: opts.kind,
    });
  }

  // Draws `opts` with `data` into `host` (which is in the document, so it has
  // a width). A chart drawn before under the same id with the same series is
  // reused, keeping hidden series; otherwise a new uPlot is made.
  function mountChart(host, id, opts, data, isTime) {
    const sig = signature(opts);
    let entry = charts.get(id);
    if (entry && entry.sig === sig) {
      host.appendChild(entry.u.root);
      entry.u.setData(data, true);
      const width = Math.max(240, host.clientWidth);
      if (width !== entry.u.width) entry.u.setSize({ width: width, height: entry.u.height });
    } else {
      if (entry) entry.u.destroy();
      opts.width = Math.max(240, host.clientWidth || 600);
      entry = { u: new uPlot(opts, data, host), sig: sig, time: isTime };
      charts.set(id, entry);
    }
    entry.generation = state.generation;
    if (isTime && state.xZoom) {
      // A chart drawn while the others are zoomed joins their zoom.
      const wasSyncing = state.syncing;
      state.syncing = true;
      entry.u.setScale("x", state.xZoom);
      state.syncing = wasSyncing;
    }
    return entry.u;
  }

  function liveTimeCharts() {
    const list = [];
    charts.forEach((entry) => {
      if (entry.time && entry.generation === state.generation) list.push(entry.u);
    });
    return list;
  }

  // Zooming one time chart zooms them all; a double click resets them all.
  function onTimeScale(u, key) {
    if (key !== "x" || state.syncing || state.rendering) return;
    const min = u.scales.x.min;
    const max = u.scales.x.max;
    const xs = u.data[0];
    const full = xs.length === 0 || (min <= xs[0] && max >= xs[xs.length - 1]);
    state.xZoom = full ? null : { min: min, max: max };
    state.syncing = true;
    try {
      liveTimeCharts().forEach((other) => {
        if (other !== u) other.setScale("x", { min: min, max: max });
      });
    } finally {
      state.syncing = false;
    }
  }

  // Shades every other stage, marks the knee stage and draws stage boundaries
  // (behind the series); with `labels`, writes each stage's load at the top.
  function drawStages(u, labels) {
    const ctx = state.ctx;
    if (!ctx || ctx.stages.length === 0) return;
    const c = u.ctx;
    const px = uPlot.pxRatio;
    const b = u.bbox;
    c.save();
    c.beginPath();
    c.rect(b.left, b.top, b.width, b.height);
    c.clip();
    c.font = Math.round(10 * px) + "px " + FONT_FAMILY;
    c.textBaseline = "top";
    ctx.stages.forEach((s, i) => {
      if (!isNum(s.start_s) || !isNum(s.end_s)) return;
      const x0 = u.valToPos(s.start_s, "x", true);
      const x1 = u.valToPos(s.end_s, "x", true);
      const knee = ctx.kneeStage !== null && s.stage === ctx.kneeStage;
      if (knee) {
        c.fillStyle = "rgba(234, 88, 12, 0.07)";
        c.fillRect(x0, b.top, x1 - x0, b.height);
      } else if (i % 2 === 1) {
        c.fillStyle = "rgba(100, 116, 139, 0.05)";
        c.fillRect(x0, b.top, x1 - x0, b.height);
      }
      if (i > 0) {
        c.strokeStyle = "rgba(100, 116, 139, 0.45)";
        c.lineWidth = px;
        c.setLineDash([4 * px, 3 * px]);
        c.beginPath();
        c.moveTo(Math.round(x0) + 0.5, b.top);
        c.lineTo(Math.round(x0) + 0.5, b.top + b.height);
        c.stroke();
        c.setLineDash([]);
      }
      if (labels) {
        const load = loadText(s);
        const candidates = [
          (isNum(s.stage) ? "stage " + s.stage + " \u00b7 " : "") +
            load +
            (knee ? " \u00b7 knee" : ""),
          load + (knee ? " \u00b7 knee" : ""),
          load,
          isNum(s.users) ? String(s.users) : "",
        ];
        const room = x1 - x0 - 8 * px;
        const text = candidates.find((t) => t && c.measureText(t).width <= room);
        if (text) {
          c.fillStyle = knee ? "#c2410c" : "#64748b";
          c.fillText(text, Math.max(x0, b.left) + 4 * px, b.top + 4 * px);
        }
      }
    });
    c.restore();
  }

  // A horizontal dashed line at `value` on scale "y" with a label at its right end.
  function drawLevel(u, value, label, color) {
    if (!isNum(value)) return;
    const c = u.ctx;
    const px = uPlot.pxRatio;
    const b = u.bbox;
    const y = u.valToPos(value, "y", true);
    if (y < b.top || y > b.top + b.height) return;
    c.save();
    c.strokeStyle = color;
    c.lineWidth = 1.25 * px;
    c.setLineDash([6 * px, 4 * px]);
    c.beginPath();
    c.moveTo(b.left, Math.round(y) + 0.5);
    c.lineTo(b.left + b.width, Math.round(y) + 0.5);
    c.stroke();
    c.font = "600 " + Math.round(10 * px) + "px " + FONT_FAMILY;
    c.fillStyle = color;
    c.textAlign = "left";
    c.textBaseline = "bottom";
    c.fillText(label, b.left + 4 * px, y - 3 * px);
    c.restore();
  }

  // A vertical dashed line at `value` on scale "x" with a label at its top.
  function drawMark(u, value, label, color) {
    if (!isNum(value)) return;
    const c = u.ctx;
    const px = uPlot.pxRatio;
    const b = u.bbox;
    const x = u.valToPos(value, "x", true);
    if (x < b.left || x > b.left + b.width) return;
    c.save();
    c.strokeStyle = color;
    c.lineWidth = 1.25 * px;
    c.setLineDash([5 * px, 4 * px]);
    c.beginPath();
    c.moveTo(Math.round(x) + 0.5, b.top);
    c.lineTo(Math.round(x) + 0.5, b.top + b.height);
    c.stroke();
    c.font = "600 " + Math.round(10 * px) + "px " + FONT_FAMILY;
    c.fillStyle = color;
    c.textBaseline = "top";
    const w = c.measureText(label).width;
    const left = x + 4 * px + w > b.left + b.width;
    c.textAlign = left ? "right" : "left";
    c.fillText(label, left ? x - 4 * px : x + 4 * px, b.top + 4 * px);
    c.restore();
  }

  // A chart card: title, caption and a host the chart is drawn into.
  function chartCard(parent, id, title, caption, wide) {
    const host = el("div", { class: "chart-host" });
    const card = el(
      "div",
      { class: "card chart-card" + (wide ? " wide" : ""), "data-chart": id },
      el("h3", null, title),
      caption ? el("p", { class: "caption" }, caption) : null,
      host,
    );
    parent.appendChild(card);
    return host;
  }

  function emptyChart(host, text) {
    host.appendChild(el("div", { class: "chart-empty" }, text));
  }

  // Values of series `key` as numbers in display units (or null), as long as t.
  function column(key, mul) {
    const values = arr(state.ctx.series[key]);
    const n = state.ctx.t.length;
    const out = new Array(n);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      out[i] = isNum(v) ? (mul ? v * mul : v) : null;
    }
    return out;
  }

  // A chart over the run's time axis, in its own card.
  function timeChart(parent, spec) {
    const host = chartCard(parent, spec.id, spec.title, spec.caption, spec.wide);
    drawTimeChart(host, spec);
  }

  // Draws a time chart into `host`:
  //   spec.lines: [{key, color, right: bool, width, fill, dash, stepped, bars, hidden, label}]
  //   spec.percentAxis: the left axis shows 0..100% (more if the data goes above)
  //   spec.level: {value, label, color} a horizontal line on the left axis
  //   spec.stageLabels: write stage loads at the top
  //   spec.empty: what to say when no line has data
  function drawTimeChart(host, spec) {
    const ctx = state.ctx;
    const lines = spec.lines.filter((l) => hasData(ctx.series[l.key]));
    if (!ctx.hasTime || lines.length === 0) {
      emptyChart(host, spec.empty || "No data for this chart in this run.");
      return;
    }
    const data = [ctx.t.map((v) => (isNum(v) ? v : null))];
    const series = [{ label: "time", value: (u, v) => fmtClock(v) }];
    const unitOf = { y: null, y2: null };
    const colorsOf = { y: [], y2: [] };
    lines.forEach((l) => {
      const m = metric(l.key);
      const unit = UNITS[l.unit || m.unit] || UNITS.count;
      const scale = l.right ? "y2" : "y";
      unitOf[scale] = unitOf[scale] || unit;
      colorsOf[scale].push(l.color);
      data.push(column(l.key, unit.mul));
      const s = {
        label: l.label || m.label,
        scale: scale,
        stroke: l.color,
        width: l.width || 1.5,
        show: !l.hidden,
        spanGaps: false,
        value: (u, v) => (isNum(v) ? unit.legend(v) : DASH),
        points: { show: ctx.t.length <= 40, size: 4 },
      };
      if (l.fill) s.fill = l.fill;
      if (l.dash) s.dash = l.dash;
      if (l.stepped) s.paths = uPlot.paths.stepped({ align: 1 });
      if (l.bars) {
        s.paths = uPlot.paths.bars({ size: [0.7, 24] });
        s.fill = l.color + "cc";
        s.points = { show: false };
      }
      series.push(s);
    });
    const level = spec.level && isNum(spec.level.value) ? spec.level : null;
    const scales = {
      x: { time: false },
      y: {
        range: spec.percentAxis
          ? (u, dmin, dmax) => [0, Math.max(100, isNum(dmax) ? dmax : 0) * 1.04]
          : zeroBasedRange(level ? level.value * 1.15 : null),
      },
    };
    const axes = [
      timeAxis(),
      axis({
        scale: "y",
        size: axisSize,
        incrs: unitOf.y.incrs,
        values: (u, splits) => splits.map(unitOf.y.axis),
      }),
    ];
    if (colorsOf.y.length === 1 && unitOf.y2) axes[1].stroke = colorsOf.y[0];
    if (unitOf.y2) {
      scales.y2 = { range: zeroBasedRange(null) };
      axes.push(
        axis({
          scale: "y2",
          side: 1,
          size: axisSize,
          grid: { show: false },
          stroke: colorsOf.y2.length === 1 ? colorsOf.y2[0] : "#475569",
          incrs: unitOf.y2.incrs,
          values: (u, splits) => splits.map(unitOf.y2.axis),
        }),
      );
    }
    const opts = {
      kind: "time",
      height: spec.height || 230,
      series: series,
      scales: scales,
      axes: axes,
      legend: { live: true },
      focus: { alpha: 0.35 },
      cursor: {
        sync: { key: "tpslab-time", setSeries: false },
        drag: { x: true, y: false, setScale: true },
        focus: { prox: 24 },
      },
      hooks: {
        drawClear: [(u) => drawStages(u, spec.stageLabels)],
        draw: level ? [(u) => drawLevel(u, level.value, level.label, level.color)] : [],
        setScale: [onTimeScale],
      },
    };
    mountChart(host, spec.id, opts, data, true);
  }

  // ---------------------------------------------------------------- sections

  function section(root, id, title, lead, build) {
    const s = el(
      "section",
      { id: id },
      title ? el("h2", null, title) : null,
      lead ? el("p", { class: "lead" }, lead) : null,
    );
    root.appendChild(s);
    try {
      build(s);
    } catch (e) {
      const message = e && e.message ? e.message : String(e);
      s.appendChild(
        el("div", { class: "section-error" }, "This section could not be drawn: " + message),
      );
      state.problems.push((title || id) + ": " + message);
    }
  }

  function renderHeader(root, report, liveBadge) {
    const run = obj(report.run);
    const host = obj(run.host);
    const title = str(run.name) || str(run.id) || "Perf run";
    root.appendChild(
      el(
        "header",
        { class: "topbar" },
        el(
          "div",
          null,
          el("div", { class: "brand" }, "tpslab \u00b7 perf run report"),
          el("h1", { id: "run-title" }, title),
          el(
            "div",
            { class: "run-id" },
            el("span", { class: "mono", id: "run-id" }, str(run.id) || "run id unknown"),
            " ",
            run.state ? badge(str(run.state), stateKind(run.state)) : null,
          ),
        ),
        liveBadge,
      ),
    );
    const hostText = [
      str(host.hostname),
      isNum(host.cores) ? host.cores + " cores" : "",
      str(host.kernel) ? "Linux " + str(host.kernel) : "",
    ]
      .filter(Boolean)
      .join(" \u00b7 ");
    const items = [
      ["Target", str(run.target) || DASH],
      ["Server", str(run.server) || DASH],
      ["Started", fmtDate(run.started_at)],
      ["Duration", fmtDuration(run.duration_s)],
      ["Host", hostText || DASH],
      [
        "Agents",
        arr(run.agents).length
          ? arr(run.agents)
              .map((a) => str(obj(a).source_id) || "?")
              .join(", ")
          : DASH,
      ],
    ];
    root.appendChild(
      el(
        "dl",
        { class: "meta" },
        items.map((item) =>
          el("div", null, el("dt", null, item[0]), el("dd", { title: item[1] }, item[1])),
        ),
      ),
    );
  }

  function renderVerdict(root, report) {
    const v = obj(report.verdict);
    const valid = v.run_valid;
    const card = el(
      "div",
      { class: "card verdict" + (valid === false ? " valid-false" : ""), id: "verdict" },
      el(
        "div",
        { class: "badges" },
        badge(bottleneckText(v.bottleneck), bottleneckKind(v.bottleneck)),
        valid === true
          ? badge("valid run", "ok")
          : valid === false
            ? badge("run not valid", "bad")
            : badge("validity unknown"),
      ),
      el("p", { class: "sentence" }, str(v.summary) || "This report has no verdict."),
    );
    const evidence = arr(v.evidence).map(str).filter(Boolean);
    if (evidence.length)
      card.appendChild(
        el(
          "ul",
          null,
          evidence.map((e) => el("li", null, e)),
        ),
      );
    root.appendChild(card);
  }

  function kpi(label, value, unit, sub, kind) {
    return el(
      "div",
      { class: "card kpi" + (kind ? " " + kind : "") },
      el("div", { class: "label" }, label),
      el("div", { class: "value" }, value, unit ? el("span", { class: "unit" }, unit) : null),
      sub ? el("div", { class: "sub" }, sub) : null,
    );
  }

  function renderKeyNumbers(root, report, ctx) {
    const tiles = [];
    // Max TPS: the best stage, or the best second when there are no stages.
    let best = null;
    ctx.stages.forEach((s) => {
      if (isNum(s.tps) && (!best || s.tps > best.tps)) best = s;
    });
    if (best) {
      tiles.push(
        kpi(
          "Max TPS",
          fmtTps(best.tps),
          "tx/s",
          "stage " + str(best.stage) + (loadText(best) ? " \u00b7 " + loadText(best) : ""),
        ),
      );
    } else {
      const tps = arr(ctx.series.tps).filter(isNum);
      tiles.push(
        kpi(
          "Max TPS",
          tps.length ? fmtTps(Math.max.apply(null, tps)) : DASH,
          tps.length ? "tx/s" : "",
          tps.length ? "best second" : "no throughput data",
        ),
      );
    }

    const slo = ctx.slo;
    const sloStage = ctx.stages.find((st) => isNum(slo.stage) && st.stage === slo.stage);
    if (isNum(slo.p99_ms)) {
      if (isNum(slo.max_tps)) {
        tiles.push(
          kpi(
            "Max TPS under SLO",
            fmtTps(slo.max_tps),
            "tx/s",
            "p99 \u2264 " +
              fmtMs(slo.p99_ms) +
              (sloStage
                ? " \u00b7 at " + loadText(sloStage)
                : isNum(slo.at_load)
                  ? " \u00b7 at load " + fmtSig(slo.at_load)
                  : ""),
            "good",
          ),
        );
      } else {
        tiles.push(
          kpi(
            "Max TPS under SLO",
            "none",
            "",
            "no stage kept p99 \u2264 " + fmtMs(slo.p99_ms),
            "bad",
          ),
        );
      }
    } else {
      tiles.push(kpi("Max TPS under SLO", DASH, "", "no latency objective"));
    }

    const knee = ctx.knee;
    if (knee.found === true) {
      tiles.push(
        kpi(
          "Knee",
          fmtSig(knee.load),
          isNum(ctx.stages.find((s) => s.stage === knee.stage)?.users) ? "users" : "load",
          fmtTps(knee.tps) + " tx/s \u00b7 p99 " + fmtMs(knee.p99_ms),
        ),
      );
    } else {
      tiles.push(
        kpi(
          "Knee",
          knee.found === false ? "none" : DASH,
          "",
          knee.found === false ? "throughput kept scaling" : "not analyzed",
        ),
      );
    }

    const usl = ctx.usl;
    if (usl.ok === true && isNum(usl.peak_n)) {
      tiles.push(
        kpi(
          "USL peak N*",
          fmtSig(usl.peak_n),
          "",
          "X* " +
            fmtTps(usl.peak_tps) +
            " tx/s \u00b7 R\u00b2 " +
            (isNum(usl.r2) ? usl.r2.toFixed(3) : DASH),
        ),
      );
    } else if (usl.ok === true) {
      tiles.push(kpi("USL peak N*", "\u221e", "", "no retrograde region (\u03ba = 0)"));
    } else {
      tiles.push(kpi("USL peak N*", DASH, "", str(usl.message) || "no USL fit"));
    }

    const all = arr(report.spectrum).find((s) => obj(s).transaction === "");
    const p99 = all ? latencyAt(all.points, 99) : null;
    let count = 0;
    let errors = 0;
    arr(report.transactions).forEach((t) => {
      if (isNum(obj(t).count)) count += t.count;
      if (isNum(obj(t).errors)) errors += t.errors;
    });
    if (count === 0) {
      ctx.stages.forEach((s) => {
        if (isNum(s.count)) count += s.count;
        if (isNum(s.errors)) errors += s.errors;
      });
    }
    tiles.push(
      kpi(
        "p99 latency",
        p99 ? fmtSig(p99.ms) : DASH,
        p99 ? "ms" : "",
        p99 ? "whole run" + (p99.exact ? "" : ", interpolated") : "no latency spectrum",
      ),
    );
    tiles.push(
      kpi(
        "Errors",
        fmtInt(errors),
        "",
        count
          ? fmtRate(errors / count) + " of " + fmtInt(count) + " transactions"
          : "no transactions",
        errors > 0 ? "bad" : null,
      ),
    );

    const valid = obj(report.verdict).run_valid;
    tiles.push(
      kpi(
        "Run validity",
        valid === true ? "valid" : valid === false ? "not valid" : DASH,
        "",
        valid === false
          ? "see the verdict's evidence"
          : valid === true
            ? "per the USE verdict"
            : "no verdict",
        valid === true ? "good" : valid === false ? "bad" : null,
      ),
    );
    root.appendChild(el("div", { class: "kpis", id: "key-numbers" }, tiles));
  }

  // Latency at percentile `p` from spectrum points [[percentile, ms], ...]:
  // the point itself when the ladder has it, else interpolated between its
  // neighbours on HdrHistogram's 1/(1 - p) scale. Null when out of range.
  function latencyAt(points, p) {
    const pts = arr(points)
      .filter((x) => Array.isArray(x) && isNum(x[0]) && isNum(x[1]))
      .sort((a, b) => a[0] - b[0]);
    for (let i = 0; i < pts.length; i++) {
      if (pts[i][0] === p) return { ms: pts[i][1], exact: true };
      if (pts[i][0] > p && i > 0 && pts[i][0] < 100) {
        const x = (q) => -Math.log10(1 - q / 100);
        const f = (x(p) - x(pts[i - 1][0])) / (x(pts[i][0]) - x(pts[i - 1][0]));
        return { ms: pts[i - 1][1] + f * (pts[i][1] - pts[i - 1][1]), exact: false };
      }
    }
    return null;
  }

  function renderLoadSection(s, ctx) {
    if (!ctx.hasTime) {
      s.appendChild(el("div", { class: "notice" }, "No time series in this report."));
      return;
    }
    const grid = el("div", { class: "charts" });
    s.appendChild(grid);
    timeChart(grid, {
      id: "tps",
      title: "Throughput and active users",
      caption:
        "Completed transactions per second (left) and active users (right); shaded bands are stages.",
      wide: true,
      height: 260,
      stageLabels: true,
      lines: [
        { key: "tps", color: COLORS.blue, width: 2, fill: "rgba(37, 99, 235, 0.08)" },
        { key: "users", color: COLORS.slate, right: true, stepped: true, width: 1.5 },
      ],
    });
    const slo = ctx.slo;
    timeChart(grid, {
      id: "latency",
      title: "Latency percentiles",
      caption: "Per second, in ms. Max is hidden: click it in the legend to show it.",
      level: isNum(slo.p99_ms)
        ? { value: slo.p99_ms, label: "p99 objective " + fmtMs(slo.p99_ms), color: COLORS.red }
        : null,
      lines: [
        { key: "p50_ms", color: COLORS.green },
        { key: "p90_ms", color: COLORS.amber },
        { key: "p99_ms", color: COLORS.red, width: 2 },
        { key: "max_ms", color: COLORS.slate, dash: [4, 3], hidden: true },
      ],
    });
    timeChart(grid, {
      id: "errors",
      title: "Errors per second",
      caption: "Failed transactions per second, all classes.",
      empty: "No error counts in this run.",
      lines: [{ key: "errors_per_s", color: COLORS.red, bars: true }],
    });
  }

  function renderServerSection(s, ctx) {
    const serverKeys = Object.keys(METRICS).filter((k) => METRICS[k].server);
    if (!ctx.hasTime || !serverKeys.some((k) => hasData(ctx.series[k]))) {
      s.appendChild(
        el(
          "div",
          { class: "notice", id: "no-server-metrics" },
          "No server metrics in this run: no monitor agent reported host or process samples.",
        ),
      );
      return;
    }
    const grid = el("div", { class: "charts" });
    s.appendChild(grid);
    timeChart(grid, {
      id: "cpu",
      title: "Host CPU",
      caption: "Busy share of all cores and its parts (left, %); 1-minute load average (right).",
      wide: true,
      stageLabels: true,
      percentAxis: true,
      lines: [
        { key: "cpu_busy", color: COLORS.blue, width: 2, fill: "rgba(37, 99, 235, 0.07)" },
        { key: "cpu_user", color: COLORS.green },
        { key: "cpu_system", color: COLORS.orange },
        { key: "cpu_softirq", color: COLORS.purple },
        { key: "cpu_iowait", color: COLORS.red },
        { key: "load1", color: COLORS.slate, right: true, dash: [4, 3] },
      ],
    });
    timeChart(grid, {
      id: "process-cpu",
      title: "Server process and generator CPU",
      caption:
        "Cores used by the watched server process (left); generator CPU, share of its cores (right).",
      empty: "No watched server process and no generator CPU in this run.",
      lines: [
        { key: "process_cpu", color: COLORS.teal, width: 2 },
        { key: "generator_cpu", color: COLORS.amber, right: true, dash: [4, 3] },
      ],
    });
    timeChart(grid, {
      id: "memory",
      title: "Memory",
      caption: "Host memory used (left) and the server process's resident set (right).",
      lines: [
        { key: "mem_used_bytes", color: COLORS.blue },
        { key: "process_rss_bytes", color: COLORS.teal, right: true },
      ],
    });
    timeChart(grid, {
      id: "network",
      title: "Network",
      caption: "Bytes per second summed over all interfaces, loopback included.",
      lines: [
        { key: "net_rx_bytes_per_s", color: COLORS.blue },
        { key: "net_tx_bytes_per_s", color: COLORS.orange, dash: [5, 3] },
      ],
    });
    timeChart(grid, {
      id: "tcp-rates",
      title: "TCP events",
      caption:
        "Connection opens per second (left); retransmits and listen-queue overflows per second (right).",
      lines: [
        { key: "tcp_active_opens_per_s", color: COLORS.blue },
        { key: "tcp_passive_opens_per_s", color: COLORS.green, dash: [5, 3] },
        { key: "tcp_retrans_per_s", color: COLORS.red, right: true },
        { key: "listen_overflows_per_s", color: COLORS.purple, right: true, width: 2 },
      ],
    });
    timeChart(grid, {
      id: "tcp-states",
      title: "TCP connections",
      caption: "Established connections (left) and sockets in TIME_WAIT (right).",
      lines: [
        { key: "tcp_curr_estab", color: COLORS.blue },
        { key: "tcp_time_wait", color: COLORS.orange, right: true },
      ],
    });
    timeChart(grid, {
      id: "process",
      title: "Server process",
      caption: "Open files and threads (left); context switches per second (right).",
      empty: "No watched server process in this run.",
      lines: [
        { key: "process_fds", color: COLORS.blue },
        { key: "process_threads", color: COLORS.green },
        { key: "process_ctx_switches_per_s", color: COLORS.purple, right: true },
      ],
    });
  }

  // ------------------------------------------------------- overlay & correlate

  function overlayChoices(ctx) {
    const keys = Object.keys(METRICS).filter((k) => hasData(ctx.series[k]));
    Object.keys(ctx.series).forEach((k) => {
      if (k !== "t_s" && k !== "stage" && !(k in METRICS) && hasData(ctx.series[k])) keys.push(k);
    });
    return keys;
  }

  function sortedCorrelations(report) {
    return arr(report.correlations)
      .filter(isObj)
      .slice()
      .sort((a, b) => (isNum(b.r) ? Math.abs(b.r) : -1) - (isNum(a.r) ? Math.abs(a.r) : -1));
  }

  function renderOverlaySection(s, report, ctx) {
    const choices = overlayChoices(ctx);
    if (!ctx.hasTime || choices.length === 0) {
      s.appendChild(el("div", { class: "notice" }, "No time series to overlay in this report."));
      return;
    }
    const correlations = sortedCorrelations(report);
    const pick = state.overlay;
    if (!pick || choices.indexOf(pick.a) < 0 || choices.indexOf(pick.b) < 0) {
      const top = correlations.find(
        (c) =>
          choices.indexOf(seriesKey(str(c.metric), ctx.series)) >= 0 &&
          choices.indexOf(seriesKey(str(c.against), ctx.series)) >= 0,
      );
      if (top) {
        state.overlay = {
          a: seriesKey(str(top.against), ctx.series),
          b: seriesKey(str(top.metric), ctx.series),
        };
      } else {
        const a = choices.indexOf("tps") >= 0 ? "tps" : choices[0];
        const b =
          choices.find((k) => k !== a && metric(k).server) || choices.find((k) => k !== a) || a;
        state.overlay = { a: a, b: b };
      }
    }

    const layout = el("div", { class: "overlay" });
    s.appendChild(layout);
    const left = el("div", { class: "card chart-card", "data-chart": "overlay" });
    layout.appendChild(left);

    function select(which, color) {
      const sel = el(
        "select",
        {
          id: "overlay-" + which,
          onchange: () => {
            state.overlay[which] = sel.value;
            sel.blur();
            drawOverlay();
          },
        },
        choices.map((k) => el("option", { value: k }, metric(k).label)),
      );
      sel.value = state.overlay[which];
      return el(
        "label",
        null,
        el("span", { class: "swatch", style: "background:" + color }),
        which === "a" ? "Left" : "Right",
        sel,
      );
    }
    left.appendChild(el("h3", null, "Overlay two series"));
    left.appendChild(
      el("div", { class: "picker" }, select("a", COLORS.blue), select("b", COLORS.orange)),
    );
    const caption = el("p", { class: "caption" });
    left.appendChild(caption);
    const host = el("div", { class: "chart-host" });
    left.appendChild(host);

    const right = el("div", { class: "card table-wrap" });
    layout.appendChild(right);
    let rows = [];
    if (correlations.length) {
      const t = table(
        [
          {
            title: "Metric",
            text: true,
            cell: (c) => metric(seriesKey(str(c.metric), ctx.series)).label,
          },
          {
            title: "Against",
            text: true,
            cell: (c) => metric(seriesKey(str(c.against), ctx.series)).label,
          },
          {
            title: "Lag",
            hint: "lag of the metric in seconds",
            cell: (c) => (isNum(c.lag_s) ? c.lag_s + " s" : DASH),
          },
          { title: "r", cell: (c) => (isNum(c.r) ? c.r.toFixed(2) : DASH) },
          { title: "", cell: (c) => rBar(c.r) },
        ],
        correlations,
      );
      t.classList.add("corr-table");
      t.id = "correlations";
      rows = Array.prototype.slice.call(t.tBodies[0].rows);
      rows.forEach((tr, i) => {
        const c = correlations[i];
        tr.title = "Show these two series in the overlay chart";
        tr.addEventListener("click", () => {
          state.overlay = {
            a: seriesKey(str(c.against), ctx.series),
            b: seriesKey(str(c.metric), ctx.series),
          };
          document.getElementById("overlay-a").value = state.overlay.a;
          document.getElementById("overlay-b").value = state.overlay.b;
          drawOverlay();
        });
      });
      right.appendChild(el("h3", { class: "card-title" }, "Correlations, strongest first"));
      right.appendChild(
        el(
          "p",
          { class: "caption hint" },
          "Lagged Pearson r of server metrics against TPS and p99. Click a row to overlay it.",
        ),
      );
      right.appendChild(t);
    } else {
      right.appendChild(el("p", { class: "note" }, "No correlations in this report."));
    }

    function drawOverlay() {
      const o = state.overlay;
      const match = correlations.find(
        (c) =>
          seriesKey(str(c.metric), ctx.series) === o.b &&
          seriesKey(str(c.against), ctx.series) === o.a,
      );
      caption.textContent =
        metric(o.a).label +
        " (left) and " +
        metric(o.b).label +
        " (right)" +
        (match && isNum(match.r)
          ? ": r = " + match.r.toFixed(2) + " at lag " + str(match.lag_s) + " s."
          : ".");
      rows.forEach((tr, i) => {
        const c = correlations[i];
        tr.classList.toggle(
          "selected",
          seriesKey(str(c.metric), ctx.series) === o.b &&
            seriesKey(str(c.against), ctx.series) === o.a,
        );
      });
      host.replaceChildren();
      const lines = [{ key: o.a, color: COLORS.blue, width: 2 }];
      if (o.b !== o.a) lines.push({ key: o.b, color: COLORS.orange, width: 2, right: true });
      drawTimeChart(host, { id: "overlay", lines: lines, stageLabels: true, height: 260 });
    }
    drawOverlay();
  }

  function rBar(r) {
    const bar = el("div", { class: "rbar" });
    if (isNum(r)) {
      const w = Math.min(1, Math.abs(r)) * 50;
      const span = el("span", {
        style:
          "left:" +
          (r >= 0 ? 50 : 50 - w) +
          "%;width:" +
          w +
          "%;background:" +
          (r >= 0 ? COLORS.blue : COLORS.orange),
      });
      bar.appendChild(span);
    }
    return bar;
  }

  // --------------------------------------------------------- latency spectrum

  // HdrHistogram's x axis: percentile p sits at 1 / (1 - p/100), on a log
  // scale, so 90%, 99%, 99.9% are evenly spaced. 100% sits one decade past
  // the highest finite point.
  function renderSpectrumSection(s, report) {
    const spectra = arr(report.spectrum).filter((x) => isObj(x) && arr(x.points).length);
    const grid = el("div", { class: "charts one" });
    s.appendChild(grid);
    const host = chartCard(
      grid,
      "spectrum",
      "Latency by percentile",
      "Latency (ms) at each percentile; the x axis stretches the tail like HdrHistogram's plots.",
      true,
    );
    if (spectra.length === 0) {
      emptyChart(host, "No latency spectrum in this report.");
      return;
    }
    let maxFinite = 1;
    spectra.forEach((sp) =>
      arr(sp.points).forEach((p) => {
        if (Array.isArray(p) && isNum(p[0]) && p[0] < 100 && p[0] >= 0)
          maxFinite = Math.max(maxFinite, 1 / (1 - p[0] / 100));
      }),
    );
    const cap = maxFinite * 10;
    const toX = (p) => (p >= 100 ? cap : 1 / (1 - p / 100));
    const toP = (x) => (x >= cap * 0.999 ? 100 : 100 * (1 - 1 / x));
    const tables = spectra.map((sp) => {
      const byX = new Map();
      arr(sp.points).forEach((p) => {
        if (Array.isArray(p) && isNum(p[0]) && p[0] >= 0 && isNum(p[1]))
          byX.set(toX(Math.min(100, p[0])), p[1]);
      });
      const xs = Array.from(byX.keys()).sort((a, b) => a - b);
      return [xs, xs.map((x) => byX.get(x))];
    });
    const data = uPlot.join(tables);
    const series = [
      { label: "percentile", value: (u, v) => (isNum(v) ? fmtPercentile(toP(v)) : DASH) },
    ];
    spectra.forEach((sp, i) => {
      const all = sp.transaction === "";
      series.push({
        label: all ? "all transactions" : str(sp.transaction),
        stroke: all
          ? COLORS.ink
          : PALETTE[(i - (spectra[0].transaction === "" ? 1 : 0)) % PALETTE.length],
        width: all ? 2.25 : 1.5,
        spanGaps: true,
        points: { show: true, size: 4 },
        value: (u, v) => fmtMs(v),
      });
    });
    const opts = {
      kind: "spectrum",
      height: 300,
      series: series,
      scales: {
        x: {
          time: false,
          distr: 3,
          log: 10,
          // The full ladder at first, the dragged selection when zoomed.
          range: (u, min, max) => [
            isNum(min) && min >= 1 ? min : 1,
            isNum(max) && max > 1 ? max : cap,
          ],
        },
        y: { range: zeroBasedRange(null) },
      },
      axes: [
        axis({
          space: 50,
          splits: (u, axisIdx, min, max) => {
            const out = [];
            for (let d = 1; d < cap * 0.5; d *= 10)
              if (d >= min * 0.999 && d <= max * 1.001) out.push(d);
            if (cap >= min && cap <= max * 1.001) out.push(cap);
            return out;
          },
          // uPlot's log axes blank ticks that are not powers of 10; keep the "max" tick.
          filter: (u, splits) => splits,
          values: (u, splits) =>
            splits.map((x) =>
              !isNum(x) ? "" : x >= cap * 0.999 ? "max" : Number(toP(x).toFixed(6)) + "%",
            ),
          label: "percentile",
          labelSize: 22,
        }),
        axis({ size: axisSize, values: (u, splits) => splits.map((v) => fmtAxis(v) + " ms") }),
      ],
      legend: { live: true },
      cursor: { drag: { x: true, y: false }, focus: { prox: 24 } },
      focus: { alpha: 0.35 },
    };
    mountChart(host, "spectrum", opts, data, false);
  }

  // ------------------------------------------------------------------- USL

  function renderUslSection(s, report, ctx) {
    const usl = ctx.usl;
    const layout = el("div", { class: "charts one" });
    s.appendChild(layout);
    const host = chartCard(
      layout,
      "usl",
      "Throughput against load",
      "Measured stages (points) and the Universal Scalability Law fit X(N) = \u03bbN / (1 + \u03c3(N\u22121) + \u03baN(N\u22121)).",
      true,
    );
    const measured = ctx.stages.filter((st) => isNum(st.load) && isNum(st.tps));
    const curve = arr(usl.curve).filter((p) => Array.isArray(p) && isNum(p[0]) && isNum(p[1]));
    if (measured.length === 0 && curve.length === 0) {
      emptyChart(host, "No stages with load and throughput in this report.");
      return;
    }
    const pairs = (points) => {
      const byX = new Map();
      points.forEach((p) => byX.set(p[0], p[1]));
      const xs = Array.from(byX.keys()).sort((a, b) => a - b);
      return [xs, xs.map((x) => byX.get(x))];
    };
    const tables = [];
    const series = [{ label: "load", value: (u, v) => fmtSig(v) }];
    const knee = ctx.knee;
    if (curve.length) {
      tables.push(pairs(curve));
      series.push({
        label: "USL fit",
        stroke: COLORS.blue,
        width: 2,
        spanGaps: true,
        points: { show: false },
        value: (u, v) => (isNum(v) ? fmtTps(v) + " tx/s" : DASH),
      });
    }
    if (measured.length) {
      tables.push(pairs(measured.map((st) => [st.load, st.tps])));
      series.push({
        label: "measured",
        stroke: COLORS.orange,
        fill: COLORS.orange,
        paths: () => null,
        points: { show: true, size: 9, width: 1, space: 0, fill: COLORS.orange },
        value: (u, v) => (isNum(v) ? fmtTps(v) + " tx/s" : DASH),
      });
    }
    if (knee.found === true && isNum(knee.load) && isNum(knee.tps)) {
      tables.push([[knee.load], [knee.tps]]);
      series.push({
        label: "knee",
        stroke: COLORS.red,
        paths: () => null,
        points: { show: true, size: 15, width: 2.5, space: 0, fill: "rgba(255,255,255,0)" },
        value: (u, v) => (isNum(v) ? fmtTps(v) + " tx/s" : DASH),
      });
    }
    const data = tables.length === 1 ? [tables[0][0], tables[0][1]] : uPlot.join(tables);
    const peak = usl.ok === true && isNum(usl.peak_n) ? usl.peak_n : null;
    const users = ctx.stages.some((st) => isNum(st.users));
    const opts = {
      kind: "usl",
      height: 300,
      series: series,
      scales: {
        x: {
          time: false,
          range: (u, dmin, dmax) => [0, uPlot.rangeNum(0, isNum(dmax) ? dmax : 1, 0.05, true)[1]],
        },
        y: { range: zeroBasedRange(null) },
      },
      axes: [
        axis({
          label: users ? "active users (N)" : "load (N)",
          labelSize: 22,
          values: (u, splits) => splits.map(fmtAxis),
        }),
        axis({ size: axisSize, values: (u, splits) => splits.map((v) => fmtAxis(v)) }),
      ],
      legend: { live: true },
      cursor: { drag: { x: false, y: false }, focus: { prox: 24 } },
      focus: { alpha: 0.35 },
      hooks: {
        draw: [
          (u) => {
            if (peak !== null)
              drawMark(
                u,
                peak,
                "N* = " +
                  fmtSig(peak) +
                  (isNum(usl.peak_tps) ? ", X* = " + fmtTps(usl.peak_tps) + " tx/s" : ""),
                COLORS.purple,
              );
            if (knee.found === true && isNum(knee.load)) drawMark(u, knee.load, "knee", COLORS.red);
          },
        ],
      },
    };
    mountChart(host, "usl", opts, data, false);

    const facts = [
      ["\u03bb (one user)", isNum(usl.lambda) ? fmtTps(usl.lambda) + " tx/s" : DASH],
      ["\u03c3 (contention)", isNum(usl.sigma) ? fmtSig(usl.sigma) : DASH],
      ["\u03ba (coherency)", isNum(usl.kappa) ? fmtSig(usl.kappa) : DASH],
      ["N* (peak load)", isNum(usl.peak_n) ? fmtSig(usl.peak_n) : DASH],
      ["X* (peak TPS)", isNum(usl.peak_tps) ? fmtTps(usl.peak_tps) + " tx/s" : DASH],
      ["R\u00b2", isNum(usl.r2) ? usl.r2.toFixed(3) : DASH],
    ];
    const card = host.parentNode;
    card.appendChild(
      el(
        "dl",
        { class: "meta usl-facts" },
        facts.map((f) => el("div", null, el("dt", null, f[0]), el("dd", null, f[1]))),
      ),
    );
    if (usl.ok !== true)
      card.appendChild(
        el(
          "p",
          { class: "note" },
          "No USL fit" + (str(usl.message) ? ": " + str(usl.message) : "."),
        ),
      );
  }

  // ----------------------------------------------------------------- network

  // report.network (`analyzer run --capture`, docs/perf-run.md): the wire's
  // view beside the client's, the capture's command latencies and TCP health.
  function renderNetworkSection(s, network) {
    const capture = obj(network.capture);
    if (str(network.error)) {
      s.appendChild(
        el(
          "div",
          { class: "section-error" },
          "The capture could not be analyzed: " + str(network.error),
        ),
      );
      return;
    }
    if (capture.cut === true)
      s.appendChild(
        el(
          "div",
          { class: "notice", id: "capture-cut" },
          "The capture reached its size limit of " +
            fmtInt(capture.max_mb) +
            " MB: " +
            fmtInt(capture.not_written) +
            " later packets were not written, so the figures below cover the run's beginning only.",
        ),
      );
    if (isNum(capture.kernel_drops) && capture.kernel_drops > 0)
      s.appendChild(
        el(
          "div",
          { class: "notice", id: "capture-drops" },
          "The kernel dropped " +
            fmtInt(capture.kernel_drops) +
            " packets: some exchanges are missing.",
        ),
      );

    const compare = arr(network.client_vs_wire).filter(isObj);
    const layout = el("div", { class: "charts one" });
    s.appendChild(layout);
    const host = chartCard(
      layout,
      "wire-latency",
      "Exchange latency percentiles, client and wire",
      "Per loadgen step: the client's p50 and p99 (dashed) beside the same exchange timed on the wire (solid), in ms on a log scale.",
      true,
    );
    const ops = [];
    const seen = new Set();
    compare.forEach((row) => {
      if (!seen.has(row.wire)) {
        seen.add(row.wire);
        ops.push(row);
      }
    });
    if (ops.length === 0) {
      emptyChart(host, "No loadgen step matched an exchange in the capture.");
    } else {
      const labels = ["p50", "p90", "p99", "max"];
      const keys = ["p50_ms", "p90_ms", "p99_ms", "max_ms"];
      const data = [labels.map((_, i) => i)];
      const series = [
        { label: "percentile", value: (u, v) => (isNum(v) ? labels[v] || "" : DASH) },
      ];
      ops.forEach((row, i) => {
        const color = PALETTE[i % PALETTE.length];
        const wire = obj(row.wire_ms);
        const client = obj(row.client_ms);
        data.push(keys.map((k) => (isNum(wire[k]) && wire[k] > 0 ? wire[k] : null)));
        series.push({
          label: str(row.wire) + " (wire)",
          stroke: color,
          width: 2,
          spanGaps: true,
          points: { show: true, size: 6 },
          value: (u, v) => (isNum(v) ? fmtMs(v) + " ms" : DASH),
        });
        data.push(keys.map((k) => (isNum(client[k]) && client[k] > 0 ? client[k] : null)));
        series.push({
          label: str(row.step) + " (client)",
          stroke: color,
          width: 1.5,
          dash: [6, 4],
          spanGaps: true,
          points: { show: true, size: 6 },
          value: (u, v) => (isNum(v) ? fmtMs(v) + " ms" : DASH),
        });
      });
      const opts = {
        kind: "wire-latency",
        height: 280,
        series: series,
        scales: {
          x: { time: false, range: () => [-0.2, labels.length - 0.8] },
          // Logarithmic: the max is often 10-100x the p50.
          y: { distr: 3, log: 10 },
        },
        axes: [
          axis({
            splits: () => labels.map((_, i) => i),
            values: (u, splits) => splits.map((v) => labels[v] || ""),
          }),
          axis({
            size: axisSize,
            label: "ms",
            labelSize: 18,
            values: (u, splits) => splits.map(fmtAxis),
          }),
        ],
        legend: { live: true },
        cursor: { drag: { x: false, y: false }, focus: { prox: 24 } },
        focus: { alpha: 0.35 },
      };
      mountChart(host, "wire-latency", opts, data, false);
    }

    const wireTable = table(
      [
        { title: "loadgen step", text: true, cell: (r) => str(r.step) || DASH },
        { title: "On the wire", text: true, cell: (r) => str(r.wire) || DASH },
        { title: "Client count", cell: (r) => fmtInt(obj(r.client_ms).count) },
        { title: "Client p50", cell: (r) => fmtMs(obj(r.client_ms).p50_ms) },
        { title: "Client p99", cell: (r) => fmtMs(obj(r.client_ms).p99_ms) },
        { title: "Wire count", cell: (r) => fmtInt(obj(r.wire_ms).count) },
        { title: "Wire p50", cell: (r) => fmtMs(obj(r.wire_ms).p50_ms) },
        { title: "Wire p90", cell: (r) => fmtMs(obj(r.wire_ms).p90_ms) },
        { title: "Wire p99", cell: (r) => fmtMs(obj(r.wire_ms).p99_ms) },
        { title: "Wire max", cell: (r) => fmtMs(obj(r.wire_ms).max_ms) },
      ],
      compare,
    );
    wireTable.id = "wire-vs-client";
    s.appendChild(el("h3", null, "Client against wire"));
    s.appendChild(
      el(
        "p",
        { class: "caption" },
        "connect \u2248 SYN to the 220 greeting; login \u2248 USER to PASS's reply; upload \u2248 EPSV to STOR's 226; download \u2248 EPSV to RETR's 226; quit \u2248 QUIT to its reply. Wire figures cover every session; the difference is the client's own time.",
      ),
    );
    s.appendChild(el("div", { class: "card table-wrap" }, wireTable));

    const commands = arr(network.commands).filter(isObj);
    const commandTable = table(
      [
        { title: "Command", text: true, cell: (r) => str(r.command) || DASH },
        { title: "Count", cell: (r) => fmtInt(r.count) },
        {
          title: "Errors",
          cell: (r) => fmtInt(r.errors),
          cls: (r) => (r.errors > 0 ? "over" : null),
        },
        {
          title: "No reply",
          cell: (r) => fmtInt(r.unanswered),
          cls: (r) => (r.unanswered > 0 ? "over" : null),
        },
        { title: "Mean", cell: (r) => fmtMs(r.mean_ms) },
        { title: "p50", cell: (r) => fmtMs(r.p50_ms) },
        { title: "p90", cell: (r) => fmtMs(r.p90_ms) },
        { title: "p99", cell: (r) => fmtMs(r.p99_ms) },
        { title: "Max", cell: (r) => fmtMs(r.max_ms) },
      ],
      commands,
    );
    commandTable.id = "wire-commands";
    s.appendChild(el("h3", null, "Server response time per command"));
    s.appendChild(
      el(
        "p",
        { class: "caption" },
        "From the packet completing the command to the first reply line, ms.",
      ),
    );
    s.appendChild(el("div", { class: "card table-wrap" }, commandTable));

    const handshake = obj(network.handshake);
    const tcp = obj(network.tcp);
    const transfers = obj(network.transfers);
    const facts = [
      ["Packets captured", fmtInt(capture.packets_written)],
      ["Dropped by the kernel", fmtInt(capture.kernel_drops)],
      ["Capture size", fmtBytes(capture.bytes)],
      ["FTP sessions", fmtInt(network.sessions)],
      ["TCP connections", fmtInt(network.connections)],
      [
        "Transfers",
        fmtInt(transfers.count) +
          (isNum(transfers.failed) && transfers.failed > 0
            ? " (" + fmtInt(transfers.failed) + " not complete)"
            : ""),
      ],
      ["Handshake p50 / p99", fmtMs(handshake.p50_ms) + " / " + fmtMs(handshake.p99_ms) + " ms"],
      [
        "Retransmissions",
        fmtInt(
          (tcp.retransmissions || 0) +
            (tcp.fast_retransmissions || 0) +
            (tcp.spurious_retransmissions || 0),
        ),
      ],
      ["Duplicate ACKs", fmtInt(tcp.duplicate_acks)],
      ["Zero windows", fmtInt(tcp.zero_windows)],
      ["Resets", fmtInt(tcp.resets)],
      ["Analysis time", isNum(capture.analysis_s) ? capture.analysis_s.toFixed(2) + " s" : DASH],
    ];
    s.appendChild(el("h3", null, "TCP health"));
    s.appendChild(
      el(
        "dl",
        { class: "meta", id: "tcp-health" },
        facts.map((f) => el("div", null, el("dt", null, f[0]), el("dd", null, f[1]))),
      ),
    );
  }

  // ------------------------------------------------------------------ tables

  function renderStageTable(s, report, ctx) {
    if (ctx.stages.length === 0) {
      s.appendChild(el("div", { class: "notice" }, "No stages in this report."));
      return;
    }
    const little = new Map();
    arr(obj(report.littles_law).stages).forEach((l) => {
      if (isObj(l) && isNum(l.stage)) little.set(l.stage, l);
    });
    const slo = ctx.slo;
    const overSlo = (v) => (isNum(slo.p99_ms) && isNum(v) && v > slo.p99_ms ? "over" : null);
    const t = table(
      [
        {
          title: "Stage",
          text: true,
          cell: (st) => [
            str(st.stage),
            st.stage === ctx.kneeStage ? el("span", { class: "tag" }, "knee") : null,
          ],
        },
        { title: "Load", text: true, cell: (st) => loadText(st) || DASH },
        { title: "Time", cell: (st) => fmtClock(st.start_s) + "\u2013" + fmtClock(st.end_s) },
        { title: "TPS", cell: (st) => fmtTps(st.tps) },
        { title: "Count", cell: (st) => fmtInt(st.count) },
        {
          title: "Errors",
          cell: (st) => fmtInt(st.errors),
          cls: (st) => (st.errors > 0 ? "over" : null),
        },
        { title: "Err rate", cell: (st) => fmtRate(st.error_rate) },
        { title: "Mean", cell: (st) => fmtMs(st.mean_ms) },
        { title: "p50", cell: (st) => fmtMs(st.p50_ms) },
        { title: "p90", cell: (st) => fmtMs(st.p90_ms) },
        { title: "p99", cell: (st) => fmtMs(st.p99_ms), cls: (st) => overSlo(st.p99_ms) },
        { title: "p99.9", cell: (st) => fmtMs(st.p999_ms) },
        { title: "Max", cell: (st) => fmtMs(st.max_ms) },
        {
          title: "Host CPU",
          hint: "busy share of all cores",
          cell: (st) => fmtPct(st.server_cpu, 0),
        },
        {
          title: "Proc CPU",
          hint: "cores used by the watched server process",
          cell: (st) => (isNum(st.process_cpu) ? st.process_cpu.toFixed(2) : DASH),
        },
        {
          title: "Gen CPU",
          hint: "generator CPU, share of its cores",
          cell: (st) => fmtPct(st.generator_cpu, 0),
        },
        {
          title: "L meas.",
          hint: "Little's law: measured concurrency",
          cell: (st) =>
            little.has(st.stage) ? fmtSig(little.get(st.stage).measured_concurrency) : DASH,
        },
        {
          title: "L = X\u00b7R",
          hint: "Little's law: concurrency predicted from TPS and latency",
          cell: (st) => (little.has(st.stage) ? fmtSig(little.get(st.stage).predicted) : DASH),
        },
      ],
      ctx.stages,
      (st) => (st.stage === ctx.kneeStage ? "highlight" : null),
    );
    t.id = "stages";
    s.appendChild(el("div", { class: "card table-wrap" }, t));
    const ll = obj(report.littles_law);
    if (ll.ok === false && str(ll.message))
      s.appendChild(el("p", { class: "note" }, "Little's law check: " + str(ll.message)));
  }

  function renderTransactionTable(s, report) {
    const txs = arr(report.transactions).filter(isObj);
    if (txs.length === 0) {
      s.appendChild(el("div", { class: "notice" }, "No transactions in this report."));
      return;
    }
    const rows = [];
    txs.forEach((tx) => {
      rows.push({ kind: "tx", v: tx });
      arr(tx.steps)
        .filter(isObj)
        .forEach((step) => rows.push({ kind: "step", v: step }));
    });
    const classes = (v) =>
      Object.keys(obj(v.errors_by_class))
        .map((k) => k + " " + fmtInt(v.errors_by_class[k]))
        .join(", ");
    const t = table(
      [
        { title: "Transaction / step", text: true, cell: (r) => str(r.v.name) || DASH },
        { title: "Count", cell: (r) => fmtInt(r.v.count) },
        { title: "TPS", cell: (r) => fmtTps(r.v.tps) },
        {
          title: "Errors",
          cell: (r) => fmtInt(r.v.errors),
          cls: (r) => (r.v.errors > 0 ? "over" : null),
        },
        {
          title: "Err rate",
          cell: (r) =>
            r.kind === "tx"
              ? fmtRate(r.v.error_rate)
              : isNum(r.v.errors) && r.v.count > 0
                ? fmtRate(r.v.errors / r.v.count)
                : DASH,
        },
        { title: "Mean", cell: (r) => fmtMs(r.v.mean_ms) },
        { title: "p50", cell: (r) => fmtMs(r.v.p50_ms) },
        { title: "p90", cell: (r) => fmtMs(r.v.p90_ms) },
        { title: "p99", cell: (r) => fmtMs(r.v.p99_ms) },
        { title: "p99.9", cell: (r) => fmtMs(r.v.p999_ms) },
        { title: "Max", cell: (r) => fmtMs(r.v.max_ms) },
        {
          title: "Errors by class",
          text: true,
          wrap: true,
          cell: (r) => classes(r.v) || (r.kind === "tx" ? DASH : ""),
        },
      ],
      rows,
      (r) => (r.kind === "step" ? "step" : null),
    );
    t.id = "transactions";
    s.appendChild(el("div", { class: "card table-wrap" }, t));
  }

  function renderFindings(s, report) {
    const findings = arr(report.findings)
      .filter(isObj)
      .slice()
      .sort((a, b) => (isNum(a.t_s) ? a.t_s : 1e18) - (isNum(b.t_s) ? b.t_s : 1e18));
    const checks = arr(report.checks).filter(isObj);
    const cols = el("div", { class: "two-col" });
    s.appendChild(cols);
    const left = el(
      "div",
      { class: "card table-wrap" },
      el("h3", { class: "card-title" }, "Findings"),
    );
    cols.appendChild(left);
    if (findings.length) {
      const t = table(
        [
          { title: "Time", cell: (f) => fmtClock(f.t_s) },
          {
            title: "Severity",
            text: true,
            cell: (f) => badge(str(f.severity) || "?", severityKind(f.severity)),
          },
          { title: "Kind", text: true, cell: (f) => str(f.kind) || DASH },
          { title: "Message", text: true, wrap: true, cell: (f) => str(f.message) },
        ],
        findings,
      );
      t.id = "findings";
      left.appendChild(t);
    } else {
      left.appendChild(el("p", { class: "note" }, "No findings."));
    }
    const right = el(
      "div",
      { class: "card table-wrap" },
      el("h3", { class: "card-title" }, "Checks"),
    );
    cols.appendChild(right);
    if (checks.length) {
      const t = table(
        [
          { title: "Time", cell: (c) => fmtClock(c.t_s) },
          { title: "Check", text: true, cell: (c) => str(c.name) || DASH },
          {
            title: "State",
            text: true,
            cell: (c) => badge(str(c.state) || "?", checkKind(c.state)),
          },
          {
            title: "Output",
            text: true,
            wrap: true,
            cell: (c) => el("span", { class: "mono" }, str(c.output)),
          },
        ],
        checks,
      );
      t.id = "checks";
      right.appendChild(t);
    } else {
      right.appendChild(el("p", { class: "note" }, "No checks ran."));
    }
  }

  function renderDetails(s, report) {
    const run = obj(report.run);
    const agents = arr(run.agents).filter(isObj);
    if (agents.length) {
      const t = table(
        [
          { title: "Agent", text: true, cell: (a) => str(a.source_id) || DASH },
          { title: "Kind", text: true, cell: (a) => str(a.kind) || DASH },
          { title: "Host", text: true, cell: (a) => str(a.hostname) || DASH },
          { title: "Clock offset", cell: (a) => fmtMs(a.clock_offset_ms) },
          { title: "Round trip", cell: (a) => fmtMs(a.round_trip_ms) },
        ],
        agents,
      );
      t.id = "agents";
      s.appendChild(el("div", { class: "card table-wrap" }, t));
    }
    if (isObj(run.scenario)) {
      s.appendChild(
        el(
          "div",
          { class: "card", style: "margin-top:14px" },
          el(
            "details",
            { class: "raw" },
            el("summary", null, "Scenario (as run)"),
            el("pre", null, JSON.stringify(run.scenario, null, 2)),
          ),
        ),
      );
    }
  }

  // -------------------------------------------------------------- the page

  function render(report) {
    const root = document.getElementById("report");
    const scrollY = window.scrollY;
    state.problems = [];
    state.generation++;
    state.rendering = true;
    try {
      root.replaceChildren();
      if (!isObj(report) || Object.keys(report).length === 0) {
        renderHeader(root, {}, liveBadge);
        root.appendChild(
          el(
            "div",
            { class: "notice", id: "waiting" },
            state.options.live
              ? "Waiting for the first report of this run\u2026"
              : "This page holds no report data.",
          ),
        );
      } else {
        state.report = report;
        state.ctx = context(report);
        const ctx = state.ctx;
        if (report.schema !== undefined && report.schema !== "tpslab.report/1") {
          root.appendChild(
            el(
              "div",
              { class: "section-error" },
              "This page draws tpslab.report/1; the document says " +
                str(report.schema) +
                ". Some parts may be missing.",
            ),
          );
        }
        section(root, "summary", null, null, (s) => {
          renderHeader(s, report, liveBadge);
          renderVerdict(s, report);
          renderKeyNumbers(s, report, ctx);
        });
        section(
          root,
          "load",
          "Throughput and latency over time",
          "Drag across any time chart to zoom all of them; double-click to reset. Click a legend entry to hide or show its series.",
          (s) => renderLoadSection(s, ctx),
        );
        section(
          root,
          "server",
          "Server resources",
          "On the same time axis as the load above.",
          (s) => renderServerSection(s, ctx),
        );
        section(
          root,
          "correlate",
          "Overlay & correlate",
          "Pick any two series to see them on one chart with two y axes.",
          (s) => renderOverlaySection(s, report, ctx),
        );
        section(root, "spectrum-section", "Latency spectrum", null, (s) =>
          renderSpectrumSection(s, report),
        );
        section(root, "scalability", "Scalability", null, (s) => renderUslSection(s, report, ctx));
        section(
          root,
          "stage-table",
          "Stages",
          "Per-stage results; p99 values over the objective are red.",
          (s) => renderStageTable(s, report, ctx),
        );
        section(root, "transaction-table", "Transactions and steps", null, (s) =>
          renderTransactionTable(s, report),
        );
        if (isObj(report.network))
          section(
            root,
            "network-section",
            "Network (on the wire)",
            "From the run's loopback capture: the server's response times as packets show them, beside loadgen's.",
            (s) => renderNetworkSection(s, report.network),
          );
        section(root, "findings-section", "Findings and checks", null, (s) =>
          renderFindings(s, report),
        );
        section(root, "details", "Run details", null, (s) => renderDetails(s, report));
        root.appendChild(
          el(
            "footer",
            null,
            "Generated " +
              fmtDate(report.generated_at) +
              " by the tpslab analyzer \u00b7 schema " +
              (str(report.schema) || "?") +
              " \u00b7 charts drawn with uPlot",
          ),
        );
      }
      // Forget charts that were not drawn this time.
      charts.forEach((entry, id) => {
        if (entry.generation !== state.generation) {
          entry.u.destroy();
          charts.delete(id);
        }
      });
    } finally {
      state.rendering = false;
    }
    window.scrollTo(0, scrollY);
    reportProblems();
  }

  function reportProblems() {
    const box = document.getElementById("errors");
    if (state.problems.length) {
      box.textContent = "The report page hit errors:\n" + state.problems.join("\n");
      box.hidden = false;
      document.body.dataset.rendered = "error";
    } else {
      box.textContent = "";
      box.hidden = true;
      document.body.dataset.rendered = "ok";
    }
  }

  function fail(message) {
    state.problems.push(message);
    reportProblems();
  }

  // --------------------------------------------------------------- live mode

  const liveBadge = el(
    "div",
    { class: "live", id: "live-status", hidden: true },
    el("span", { class: "dot" }),
    el("span", { class: "text" }),
  );
  const live = { lastOk: 0, error: "", finished: "" };

  function updateLiveBadge() {
    if (!state.options.live) return;
    liveBadge.hidden = false;
    const text = liveBadge.querySelector(".text");
    const ago = live.lastOk ? Math.max(0, Math.round((Date.now() - live.lastOk) / 1000)) : null;
    liveBadge.classList.remove("on", "stale", "failed");
    if (live.finished) {
      text.textContent = "run " + live.finished + ", final report";
    } else if (live.error) {
      liveBadge.classList.add("failed");
      text.textContent =
        "live, update failed (" +
        live.error +
        ")" +
        (ago !== null ? ", last updated " + ago + "s ago" : "");
    } else if (ago === null) {
      liveBadge.classList.add("stale");
      text.textContent = "live, connecting\u2026";
    } else {
      liveBadge.classList.add(ago > 5 ? "stale" : "on");
      text.textContent = "live, updated " + ago + "s ago";
    }
  }

  let mouseDown = false;
  let deferred = 0;

  // True while the user is in the middle of something a redraw would undo.
  function userBusy() {
    const active = document.activeElement;
    return mouseDown || (active && active.tagName === "SELECT");
  }

  async function poll() {
    try {
      const response = await fetch(state.options.report_url, {
        cache: "no-store",
        headers: { Accept: "application/json" },
      });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const doc = await response.json();
      live.lastOk = Date.now();
      live.error = "";
      if (userBusy() && deferred < 5) {
        deferred++;
      } else {
        deferred = 0;
        render(doc);
      }
      const runState = str(obj(obj(doc).run).state);
      if (runState && runState !== "running") live.finished = runState;
    } catch (e) {
      live.error = e && e.message ? e.message : String(e);
    }
    updateLiveBadge();
    if (!live.finished) setTimeout(poll, 1000);
  }

  // ------------------------------------------------------------------ start

  function readJson(id) {
    const node = document.getElementById(id);
    if (!node) throw new Error("the page has no #" + id + " element");
    return JSON.parse(node.textContent);
  }

  function start() {
    window.addEventListener("error", (e) => fail("script error: " + (e.message || "unknown")));
    window.addEventListener("unhandledrejection", (e) =>
      fail("script error: " + (e.reason && e.reason.message ? e.reason.message : String(e.reason))),
    );
    document.addEventListener("mousedown", () => (mouseDown = true), true);
    document.addEventListener("mouseup", () => (mouseDown = false), true);
    let resizeQueued = false;
    window.addEventListener("resize", () => {
      if (resizeQueued) return;
      resizeQueued = true;
      requestAnimationFrame(() => {
        resizeQueued = false;
        charts.forEach((entry) => {
          const parent = entry.u.root.parentNode;
          if (parent && parent.clientWidth)
            entry.u.setSize({ width: Math.max(240, parent.clientWidth), height: entry.u.height });
        });
      });
    });
    try {
      if (typeof uPlot !== "function")
        throw new Error("the chart library (uPlot) is missing from the page");
      state.options = Object.assign(state.options, readJson("tpslab-options"));
      render(readJson("tpslab-report"));
    } catch (e) {
      fail(e && e.message ? e.message : String(e));
      return;
    }
    if (state.options.live && state.options.report_url) {
      updateLiveBadge();
      setInterval(updateLiveBadge, 1000);
      poll();
    }
  }

  // For the browser console and the page's browser test: the chart drawn
  // under an id (the card's data-chart), and a redraw with another document.
  window.tpslabReport = {
    chart: (id) => (charts.has(id) ? charts.get(id).u : null),
    render: render,
  };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
