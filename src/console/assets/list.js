// The campaigns page: the newest campaigns with live figures, and the form that creates one.
import { followFeed, int, rate, rpc, seconds, setNumber, setState } from "./common.js";

const tbody = document.querySelector("#campaigns tbody");
const empty = document.getElementById("empty");
const feedError = document.getElementById("feed-error");

function cell(row, className) {
  const td = row.insertCell();
  if (className) td.className = className;
  return td;
}

function render(campaigns) {
  empty.hidden = campaigns.length > 0;
  const rows = campaigns.map((c) => {
    const tr = document.createElement("tr");
    tr.dataset.id = String(c.id);
    const id = cell(tr, "num");
    const a = document.createElement("a");
    a.href = `/console/campaigns/${c.id}`;
    a.textContent = String(c.id);
    id.append(a);
    const name = cell(tr);
    const an = document.createElement("a");
    an.href = a.href;
    an.textContent = c.name;
    name.append(an);
    const st = document.createElement("span");
    setState(st, c.state);
    cell(tr).append(st);
    setNumber(cell(tr, "num issued"), c.issued);
    setNumber(cell(tr, "num total"), c.total);
    setNumber(cell(tr, "num rate"), c.rate, rate);
    setNumber(cell(tr, "num remaining"), c.remaining);
    const lag = cell(tr, "num lag");
    lag.textContent = c.lagEntries === 0 ? "0" : `${int(c.lagEntries)} · ${seconds(c.lagSeconds)}`;
    lag.dataset.value = String(c.lagEntries);
    if (c.lagSeconds >= 5) lag.classList.add("alarm");
    return tr;
  });
  tbody.replaceChildren(...rows);
}

followFeed("/console/feed/campaigns", (event, data) => {
  if (event === "list") {
    feedError.hidden = true;
    render(data.campaigns);
  } else if (event === "unavailable") {
    feedError.hidden = false;
    feedError.textContent = `Live figures unavailable: ${data.message}. Showing the last ones read.`;
  }
});

// ---- Create.

const form = document.getElementById("create-form");
const openButton = document.getElementById("create-open");
const createError = document.getElementById("create-error");
openButton.addEventListener("click", () => {
  form.hidden = false;
  openButton.hidden = true;
  form.elements.name.focus();
});
document.getElementById("create-close").addEventListener("click", () => {
  form.hidden = true;
  openButton.hidden = false;
});

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  createError.hidden = true;
  const f = form.elements;
  // datetime-local is the viewer's local time; the service takes an instant (RFC 3339, UTC).
  const start = f.start.value ? new Date(f.start.value) : new Date();
  const body = { name: f.name.value, totalCoupons: String(f.total.value), startTime: start.toISOString() };
  if (f.end.value) body.endTime = new Date(f.end.value).toISOString();
  const submit = form.querySelector("button[type=submit]");
  submit.disabled = true;
  try {
    const { campaignId } = await rpc("CreateCampaign", body);
    location.href = `/console/campaigns/${campaignId}`;
  } catch (err) {
    createError.hidden = false;
    createError.textContent = `Not created: ${err.message} (${err.code ?? "error"})`;
  } finally {
    submit.disabled = false;
  }
});
