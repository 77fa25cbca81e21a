// The local chat page: posts text and button taps to /chat/api/send and polls /chat/api/messages.
// No framework, nothing from a CDN. Messages are keyed by id: an edited message is redrawn in place.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const list = $("messages");
  const seen = new Map(); // message id -> its `updated` time as last drawn
  let cursor = null;
  let polling = false;
  let pollTimer = null;

  const postId = () => `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;

  async function api(path, body) {
    const options = body === undefined ? {} : {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    };
    const response = await fetch(path, { credentials: "same-origin", ...options });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.detail || `HTTP ${response.status}`);
    return data;
  }

  // the page's own words in the chat's language (from the server's message catalogue)
  function applyLabels(labels) {
    document.querySelectorAll("[data-label]").forEach((el) => {
      const text = labels[el.dataset.label];
      if (!text) return;
      if (el.dataset.labelAttr) el.setAttribute(el.dataset.labelAttr, text);
      else el.textContent = text;
    });
    if (labels.title) document.title = labels.title;
  }

  function timeOf(iso) {
    const at = new Date(iso);
    return at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function draw(m) {
    const li = document.createElement("li");
    li.className = `msg ${m.direction}` + (m.updated !== m.at ? " edited" : "");
    li.dataset.id = String(m.id);
    if (m.picture) {
      const img = document.createElement("img");
      img.src = `/chat/api/files/${m.id}/picture`;
      img.alt = "chart";
      img.addEventListener("load", () => scrollDown(false));
      li.append(img);
    }
    if (m.document) {
      const a = document.createElement("a");
      a.className = "file";
      a.href = `/chat/api/files/${m.id}/document`;
      a.download = m.document;
      a.textContent = `\u{1F4C4} ${m.document}`;
      li.append(a);
    }
    if (m.text) {
      const p = document.createElement("p");
      p.className = "text";
      p.textContent = m.text;
      li.append(p);
    }
    if (m.choices.length) {
      const box = document.createElement("div");
      box.className = "choices";
      for (const choice of m.choices) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = choice.label;
        button.addEventListener("click", () => tap(li, m.id, choice.data));
        box.append(button);
      }
      li.append(box);
    }
    const time = document.createElement("time");
    time.dateTime = m.updated;
    time.textContent = timeOf(m.updated);
    li.append(time);
    return li;
  }

  function nearBottom() {
    return list.scrollHeight - list.scrollTop - list.clientHeight < 120;
  }

  function scrollDown(force) {
    if (force || nearBottom()) list.scrollTop = list.scrollHeight;
  }

  function upsert(m) {
    if (seen.get(m.id) === m.updated) return false;
    const fresh = draw(m);
    const old = list.querySelector(`li[data-id="${m.id}"]`);
    if (old) {
      old.replaceWith(fresh);
    } else {
      const later = [...list.children].find((li) => Number(li.dataset.id) > m.id);
      list.insertBefore(fresh, later || null);
    }
    seen.set(m.id, m.updated);
    return !old;
  }

  async function poll() {
    if (polling) return;
    polling = true;
    try {
      const query = cursor ? `?since=${encodeURIComponent(cursor)}` : "";
      const data = await api(`/chat/api/messages${query}`);
      const stick = nearBottom() || cursor === null;
      let added = false;
      for (const m of data.messages) added = upsert(m) || added;
      cursor = data.now;
      if (added) scrollDown(stick);
      $("subtitle").textContent = "online";
    } catch (error) {
      $("subtitle").textContent = "reconnecting\u2026";
    } finally {
      polling = false;
    }
  }

  function schedule() {
    clearTimeout(pollTimer);
    pollTimer = setTimeout(async () => { await poll(); schedule(); }, document.hidden ? 5000 : 1000);
  }

  async function say(body) {
    await api("/chat/api/send", { ...body, id: postId() });
    await poll();
  }

  async function tap(li, messageId, data) {
    li.querySelectorAll(".choices button").forEach((b) => { b.disabled = true; });
    try {
      await say({ choice: data, message_ref: String(messageId) });
    } catch (error) {
      li.querySelectorAll(".choices button").forEach((b) => { b.disabled = false; });
      status(`Could not send: ${error.message}`, true);
    }
  }

  $("composer").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("text");
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    try {
      await say({ text });
      scrollDown(true);
    } catch (error) {
      input.value = text;
      status(`Could not send: ${error.message}`, true);
    }
  });

  function status(text, isError) {
    const line = $("sim-status");
    line.textContent = text;
    line.classList.toggle("error", Boolean(isError));
  }

  function describe(posted) {
    return posted.map((p) => `${p.trans_id}  KES ${p.amount}  ${p.ref || "(no reference)"}  \u2192 HTTP ${p.status}`).join("\n");
  }

  async function simulate(path, body, button) {
    button.disabled = true;
    status("Sending\u2026");
    try {
      const data = await api(path, body);
      status(describe(data.posted));
    } catch (error) {
      status(`Not sent: ${error.message}`, true);
    } finally {
      button.disabled = false;
    }
  }

  $("sim-form").addEventListener("submit", (event) => {
    event.preventDefault();
    simulate("/chat/api/simulate", {
      amount: $("sim-amount").value, ref: $("sim-ref").value, name: $("sim-name").value, phone: $("sim-phone").value,
    }, $("sim-send"));
  });
  $("sim-burst").addEventListener("click", () => simulate("/chat/api/simulate/burst", {}, $("sim-burst")));
  $("sim-toggle").addEventListener("click", () => {
    const panel = $("simulator");
    panel.hidden = !panel.hidden;
    if (!panel.hidden) panel.scrollIntoView({ behavior: "smooth" });
  });

  async function start() {
    try {
      const info = await api("/chat/api/session");
      if (info.business) $("business").textContent = info.business;
      applyLabels(info.labels || {});
      if (info.simulator) {
        const wide = window.matchMedia("(min-width: 900px)").matches;
        $("simulator").hidden = !wide;
        $("sim-toggle").hidden = false;
        if (info.example) {
          $("sim-amount").value = info.example.amount;
          $("sim-ref").value = info.example.ref;
          $("sim-name").value = info.example.name;
          $("sim-phone").value = info.example.phone;
        }
      }
    } catch (error) {
      $("subtitle").textContent = "not connected";
    }
    await poll();
    scrollDown(true);
    schedule();
    document.addEventListener("visibilitychange", () => { if (!document.hidden) { poll(); schedule(); } });
  }

  start();
})();
