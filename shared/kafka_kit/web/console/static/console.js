// The kafka-kit console's only script: re-render the page in place, and send the controls'
// requests to the service's API. Pages work without it, just not live.
"use strict";

(() => {
  const live = document.getElementById("live");
  const flash = document.getElementById("flash");
  // With the session cookie, the service admits a change only with this header (no cross-site
  // form can send it).
  const CONSOLE = { "X-Console-Request": "1" };
  let refreshing = false;

  function say(message, failed) {
    if (!flash) return;
    flash.textContent = message;
    flash.className = failed ? "bad" : "ok";
    flash.hidden = false;
  }

  function editing() {
    const focused = document.activeElement;
    // A form being filled in (its fields or its button) is not swapped away under the user.
    return focused && live.contains(focused) && focused.closest("form, input, select, textarea");
  }

  async function refresh() {
    if (!live || refreshing || editing()) return;
    refreshing = true;
    try {
      const url = new URL(window.location.href);
      url.searchParams.set("fragment", "1");
      const answer = await fetch(url, { headers: CONSOLE, credentials: "same-origin" });
      if (answer.redirected) {
        window.location.reload(); // the session ended: the login form
        return;
      }
      if (!answer.ok) {
        say(`Could not refresh: HTTP ${answer.status}`, true);
        return;
      }
      live.innerHTML = await answer.text();
      const updated = document.getElementById("updated");
      if (updated) updated.textContent = new Date().toISOString().slice(0, 19).replace("T", " ");
      live.dataset.refreshed = String(Number(live.dataset.refreshed || "0") + 1);
    } catch (error) {
      say(`Could not refresh: ${error}`, true);
    } finally {
      refreshing = false;
    }
  }

  function explain(detail) {
    if (detail && typeof detail === "object" && "detail" in detail) detail = detail.detail;
    if (detail && typeof detail === "object") {
      const records = (detail.records || []).map((r) => `${r.partition}@${r.offset}`).join(", ");
      if (detail.message) return records ? `${detail.message} (${records})` : detail.message;
      if (Array.isArray(detail)) return detail.map((d) => d.msg || JSON.stringify(d)).join("; ");
      return JSON.stringify(detail);
    }
    return String(detail);
  }

  async function post(url, body, done) {
    const init = { method: "POST", headers: { ...CONSOLE }, credentials: "same-origin" };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = body;
    }
    let answer;
    try {
      answer = await fetch(url, init);
    } catch (error) {
      say(`${url}: ${error}`, true);
      return;
    }
    const text = await answer.text();
    let detail = text;
    try {
      detail = JSON.parse(text);
    } catch (_) {
      // not JSON: shown as it is
    }
    if (answer.ok) {
      const sent = detail && Array.isArray(detail.replayed) ? ` (${detail.replayed.length} sent)` : "";
      say(`${done || "done"}${sent}`, false);
    } else {
      say(`HTTP ${answer.status}: ${explain(detail)}`, true);
    }
    await refresh();
  }

  function seekBody(form) {
    const data = new FormData(form);
    const position = data.get("position");
    const body = { position };
    const value = data.get("value");
    if (position === "offset" || position === "timestamp") body[position] = Number(value);
    const partition = data.get("partition");
    if (partition) {
      const cut = partition.lastIndexOf(":");
      body.partitions = [{ topic: partition.slice(0, cut), partition: Number(partition.slice(cut + 1)) }];
    }
    return JSON.stringify(body);
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-post]");
    if (!button) return;
    event.preventDefault();
    post(button.dataset.post, button.dataset.body, button.dataset.done);
  });

  document.addEventListener("submit", (event) => {
    const form = event.target.closest("form[data-seek]");
    if (!form) return;
    event.preventDefault();
    if (document.activeElement) document.activeElement.blur();
    post(form.dataset.seek, seekBody(form), form.dataset.done);
  });

  const every = Number(live && live.dataset.refreshMs);
  if (every > 0) window.setInterval(refresh, every);
})();
