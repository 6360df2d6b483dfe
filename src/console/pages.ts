import { html } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import { OPEN_ADMIN_WARNING } from "../ops/admin-auth.js";

/**
 * The console's pages: shells with no campaign data in them. Every figure arrives through the
 * live feed (which needs the admin key when one is set) and every action through the Connect
 * admin methods, both from the page's script; so a page fetched without the key shows nothing.
 */

type Layout = { title: string; keyRequired: boolean; body: HtmlEscapedString | Promise<HtmlEscapedString>; scripts: string[] };

function layout({ title, keyRequired, body, scripts }: Layout) {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · coupon console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/console/assets/uPlot.min.css">
<link rel="stylesheet" href="/console/assets/console.css">
</head>
<body data-auth="${keyRequired ? "required" : "open"}">
<header class="top">
  <a class="brand" href="/console">Coupon console</a>
  <span id="conn" class="conn" title="the live feed">connecting…</span>
  <button id="forget-key" class="link" type="button" hidden>Forget the key</button>
</header>
${keyRequired ? "" : html`<p class="warning" role="alert"><strong>Open console.</strong> ${OPEN_ADMIN_WARNING}; so is this console. Set ADMIN_API_KEY to protect both.</p>`}
<main>${body}</main>
<dialog id="key-dialog">
  <form method="dialog" id="key-form">
    <h2>Admin key</h2>
    <p>This service protects its admin methods with <code>ADMIN_API_KEY</code>. Enter it to see and act on the campaigns; it stays in this tab only (session storage).</p>
    <label>Key <input id="key-input" name="key" type="password" autocomplete="off" required minlength="16"></label>
    <p id="key-error" class="error" hidden></p>
    <button type="submit" class="primary">Use this key</button>
  </form>
</dialog>
${scripts.map((s) => (s.endsWith(".iife.min.js") ? html`<script src="/console/assets/${s}"></script>\n` : html`<script type="module" src="/console/assets/${s}"></script>\n`))}
</body>
</html>`;
}

/** The campaigns, newest first, and the form that creates one. */
export function listPage(keyRequired: boolean) {
  return layout({
    title: "Campaigns",
    keyRequired,
    scripts: ["list.js"],
    body: html`
<div class="title-row">
  <h1>Campaigns</h1>
  <button id="create-open" type="button" class="primary">New campaign</button>
</div>
<form id="create-form" class="card create" hidden>
  <h2>New campaign</h2>
  <div class="fields">
    <label>Name <input name="name" required maxlength="200" placeholder="Black Friday 10% off"></label>
    <label>Codes <input name="total" type="number" min="1" step="1" required value="1000"></label>
    <label>Starts <input name="start" type="datetime-local" step="1"><small>empty: now</small></label>
    <label>Ends <input name="end" type="datetime-local" step="1"><small>empty: runs until sold out</small></label>
  </div>
  <p id="create-error" class="error" hidden></p>
  <div class="buttons"><button type="submit" class="primary">Create</button> <button type="button" id="create-close">Close</button></div>
</form>
<p id="feed-error" class="error" hidden></p>
<table id="campaigns" class="grid">
  <thead><tr>
    <th class="num">ID</th><th>Name</th><th>State</th><th class="num">Issued</th><th class="num">of</th>
    <th class="num">Rate /s</th><th class="num">Remaining</th><th class="num">Persist lag</th>
  </tr></thead>
  <tbody></tbody>
</table>
<p id="empty" class="muted" hidden>No campaigns yet: create one.</p>
<p class="muted small">The newest campaigns, read once a second (the same counts as GetCampaign). Older ones: <code>npm run campaign -- list</code>.</p>`,
  });
}

/** One campaign: live figures and chart, lifecycle facts, actions. */
export function campaignPage(keyRequired: boolean, id: number) {
  return layout({
    title: `Campaign ${id}`,
    keyRequired,
    scripts: ["uPlot.iife.min.js", "campaign.js"],
    body: html`
<nav class="crumbs"><a href="/console">Campaigns</a> / <span>#${id}</span></nav>
<div class="title-row" id="campaign" data-id="${id}">
  <h1><span id="name">Campaign ${id}</span></h1>
  <span class="state" data-figure="state"></span>
</div>
<p id="feed-error" class="error" hidden></p>
<section class="figures">
  <div class="figure"><span class="label">Issued</span><span class="value" data-figure="issued">–</span><span class="sub">of <span data-figure="total">–</span></span></div>
  <div class="figure"><span class="label">Remaining</span><span class="value" data-figure="remaining">–</span><span class="sub" data-figure="loaded-note"></span></div>
  <div class="figure"><span class="label">Issue rate</span><span class="value" data-figure="rate">–</span><span class="sub">codes per second</span></div>
  <div class="figure"><span class="label">Persist lag</span><span class="value" data-figure="lag-entries">–</span><span class="sub">owners not yet in MySQL · oldest <span data-figure="lag-seconds">–</span></span></div>
</section>
<section class="card">
  <h2>Last minutes <small class="muted">issue rate (codes/s, left) and remaining stock (right), one point a second</small></h2>
  <div id="chart" class="chart"></div>
</section>
<div class="columns">
<section class="card">
  <h2>Lifecycle</h2>
  <dl class="facts">
    <dt>State</dt><dd data-fact="state">–</dd>
    <dt>Starts</dt><dd data-fact="start">–</dd>
    <dt>Ends</dt><dd data-fact="end">–</dd>
    <dt>Loaded</dt><dd data-fact="loaded" class="num">–</dd>
    <dt>Voided</dt><dd data-fact="voided" class="num">–</dd>
    <dt>Quarantined</dt><dd data-fact="quarantined" class="num">–</dd>
  </dl>
</section>
<section class="card">
  <h2>Actions</h2>
  <div class="buttons actions">
    <button type="button" data-action="pause">Pause</button>
    <button type="button" data-action="resume">Resume</button>
    <button type="button" data-action="cancel" class="danger">Cancel…</button>
    <button type="button" data-action="verify">Verify the books</button>
    <button type="button" data-action="export">Export CSV</button>
  </div>
  <p id="action-result" class="result" role="status"></p>
  <div id="books" hidden></div>
</section>
</div>
<dialog id="confirm-dialog">
  <form method="dialog">
    <h2 id="confirm-title"></h2>
    <p id="confirm-text"></p>
    <div class="buttons"><button value="no" id="confirm-no">Keep it running</button> <button value="yes" id="confirm-yes" class="danger"></button></div>
  </form>
</dialog>`,
  });
}
