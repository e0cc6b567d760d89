'use strict';
// hailo-portal's page: cards from /api/services, actions with the CSRF token, sparklines from /api/services/NAME/metrics,
// log tails, model pulls and the "try it" panels (every call goes to the portal, which forwards it to the service).
(function () {
  let csrf = null;
  const cards = new Map();     // service -> { el, parts, history: [] }
  const panels = new Set();
  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const c of children) if (c != null) e.append(c);
    return e;
  }

  async function errorText(r) {
    try {
      const j = await r.json();
      if (j && j.error) return { code: j.error.code, message: j.error.message };
    } catch (_) { /* not JSON */ }
    return { code: 'http_' + r.status, message: 'HTTP ' + r.status };
  }

  async function api(path, options, retried) {
    const o = Object.assign({ headers: {} }, options || {});
    o.headers = Object.assign({}, o.headers);
    const changes = o.method && o.method !== 'GET';
    if (changes && csrf) o.headers['X-CSRF-Token'] = csrf;
    o.credentials = 'same-origin';
    const r = await fetch(path, o);
    // The portal restarted since the page loaded (a new CSRF token): fetch the new one and send once more.
    if (r.status === 403 && changes && !retried) {
      const e = await r.clone().json().catch(() => null);
      if (e && e.error && e.error.code === 'csrf_token_invalid') {
        const s = await fetch('/api/session', { credentials: 'same-origin' });
        if (s.ok) { csrf = (await s.json()).csrf_token; return api(path, options, true); }
      }
    }
    return r;
  }

  // ---- session and login ----
  async function start() {
    const r = await api('/api/session');
    if (r.status === 401) { showLogin(); return; }
    if (!r.ok) { banner((await errorText(r)).message); return; }
    const s = await r.json();
    csrf = s.csrf_token;
    $('logout').hidden = !s.auth_required;
    $('login').hidden = true;
    await refresh();
    npu();
    setInterval(refresh, 5000);
    setInterval(pollMetrics, 5000);
    pollMetrics();
  }

  function showLogin() {
    $('login').hidden = false;
    $('login-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const r = await fetch('/api/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ token: $('login-token').value }), credentials: 'same-origin' });
      if (r.ok) { $('login-token').value = ''; start(); }
      else $('login-error').textContent = (await errorText(r)).message;
    }, { once: true });
  }

  $('logout').addEventListener('click', async () => {
    await api('/api/logout', { method: 'POST' });
    location.reload();
  });

  function banner(text) {
    $('banner').hidden = !text;
    $('banner').textContent = text || '';
  }

  // ---- cards ----
  async function refresh() {
    const r = await api('/api/services');
    if (r.status === 401) { showLogin(); return; }
    if (!r.ok) { banner((await errorText(r)).message); return; }
    banner('');
    const data = await r.json();
    const seen = new Set();
    for (const s of data.services) {
      seen.add(s.service);
      let c = cards.get(s.service);
      if (!c) { c = makeCard(s); cards.set(s.service, c); $('cards').append(c.el); }
      fillCard(c, s);
      if (s.try && !panels.has(s.service)) { panels.add(s.service); addPanel(s); }
    }
    for (const [name, c] of cards) if (!seen.has(name)) { c.el.remove(); cards.delete(name); }
    const running = data.services.filter((s) => s.active_state === 'active').length;
    $('summary').textContent = `${data.services.length} installed, ${running} running`;
  }

  // ---- the NPU: hailoctl doctor's checks, each problem with the command that fixes it ----
  async function npu() {
    const r = await api('/api/npu');
    if (!r.ok) return;
    const d = await r.json();
    const list = el('ul', { class: 'checks' });
    for (const c of d.checks) {
      const item = el('li', { 'data-result': c.result }, el('span', { class: 'result ' + c.result, text: c.result }), ' ',
        el('strong', { text: c.check }), ': ' + c.detail);
      if (c.fix) item.append(el('div', {}, 'fix: ', el('code', { text: c.fix })));
      list.append(item);
    }
    const problems = d.checks.filter((c) => c.result === 'problem').length;
    $('npu').replaceChildren(el('h3', {}, el('span', { text: 'NPU' }),
      el('span', { class: 'state ' + (d.ok ? 'active' : 'failed'), text: d.ok ? 'ok' : problems + ' problem(s)' })),
      list, el('button', { text: 'Check again', onclick: npu }));
    $('npu').hidden = false;
  }

  function makeCard(s) {
    const p = {};
    p.state = el('span', { class: 'state' });
    p.status = el('div', { class: 'status-text' });
    p.dl = el('dl');
    p.rate = el('canvas', { width: 150, height: 36 });
    p.lat = el('canvas', { width: 150, height: 36 });
    p.rateCap = el('figcaption', { text: 'requests/s' });
    p.latCap = el('figcaption', { text: 'latency ms' });
    p.message = el('p', { class: 'message' });
    p.log = el('pre', { class: 'log', hidden: '' });
    const button = (label, action) => el('button', { 'data-action': action, text: label, onclick: () => act(s.service, action, p) });
    p.actions = el('div', { class: 'actions' }, button('Start', 'start'), button('Stop', 'stop'), button('Restart', 'restart'),
      el('button', { text: 'Logs', 'data-action': 'logs', onclick: () => toggleLog(s.service, p) }));
    const root = el('article', { class: 'card', 'data-service': s.service },
      el('h3', {}, el('span', { text: s.service }), p.state), p.status, p.dl,
      el('div', { class: 'spark' }, el('figure', {}, p.rate, p.rateCap), el('figure', {}, p.lat, p.latCap)),
      p.actions, p.message);
    if (s.pull) {
      p.pullModel = el('input', { type: 'text', placeholder: 'model (default: the service\'s own)' });
      p.pullBar = el('progress', { max: 1, value: 0, hidden: '' });
      p.pullText = el('div', { class: 'muted' });
      root.append(el('div', { class: 'pull' }, p.pullModel, el('button', { text: 'Pull model', onclick: () => pull(s.service, p) }), p.pullBar, p.pullText));
    }
    root.append(p.log);
    return { el: root, parts: p, history: [] };
  }

  function fmtBytes(b) { return b == null ? '-' : b >= 1 << 30 ? (b / 1073741824).toFixed(1) + ' GiB' : (b / 1048576).toFixed(1) + ' MiB'; }
  function fmtDuration(s) {
    if (s == null) return '-';
    if (s >= 86400) return Math.floor(s / 86400) + 'd ' + Math.floor(s % 86400 / 3600) + 'h';
    if (s >= 3600) return Math.floor(s / 3600) + 'h ' + Math.floor(s % 3600 / 60) + 'm';
    if (s >= 60) return Math.floor(s / 60) + 'm ' + Math.floor(s % 60) + 's';
    return Math.floor(s) + 's';
  }

  function fillCard(c, s) {
    const p = c.parts;
    c.data = s;
    p.state.textContent = s.active_state + '/' + s.sub_state;
    p.state.className = 'state ' + s.active_state;
    p.status.textContent = s.status_text || s.health_error || '';
    const rows = [
      ['backend', s.backend || '-'],
      ['models', (s.models || []).map((m) => m.name + ' (' + m.state + ')').join(', ') || '-'],
      ['port', s.port == null ? '?' : String(s.port)],
      ['health', s.health_status == null ? '-' : (s.ready ? 'ready' : 'not ready') + ' (' + s.health_status + ')'],
      ['memory', fmtBytes(s.memory_bytes)],
      ['restarts', String(s.restarts)],
      ['uptime', fmtDuration(s.uptime_seconds)],
      ['at boot', s.unit_file_state || '-'],
    ];
    p.dl.replaceChildren(...rows.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: v })]));
  }

  async function act(service, action, p) {
    for (const b of p.actions.querySelectorAll('button')) b.disabled = true;
    p.message.className = 'message';
    p.message.textContent = action + '…';
    try {
      const r = await api(`/api/services/${encodeURIComponent(service)}/${action}`, { method: 'POST' });
      if (r.ok) {
        const j = await r.json();
        p.message.className = 'message ok';
        p.message.textContent = j.message;
      } else {
        const e = await errorText(r);
        p.message.className = 'message ' + (e.code === 'polkit_refused' ? 'refused' : 'error');
        p.message.textContent = (e.code === 'polkit_refused' ? 'Not allowed: ' : '') + e.message;
      }
    } finally {
      for (const b of p.actions.querySelectorAll('button')) b.disabled = false;
      refresh();
    }
  }

  async function toggleLog(service, p) {
    if (!p.log.hidden) { p.log.hidden = true; return; }
    p.log.hidden = false;
    p.log.textContent = 'loading…';
    const r = await api(`/api/services/${encodeURIComponent(service)}/logs?lines=100`);
    if (!r.ok) { p.log.textContent = (await errorText(r)).message; return; }
    const j = await r.json();
    p.log.textContent = j.lines.join('\n') || '(no entries)';
    p.log.scrollTop = p.log.scrollHeight;
  }

  async function readLines(r, onLine) {
    const reader = r.body.getReader();
    const dec = new TextDecoder();
    let buf = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        if (line) { try { onLine(JSON.parse(line)); } catch (_) { /* skip */ } }
      }
    }
    if (buf.trim()) { try { onLine(JSON.parse(buf)); } catch (_) { /* skip */ } }
  }

  async function pull(service, p) {
    const model = p.pullModel.value.trim();
    p.pullBar.hidden = false;
    p.pullBar.removeAttribute('value');
    p.pullText.textContent = 'starting…';
    const r = await api(`/api/services/${encodeURIComponent(service)}/pull`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(model ? { model } : {}) });
    if (!r.ok) { p.pullText.textContent = (await errorText(r)).message; p.pullBar.hidden = true; return; }
    let last = '';
    await readLines(r, (l) => {
      if (l.error) { last = 'error: ' + l.error; return; }
      if (l.total > 0 && l.completed != null) { p.pullBar.max = l.total; p.pullBar.value = l.completed; }
      last = l.status || last;
      p.pullText.textContent = last + (l.total > 0 ? ` ${(100 * (l.completed || 0) / l.total).toFixed(0)}%` : '');
    });
    p.pullText.textContent = last === 'success' ? 'pulled' : last;
    refresh();
  }

  // ---- sparklines ----
  async function pollMetrics() {
    for (const [service, c] of cards) {
      if (!c.data || c.data.active_state !== 'active') continue;
      const r = await api(`/api/services/${encodeURIComponent(service)}/metrics`);
      if (!r.ok) continue;
      const m = await r.json();
      const prev = c.last;
      c.last = m;
      if (!prev || m.at_unix_ms <= prev.at_unix_ms || m.requests < prev.requests) continue;
      const dt = (m.at_unix_ms - prev.at_unix_ms) / 1000;
      const n = m.latency_count - prev.latency_count;
      c.history.push({ rate: (m.requests - prev.requests) / dt, latency: n > 0 ? 1000 * (m.latency_sum_seconds - prev.latency_sum_seconds) / n : null });
      if (c.history.length > 60) c.history.shift();
      const h = c.history;
      const lastRate = h[h.length - 1].rate, lastLat = h[h.length - 1].latency;
      c.parts.rateCap.textContent = 'requests/s ' + lastRate.toFixed(2);
      c.parts.latCap.textContent = 'latency ms ' + (lastLat == null ? '-' : lastLat.toFixed(1));
      spark(c.parts.rate, h.map((x) => x.rate));
      spark(c.parts.lat, h.map((x) => x.latency));
    }
  }

  function spark(canvas, values) {
    const g = canvas.getContext('2d');
    const w = canvas.width, hgt = canvas.height;
    g.clearRect(0, 0, w, hgt);
    const vs = values.map((v) => (v == null ? 0 : v));
    const max = Math.max(1e-9, ...vs);
    g.strokeStyle = '#2457c5';
    g.lineWidth = 1.5;
    g.beginPath();
    vs.forEach((v, i) => {
      const x = vs.length === 1 ? w / 2 : (i / (vs.length - 1)) * (w - 2) + 1;
      const y = hgt - 2 - (v / max) * (hgt - 4);
      if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
    });
    g.stroke();
  }

  // ---- try it ----
  function tryUrl(service) { return `/api/services/${encodeURIComponent(service)}/try`; }

  function addPanel(s) {
    $('try-title').hidden = false;
    const out = el('div', { class: 'result' });
    const panel = el('article', { class: 'panel', 'data-try': s.try, 'data-service': s.service },
      el('h3', {}, el('span', { text: s.service }), el('span', { class: 'muted', text: s.try })));
    const builders = { pose: imagePanel, ocr: imagePanel, depth: imagePanel, chat: chatPanel, transcribe: audioPanel, speech: speechPanel };
    builders[s.try](s, panel, out);
    panel.append(out);
    $('try').append(panel);
  }

  async function failure(out, r) {
    const e = await errorText(r);
    out.replaceChildren(el('span', { class: 'error', text: e.message }));
  }

  function loadImage(file) {
    return new Promise((resolve, reject) => {
      const url = URL.createObjectURL(file);
      const img = new Image();
      img.onload = () => resolve(img);
      img.onerror = () => reject(new Error('the browser cannot show this image'));
      img.src = url;
    });
  }

  function imagePanel(s, panel, out) {
    const input = el('input', { type: 'file', accept: 'image/*' });
    const go = el('button', { text: 'Run', onclick: async () => {
      const file = input.files[0];
      if (!file) { out.textContent = 'choose an image first'; return; }
      go.disabled = true;
      out.textContent = 'running…';
      try {
        const r = await api(tryUrl(s.service), { method: 'POST', headers: { 'Content-Type': file.type || 'application/octet-stream' }, body: file });
        if (!r.ok) { await failure(out, r); return; }
        const j = await r.json();
        if (s.try === 'depth') {
          const img = el('img', { alt: 'depth map', 'data-result': 'depth' });
          img.src = 'data:image/png;base64,' + j.depth_image;
          out.replaceChildren(img, el('div', { class: 'muted', text: j.stats ? `min ${j.stats.min} max ${j.stats.max} (${j.unit || ''})` : '' }));
          return;
        }
        const img = await loadImage(file);
        const canvas = el('canvas', { 'data-result': s.try });
        canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
        const g = canvas.getContext('2d');
        g.drawImage(img, 0, 0);
        g.lineWidth = Math.max(2, img.naturalWidth / 300);
        if (s.try === 'pose') {
          for (const pose of j.poses || []) {
            g.strokeStyle = '#22c55e';
            for (const b of pose.skeleton || []) {
              const a = pose.keypoints[b.from_index], z = pose.keypoints[b.to_index];
              if (!a || !z || a.confidence < 0.3 || z.confidence < 0.3) continue;
              g.beginPath(); g.moveTo(a.x, a.y); g.lineTo(z.x, z.y); g.stroke();
            }
            g.fillStyle = '#ef4444';
            for (const k of pose.keypoints || []) {
              if (k.confidence < 0.3) continue;
              g.beginPath(); g.arc(k.x, k.y, g.lineWidth * 1.5, 0, 2 * Math.PI); g.fill();
            }
          }
          out.replaceChildren(canvas, el('div', { 'data-count': String(j.count), text: `${j.count} ${j.count === 1 ? 'person' : 'people'}` }));
        } else {
          g.strokeStyle = '#f59e0b';
          const list = el('ul', { class: 'texts' });
          for (const region of j.regions || []) {
            const b = region.bbox;
            g.beginPath(); g.moveTo(b[0][0], b[0][1]);
            for (const pt of b.slice(1)) g.lineTo(pt[0], pt[1]);
            g.closePath(); g.stroke();
            list.append(el('li', { text: region.text }));
          }
          out.replaceChildren(canvas, list);
        }
      } catch (e) {
        out.textContent = String(e.message || e);
      } finally { go.disabled = false; }
    } });
    panel.append(input, go);
  }

  function chatPanel(s, panel, out) {
    const log = el('div', { class: 'chat-log', 'data-result': 'chat' });
    const text = el('textarea', { rows: 2, placeholder: 'Say something' });
    const messages = [];
    const send = el('button', { text: 'Send', onclick: async () => {
      const content = text.value.trim();
      if (!content) return;
      const card = cards.get(s.service);
      const model = card && card.data && card.data.models && card.data.models[0] ? card.data.models[0].name : '';
      messages.push({ role: 'user', content });
      text.value = '';
      log.append(el('div', { class: 'user', text: '> ' + content }));
      const reply = el('div', { class: 'assistant' });
      log.append(reply);
      send.disabled = true;
      out.textContent = '';
      try {
        const r = await api(tryUrl(s.service), { method: 'POST', headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ model, messages, stream: true }) });
        if (!r.ok) { await failure(out, r); messages.pop(); return; }
        let all = '';
        await readLines(r, (l) => {
          if (l.error) { out.textContent = l.error; return; }
          if (l.message && l.message.content) { all += l.message.content; reply.textContent = all; log.scrollTop = log.scrollHeight; }
        });
        messages.push({ role: 'assistant', content: all });
      } finally { send.disabled = false; }
    } });
    panel.append(log, text, send);
  }

  function audioPanel(s, panel, out) {
    const input = el('input', { type: 'file', accept: 'audio/*' });
    const go = el('button', { text: 'Transcribe', onclick: async () => {
      const file = input.files[0];
      if (!file) { out.textContent = 'choose an audio file first'; return; }
      const form = new FormData();
      form.append('file', file, file.name);
      go.disabled = true;
      out.textContent = 'transcribing…';
      try {
        const r = await api(tryUrl(s.service), { method: 'POST', body: form });
        if (!r.ok) { await failure(out, r); return; }
        const j = await r.json();
        out.replaceChildren(el('div', { 'data-result': 'transcribe', text: j.text }));
      } finally { go.disabled = false; }
    } });
    panel.append(input, go);
  }

  function speechPanel(s, panel, out) {
    const text = el('input', { type: 'text', value: 'Hello from the Hailo portal.' });
    const go = el('button', { text: 'Speak', onclick: async () => {
      go.disabled = true;
      out.textContent = 'synthesising…';
      try {
        const r = await api(tryUrl(s.service), { method: 'POST', headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ input: text.value, response_format: 'wav' }) });
        if (!r.ok) { await failure(out, r); return; }
        const blob = await r.blob();
        const audio = el('audio', { controls: '', 'data-result': 'speech', 'data-bytes': String(blob.size) });
        audio.src = URL.createObjectURL(blob);
        out.replaceChildren(audio);
      } finally { go.disabled = false; }
    } });
    panel.append(text, go);
  }

  start().catch((e) => banner(String(e.message || e)));
})();
