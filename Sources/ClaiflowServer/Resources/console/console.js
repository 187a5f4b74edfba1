// claiflow console: live updates from /api/v1/events (Server-Sent Events). The pages work
// without this script; it only keeps what they show current.
const terminal = new Set(["succeeded", "failed", "canceled", "expired"]);
const runWord = { regist: "pending", sent: "running", processing: "running" };

// Shows a status: its word, and its color by class (`status-WORD`, spaces as dashes).
function setStatus(el, word) {
  if (!el) return;
  el.textContent = word;
  el.className = el.className.replace(/\bstatus-\S+/g, "").trim() + " status-" + word.replace(/ /g, "-");
}

// Events of different replicas may arrive out of order (each replica publishes its own after
// its commits): a status that has ended never goes back to one that has not.
function advanceStatus(el, word) {
  if (!el || (terminal.has(el.textContent.trim()) && !terminal.has(word))) return false;
  setStatus(el, word);
  return true;
}

async function refreshMain() {
  const response = await fetch(location.href, { headers: { Accept: "text/html" } });
  if (!response.ok) return;
  const doc = new DOMParser().parseFromString(await response.text(), "text/html");
  const fresh = doc.querySelector("main");
  if (fresh) document.querySelector("main").replaceChildren(...fresh.childNodes);
  wire();
}

let refreshTimer = null;
function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refreshMain, 150);
}

function onService(e) {
  const d = JSON.parse(e.data);
  for (const row of document.querySelectorAll(`[data-topic="service"] tr[data-uuid="${CSS.escape(d.uuid)}"]`)) {
    advanceStatus(row.querySelector("[data-status]"), d.status);
  }
  const facts = document.querySelector("[data-service]");
  if (facts && facts.dataset.service === d.uuid && facts.dataset.cluster === d.cluster_uuid) {
    if (advanceStatus(document.getElementById("service-status"), d.status)) refreshSoon();
  }
}

function onRun(e) {
  const d = JSON.parse(e.data);
  // The list of runs: re-read it when one of its runs moves on.
  if (document.querySelector(`#runs tr[data-uuid="${CSS.escape(d.uuid)}"]`)) refreshSoon();
  const facts = document.querySelector("[data-run]");
  if (!facts || facts.dataset.run !== d.uuid) return;
  const cell = document.querySelector(`#run-grid [data-cluster="${CSS.escape(d.cluster_uuid)}"]`);
  const word = runWord[d.status] || d.status;
  if (cell && advanceStatus(cell.querySelector("[data-status]"), word)) {
    setStatus(cell, word);
    recountWave(cell.dataset.wave);
  }
  if (terminal.has(d.status)) refreshSoon();
}

// A wave's row on the run page, recounted from its grid cells (the server's page is re-read
// when a service ends; this keeps the counts current in between).
function recountWave(number) {
  const row = document.querySelector(`#run-waves tr[data-wave="${CSS.escape(number || "")}"]`);
  if (!row) return;
  const cells = [...document.querySelectorAll(`#run-grid [data-wave="${CSS.escape(number)}"] [data-status]`)];
  const counts = {};
  for (const c of cells) counts[c.textContent] = (counts[c.textContent] || 0) + 1;
  const done = cells.filter((c) => terminal.has(c.textContent) || c.textContent === "skipped").length;
  row.querySelector("[data-wave-done]").textContent = `${done} of ${cells.length}`;
  const box = row.querySelector("[data-wave-counts]");
  box.replaceChildren();
  for (const [word, n] of Object.entries(counts)) {
    const chip = document.createElement("span");
    chip.className = "status status-" + word;
    chip.textContent = word;
    box.append(chip, ` ${n} `);
  }
  const state = row.querySelector("[data-wave-state]");
  if (done === cells.length) setStatus(state, "done");
  else if (cells.some((c) => c.textContent !== "pending")) setStatus(state, "in progress");
}

function onCluster(e) {
  const d = JSON.parse(e.data);
  const facts = document.querySelector("[data-cluster]");
  if (document.querySelector(`#clusters tr[data-uuid="${CSS.escape(d.uuid)}"]`) || (facts && facts.dataset.cluster === d.uuid)) {
    refreshSoon();
  }
}

function connect() {
  if (!document.querySelector('meta[name="csrf-token"]')) return;
  // The page was read after this event: ask for the ones since, so that none falls between.
  const since = document.querySelector('meta[name="events-since"]');
  const query = since ? "&last_event_id=" + encodeURIComponent(since.content) : "";
  const source = new EventSource("/api/v1/events?topics=service,run,cluster" + query);
  source.addEventListener("service", onService);
  source.addEventListener("run", onRun);
  source.addEventListener("cluster", onCluster);
  source.addEventListener("reset", refreshSoon);
  document.documentElement.dataset.live = "connecting";
  source.addEventListener("open", () => { document.documentElement.dataset.live = "open"; });
}

// The run form: a live count of the clusters a selector matches.
let previewTimer = null;
function wire() {
  const selector = document.getElementById("selector");
  const preview = document.getElementById("selector-preview");
  if (selector && preview) {
    selector.addEventListener("input", () => {
      clearTimeout(previewTimer);
      previewTimer = setTimeout(async () => {
        if (!selector.value.trim()) { preview.textContent = ""; return; }
        const r = await fetch("/api/v1/cluster?selector=" + encodeURIComponent(selector.value));
        const body = await r.json();
        preview.textContent = r.ok
          ? `${body.length} cluster${body.length === 1 ? "" : "s"} match: ${body.slice(0, 10).map((c) => c.name).join(", ")}${body.length > 10 ? ", …" : ""}`
          : body.message;
      }, 250);
    });
  }
}

wire();
connect();
