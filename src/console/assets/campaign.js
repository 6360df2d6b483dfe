// One campaign: live figures, a chart of the last minutes (uPlot), lifecycle facts, actions.
import { followFeed, int, rate, rpc, seconds, setNumber, setState, setTime } from "./common.js";

/* global uPlot */
const id = Number(document.getElementById("campaign").dataset.id);
const $ = (sel) => document.querySelector(sel);
const figure = (name) => document.querySelector(`[data-figure="${name}"]`);
const fact = (name) => document.querySelector(`[data-fact="${name}"]`);
const feedError = document.getElementById("feed-error");
const result = document.getElementById("action-result");

/** The chart's reach, in seconds: what the service keeps per campaign (LiveFeed historyMs). */
const WINDOW_S = 5 * 60;
const RATE_COLOUR = "#2563eb";
const STOCK_COLOUR = "#d97706";

let current; // the latest sample
const xs = [];
const rates = [];
const stock = [];

// ---- Chart.

const chartEl = document.getElementById("chart");
const chart = new uPlot(
  {
    width: chartEl.clientWidth || 800,
    height: 280,
    scales: {
      x: { time: true },
      // At least 0..5 /s, so a quiet campaign gets whole-number ticks rather than 0.2 steps.
      rate: { range: (_u, _min, max) => [0, Math.max(5, (max ?? 0) * 1.15)] },
      stock: { range: () => [0, Math.max(1, current?.total ?? 1)] },
    },
    series: [
      { value: (_u, v) => (v === null ? "–" : new Date(v * 1000).toLocaleTimeString()) },
      {
        label: "Issue rate",
        scale: "rate",
        stroke: RATE_COLOUR,
        width: 2,
        fill: "rgba(37, 99, 235, 0.10)",
        value: (_u, v) => (v === null || v === undefined ? "–" : `${rate(v)} /s`),
      },
      {
        label: "Remaining",
        scale: "stock",
        stroke: STOCK_COLOUR,
        width: 2,
        value: (_u, v) => (v === null || v === undefined ? "–" : int(v)),
      },
    ],
    axes: [
      // Whole seconds and up: points come once a second, so finer ticks would only be noise.
      { space: 70, incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600] },
      { scale: "rate", label: "codes / s", values: (_u, ticks) => ticks.map((t) => int(t)) },
      { scale: "stock", label: "remaining", side: 1, grid: { show: false }, values: (_u, ticks) => ticks.map((t) => int(t)) },
    ],
  },
  [xs, rates, stock],
  chartEl,
);
addEventListener("resize", () => chart.setSize({ width: chartEl.clientWidth, height: 280 }));

/** Seconds without a point after which the lines break instead of joining across the gap. */
const GAP_S = 3;

function addPoint(p) {
  const x = p.atMs / 1000;
  const last = xs[xs.length - 1];
  if (last !== undefined && x <= last) return;
  if (last !== undefined && x - last > GAP_S) {
    // Nobody in this process watched the campaign meanwhile: no figures, so no line.
    xs.push(last + 1);
    rates.push(null);
    stock.push(null);
  }
  xs.push(x);
  rates.push(p.rate);
  stock.push(p.remaining);
  while (xs.length && xs[0] < x - WINDOW_S) {
    xs.shift();
    rates.shift();
    stock.shift();
  }
  chart.setData([xs, rates, stock]);
}

// ---- Figures and facts.

function render(s) {
  current = s;
  feedError.hidden = true;
  document.title = `${s.name} · coupon console`;
  $("#name").textContent = s.name;
  $(".crumbs span").textContent = `#${s.id} ${s.name}`;
  setState(figure("state"), s.state);
  setNumber(figure("issued"), s.issued);
  setNumber(figure("total"), s.total);
  setNumber(figure("remaining"), s.remaining);
  figure("loaded-note").textContent = s.state === "loading" ? `loading: ${int(s.loaded)} of ${int(s.total)} codes in the pool` : "";
  setNumber(figure("rate"), s.rate, rate);
  setNumber(figure("lag-entries"), s.lagEntries);
  figure("lag-seconds").textContent = seconds(s.lagSeconds);
  figure("lag-entries").classList.toggle("alarm", s.lagSeconds >= 5);

  setState(fact("state"), s.state);
  setTime(fact("start"), s.startMs);
  setTime(fact("end"), s.endMs, "none: runs until sold out");
  setNumber(fact("loaded"), s.loaded);
  setNumber(fact("voided"), s.voided);
  setNumber(fact("quarantined"), s.quarantined);
  enableActions(s.state);
}

function enableActions(state) {
  const can = {
    pause: !["loading", "paused", "cancelled"].includes(state),
    resume: state === "paused",
    cancel: !["loading", "cancelled"].includes(state),
    verify: true,
    export: true,
  };
  for (const b of document.querySelectorAll("[data-action]")) if (!b.dataset.busy) b.disabled = !can[b.dataset.action];
}

followFeed(`/console/feed/campaigns/${id}`, (event, data) => {
  if (event === "history") {
    for (const p of data.points) addPoint(p);
  } else if (event === "sample") {
    render(data.sample);
    addPoint(data.sample);
  } else if (event === "missing") {
    feedError.hidden = false;
    feedError.textContent = `Campaign ${id} does not exist.`;
    for (const b of document.querySelectorAll("[data-action]")) b.disabled = true;
  } else if (event === "unavailable") {
    feedError.hidden = false;
    feedError.textContent = `Live figures unavailable: ${data.message}. Showing the last ones read.`;
  }
});

// ---- Actions: each one Connect admin call from this page.

/** Connect's JSON names states CAMPAIGN_STATE_SOLD_OUT; the feed says sold_out. */
const stateOf = (pb) => pb?.state?.replace("CAMPAIGN_STATE_", "").toLowerCase();

function confirmAction(title, text, yes) {
  const dialog = document.getElementById("confirm-dialog");
  $("#confirm-title").textContent = title;
  $("#confirm-text").textContent = text;
  $("#confirm-yes").textContent = yes;
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"), { once: true });
    dialog.showModal();
    $("#confirm-no").focus();
  });
}

function say(text, kind = "ok") {
  result.textContent = text;
  result.dataset.kind = kind;
}

const label = () => `campaign #${id}${current ? ` “${current.name}”` : ""}`;

const actions = {
  async pause() {
    const ok = await confirmAction(
      `Pause ${label()}?`,
      `IssueCoupon refuses (failed_precondition, "campaign ${id} is paused") on every instance from the next call, until you resume. The pool is left as it is.`,
      "Pause issuing",
    );
    if (!ok) return say("Not paused.");
    const r = await rpc("PauseCampaign", { campaignId: String(id) });
    say(r.changed ? `Paused at ${int(Number(r.campaign?.issued ?? 0))} issued: IssueCoupon now refuses.` : "Already paused: nothing changed.");
    return stateOf(r.campaign);
  },
  async resume() {
    const r = await rpc("ResumeCampaign", { campaignId: String(id) });
    say(r.changed ? "Resumed: issuing continues where it stopped." : "It was not paused: nothing changed.");
    return stateOf(r.campaign);
  },
  async cancel() {
    const left = current ? int(current.remaining) : "the";
    const ok = await confirmAction(
      `Cancel ${label()} for good?`,
      `Issuing stops for good: the ${left} codes left are voided and issued codes can no longer be redeemed. This cannot be undone.`,
      "Cancel the campaign",
    );
    if (!ok) return say("Not cancelled.");
    const r = await rpc("CancelCampaign", { campaignId: String(id) });
    say(r.changed ? `Cancelled at ${int(Number(r.campaign?.issued ?? 0))} issued.` : "Already cancelled: nothing changed.");
    return stateOf(r.campaign);
  },
  async verify() {
    say("Verifying…");
    const b = await rpc("VerifyCampaign", { campaignId: String(id) });
    showBooks(b);
    say(b.ok ? "The books balance." : "The books do NOT balance: see the problems below.", b.ok ? "ok" : "bad");
  },
  async export() {
    let rows = 0;
    let pageToken = "";
    // Same columns as `npm run campaign -- export` (scripts/campaign/commands/export.ts).
    const lines = ["code,user_id,issued_at,sequence\n"];
    const field = (s) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
    do {
      const page = await rpc("ListIssuedCoupons", { campaignId: String(id), pageSize: 1000, pageToken });
      for (const c of page.coupons ?? []) lines.push(`${field(c.code)},${field(c.userId ?? "")},${c.issuedAt ?? ""},${c.sequence}\n`);
      rows += page.coupons?.length ?? 0;
      pageToken = page.nextPageToken ?? "";
      say(`Exporting… ${int(rows)} codes`);
    } while (pageToken);
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob(lines, { type: "text/csv" }));
    a.download = `campaign-${id}-codes.csv`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
    say(`Exported ${int(rows)} codes to ${a.download}.`);
  },
};

function showBooks(b) {
  const books = document.getElementById("books");
  const n = (v) => int(Number(v ?? 0));
  const yes = (v) => (v ? "yes" : "no");
  const rows = [
    ["Generated (MySQL)", n(b.generated)],
    [b.poolReleased ? "Pooled (when the pool was freed)" : "In the pool (Redis)", n(b.pooled)],
    ["Issued", n(b.issued)],
    ["Owners in MySQL", n(b.persisted)],
    ["Waiting for the persister", n(b.pending)],
    ["Redeemed", n(b.redeemed)],
    ["Voided", n(b.voided)],
    ["Pool balances (pooled + issued = generated)", yes(b.poolBalances)],
    ["Every code has one owner", yes(b.ownersUnique)],
  ];
  const table = document.createElement("table");
  table.className = "books";
  for (const [k, v] of rows) {
    const tr = table.insertRow();
    tr.insertCell().textContent = k;
    const td = tr.insertCell();
    td.textContent = v;
    td.className = v === "no" ? "num bad" : "num";
  }
  const problems = document.createElement("ul");
  for (const p of b.problems ?? []) problems.append(Object.assign(document.createElement("li"), { textContent: p }));
  books.replaceChildren(table, problems);
  books.dataset.ok = String(Boolean(b.ok));
  books.hidden = false;
}

for (const button of document.querySelectorAll("[data-action]")) {
  button.addEventListener("click", async () => {
    const name = button.dataset.action;
    button.dataset.busy = "1";
    button.disabled = true;
    try {
      const state = await actions[name]();
      if (state && current) render({ ...current, state });
    } catch (err) {
      say(`${name} refused: ${err.message} (${err.code ?? "error"})`, "bad");
    } finally {
      delete button.dataset.busy;
      button.disabled = false;
      if (current) enableActions(current.state);
    }
  });
}
