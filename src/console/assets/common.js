// What every console page shares: the admin key, Connect calls, the live feed, formatting.
// Plain browser JavaScript, no build step: the service serves this file as it is.

const KEY_STORAGE = "coupon-console:admin-key";
const SERVICE = "/couponpb.CouponService/";

/** True when the service has ADMIN_API_KEY set (the page says so on <body>). */
export const keyRequired = document.body.dataset.auth === "required";

function storedKey() {
  return sessionStorage.getItem(KEY_STORAGE) ?? "";
}

let asking;
/**
 * Asks for the admin key in a dialog and keeps it in session storage (this tab only, gone when it
 * closes). Concurrent callers share one dialog.
 */
export function askKey(problem) {
  sessionStorage.removeItem(KEY_STORAGE);
  asking ??= new Promise((resolve) => {
    const dialog = document.getElementById("key-dialog");
    const form = document.getElementById("key-form");
    const input = document.getElementById("key-input");
    const error = document.getElementById("key-error");
    error.hidden = !problem;
    error.textContent = problem ?? "";
    input.value = "";
    const done = (e) => {
      e.preventDefault();
      const key = input.value.trim();
      if (!key) return;
      form.removeEventListener("submit", done);
      sessionStorage.setItem(KEY_STORAGE, key);
      dialog.close();
      asking = undefined;
      showForget();
      resolve(key);
    };
    form.addEventListener("submit", done);
    // Escape must not leave the page without a key and without a way to give one.
    dialog.addEventListener("cancel", (e) => e.preventDefault());
    dialog.showModal();
    input.focus();
  });
  return asking;
}

function showForget() {
  const b = document.getElementById("forget-key");
  b.hidden = !keyRequired || !storedKey();
}

document.getElementById("forget-key")?.addEventListener("click", () => {
  sessionStorage.removeItem(KEY_STORAGE);
  location.reload();
});
showForget();

/** The key to send, asking for it first when the service needs one and this tab has none. */
async function currentKey() {
  if (!keyRequired) return "";
  return storedKey() || askKey();
}

function authHeaders(key) {
  return key ? { authorization: `Bearer ${key}` } : {};
}

/** A refusal from the service, with its Connect code ("failed_precondition") and sentence. */
export class RpcError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/**
 * Calls a CouponService method with the Connect protocol's JSON encoding (what curl sends):
 * POST /couponpb.CouponService/<Method>, int64 fields as strings, timestamps as RFC 3339.
 * A refused key asks for another and tries once more.
 */
export async function rpc(method, body) {
  for (let attempt = 0; ; attempt++) {
    const key = await currentKey();
    const res = await fetch(SERVICE + method, {
      method: "POST",
      headers: { "content-type": "application/json", ...authHeaders(key) },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    let json;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      throw new RpcError("unknown", `${method}: the service answered HTTP ${res.status} with no Connect body`);
    }
    if (res.ok) return json;
    if (json.code === "unauthenticated" && keyRequired && attempt < 3) {
      await askKey("The service refused that key.");
      continue;
    }
    throw new RpcError(json.code ?? "unknown", json.message ?? `HTTP ${res.status}`);
  }
}

function setConn(state, text) {
  const el = document.getElementById("conn");
  el.dataset.state = state;
  el.textContent = text;
}

/**
 * Follows a server-sent-events feed through fetch (EventSource cannot send the Authorization
 * header), calling `onEvent(name, data)` per event; reconnects after the delay the server names.
 */
export function followFeed(path, onEvent) {
  let retryMs = 2000;
  const run = async () => {
    for (;;) {
      try {
        const key = await currentKey();
        const res = await fetch(path, { headers: { accept: "text/event-stream", ...authHeaders(key) }, cache: "no-store" });
        if (res.status === 401) {
          setConn("down", "key needed");
          await askKey("The service refused that key.");
          continue;
        }
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        setConn("live", "live");
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let event = "message";
            const data = [];
            for (const line of block.split("\n")) {
              if (line.startsWith("event: ")) event = line.slice(7);
              else if (line.startsWith("data: ")) data.push(line.slice(6));
              else if (line.startsWith("retry: ")) retryMs = Number(line.slice(7)) || retryMs;
            }
            if (data.length) onEvent(event, JSON.parse(data.join("\n")));
          }
        }
        setConn("down", "reconnecting…");
      } catch {
        setConn("down", "disconnected, retrying…");
      }
      await new Promise((r) => setTimeout(r, retryMs));
    }
  };
  void run();
}

// ---- Formatting: numbers with thousands separators, times in the viewer's zone (UTC on hover).

const intFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const rateFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1, minimumFractionDigits: 1 });
const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

export function int(n) {
  return n === null || n === undefined ? "–" : intFormat.format(n);
}

export function rate(r) {
  return r === null || r === undefined ? "–" : rateFormat.format(r);
}

export function seconds(s) {
  if (s < 1) return s === 0 ? "0 s" : "<1 s";
  return s < 120 ? `${intFormat.format(Math.round(s))} s` : `${intFormat.format(Math.round(s / 60))} min`;
}

/** Sets an element to an instant: local time as text, the UTC instant as its tooltip. */
export function setTime(el, ms, none = "–") {
  if (ms === null || ms === undefined) {
    el.textContent = none;
    el.removeAttribute("title");
    return;
  }
  const d = new Date(ms);
  el.textContent = timeFormat.format(d);
  el.title = d.toISOString();
}

/** A state as a word, coloured by its class (console.css). */
export function setState(el, state) {
  el.textContent = state.replace("_", " ");
  el.className = `state state-${state}`;
  el.dataset.value = state;
}

/** Writes a number into an element and keeps the exact value in data-value (tests read it). */
export function setNumber(el, n, format = int) {
  el.textContent = format(n);
  el.dataset.value = n === null || n === undefined ? "" : String(n);
}
