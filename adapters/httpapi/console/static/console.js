// taskrouter console. Plain JavaScript, no dependencies: it reads the
// router's /v1/console routes (with the API key kept in this tab's
// sessionStorage) and draws each request's plan and timeline as SVG.
'use strict';

(() => {
  const KEY_STORE = 'taskrouter.console.key';
  const SVGNS = 'http://www.w3.org/2000/svg';
  const STEP_STATUSES = ['pending', 'running', 'done', 'failed', 'cancelled'];

  const state = {
    key: sessionStorage.getItem(KEY_STORE) || '',
    list: new Map(), // id -> summary, with recv (performance.now() at receipt)
    selected: null, // request id shown
    detail: null, // the request shown, as /v1/console/requests/{id} has it
    detailRecv: 0,
    step: null, // the step shown in the detail pane; null for the request
    follow: true, // show the newest request as it comes
    models: [],
    needKey: false, // the router refused the key (or its absence)
  };

  const $ = (id) => document.getElementById(id);

  class AuthError extends Error {}

  // ---- DOM helpers -------------------------------------------------------

  function h(tag, attrs, ...children) {
    const e = document.createElement(tag);
    setAttrs(e, attrs);
    for (const c of children) append(e, c);
    return e;
  }

  function s(tag, attrs, ...children) {
    const e = document.createElementNS(SVGNS, tag);
    setAttrs(e, attrs);
    for (const c of children) append(e, c);
    return e;
  }

  function setAttrs(e, attrs) {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v === true ? '' : String(v));
    }
  }

  function append(e, c) {
    if (c === null || c === undefined || c === false) return;
    e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  }

  function clear(e) {
    while (e.firstChild) e.removeChild(e.firstChild);
  }

  // ---- formatting --------------------------------------------------------

  function fmtMs(ms) {
    if (ms === null || ms === undefined || !isFinite(ms)) return '—';
    if (ms < 1) return ms.toFixed(2) + ' ms';
    if (ms < 10) return ms.toFixed(1) + ' ms';
    if (ms < 1000) return Math.round(ms) + ' ms';
    if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + ' s';
    const sec = Math.round(ms / 1000);
    return Math.floor(sec / 60) + 'm ' + String(sec % 60).padStart(2, '0') + 's';
  }

  function fmtCost(c) {
    if (!c) return '$0';
    if (c < 0.0001) return '<$0.0001';
    return '$' + c.toFixed(c < 0.01 ? 4 : c < 1 ? 3 : 2);
  }

  function fmtAge(iso) {
    const sec = (Date.now() - Date.parse(iso)) / 1000;
    if (!isFinite(sec) || sec < 5) return 'just now';
    if (sec < 60) return Math.floor(sec) + 's ago';
    if (sec < 3600) return Math.floor(sec / 60) + 'm ago';
    return Math.floor(sec / 3600) + 'h ago';
  }

  function fmtTokens(u) {
    if (!u) return '—';
    const n = (u.prompt_tokens || 0) + (u.completion_tokens || 0);
    return n ? n.toLocaleString() + ' (' + (u.prompt_tokens || 0) + ' in, ' + (u.completion_tokens || 0) + ' out)' : '0';
  }

  function cut(text, n) {
    text = text || '';
    return text.length > n ? text.slice(0, n - 1) + '…' : text;
  }

  function oneLine(text) {
    return (text || '').replace(/\s+/g, ' ').trim();
  }

  // ---- API ---------------------------------------------------------------

  async function api(path, opts) {
    const o = Object.assign({}, opts);
    o.headers = Object.assign({}, o.headers);
    if (state.key) o.headers.Authorization = 'Bearer ' + state.key;
    const res = await fetch(path, o);
    if (res.status === 401) {
      needKey();
      throw new AuthError('unauthorized');
    }
    return res;
  }

  async function errorText(res) {
    try {
      const body = await res.json();
      if (body && body.error && body.error.message) return body.error.message;
    } catch (e) {
      // not JSON: fall through to the status
    }
    return 'HTTP ' + res.status;
  }

  function needKey() {
    const b = $('banner');
    const first = b.hidden;
    state.needKey = true;
    b.textContent = state.key
      ? 'This API key was refused. Type one of the router\'s keys (TASKROUTER_API_KEYS) above.'
      : 'This router needs an API key: type one of its keys (TASKROUTER_API_KEYS) above. It is kept in this browser tab only.';
    b.hidden = false;
    setLive('error', 'needs a key');
    if (first) $('key').focus();
  }

  function setLive(st, text) {
    $('live').dataset.state = st;
    $('live-text').textContent = text || st;
  }

  // ---- live updates ------------------------------------------------------

  let stream = null; // {ctrl, gen}
  let streamGen = 0;
  let retryMs = 1000;

  function connect() {
    if (stream) stream.ctrl.abort();
    const ctrl = new AbortController();
    const gen = ++streamGen;
    stream = { ctrl, gen };
    setLive('connecting', 'connecting');
    follow(ctrl, gen).catch(() => {});
  }

  async function follow(ctrl, gen) {
    try {
      const res = await api('/v1/console/events', { signal: ctrl.signal, headers: { Accept: 'text/event-stream' } });
      if (!res.ok) throw new Error(await errorText(res));
      setLive('live', 'live');
      retryMs = 1000;
      await readSSE(res.body, onStreamEvent);
    } catch (e) {
      if (ctrl.signal.aborted || e instanceof AuthError) return;
    }
    if (gen !== streamGen) return;
    setLive('error', 'reconnecting');
    setTimeout(() => { if (gen === streamGen) connect(); }, retryMs);
    retryMs = Math.min(retryMs * 2, 10000);
  }

  async function readSSE(body, onEvent) {
    const reader = body.getReader();
    const dec = new TextDecoder();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += dec.decode(value, { stream: true });
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        let name = 'message';
        let data = '';
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) name = line.slice(7);
          else if (line.startsWith('data: ')) data += line.slice(6);
        }
        if (data) onEvent(name, data);
      }
    }
  }

  function onStreamEvent(name, data) {
    let v;
    try {
      v = JSON.parse(data);
    } catch (e) {
      return;
    }
    const now = performance.now();
    if (name === 'requests') {
      state.list = new Map();
      for (const r of v.data || []) state.list.set(r.id, Object.assign(r, { recv: now }));
      if (state.follow) selectNewest();
      else if (state.selected) refreshDetail();
    } else if (name === 'request') {
      const isNew = !state.list.has(v.id);
      const before = state.list.get(v.id);
      if (v.status !== 'running' && (!before || before.status === 'running')) modelsSoon();
      state.list.set(v.id, Object.assign(v, { recv: now }));
      if (isNew && state.follow) selectNewest();
      else if (v.id === state.selected) refreshDetail();
    } else if (name === 'removed') {
      state.list.delete(v.id);
    }
    scheduleList();
  }

  // ---- the request list --------------------------------------------------

  let listQueued = false;

  function scheduleList() {
    if (listQueued) return;
    listQueued = true;
    requestAnimationFrame(() => {
      listQueued = false;
      renderList();
    });
  }

  function sortedList() {
    return [...state.list.values()].sort((a, b) => Date.parse(b.started_at) - Date.parse(a.started_at));
  }

  function liveDuration(r) {
    return r.status === 'running' ? r.duration_ms + (performance.now() - r.recv) : r.duration_ms;
  }

  function renderList() {
    const ol = $('requests');
    const items = sortedList();
    $('noreqs').hidden = items.length > 0;
    clear(ol);
    for (const r of items) {
      const li = h('li', { 'data-request': r.id, 'data-status': r.status, tabindex: 0, role: 'option',
        'aria-selected': r.id === state.selected ? 'true' : 'false', title: r.id },
      h('span', { class: 'sdot', 'data-status': r.status }),
      h('span', { class: 'text', text: oneLine(r.input) || r.id }),
      h('span', { class: 'right' },
        h('span', { class: 'dur', text: fmtMs(liveDuration(r)) }),
        fmtCost(r.cost_usd)),
      h('span', { class: 'meta' },
        h('span', { class: 'badge', text: r.ingress || '?' }),
        r.remote ? h('span', { class: 'badge', text: 'remote', title: 'run by another router' }) : null,
        h('span', { text: r.done + '/' + r.subtasks + ' steps' }),
        r.error ? h('span', { class: 'error', text: r.error }) : null,
        h('span', { text: fmtAge(r.started_at) })));
      ol.appendChild(li);
    }
  }

  function onListActivate(ev) {
    const li = ev.target.closest('li[data-request]');
    if (!li) return;
    if (ev.type === 'keydown' && ev.key !== 'Enter' && ev.key !== ' ') return;
    ev.preventDefault();
    select(li.dataset.request, true);
  }

  function selectNewest() {
    const newest = sortedList()[0];
    if (newest && newest.id !== state.selected) select(newest.id, false);
  }

  function setFollow(on) {
    state.follow = on;
    $('follow').checked = on;
  }

  function select(id, byUser) {
    if (byUser) setFollow(false);
    if (id !== state.selected) {
      state.selected = id;
      state.step = null;
      state.detail = null;
      history.replaceState(null, '', location.pathname + '?request=' + encodeURIComponent(id));
    }
    scheduleList();
    refreshDetail();
  }

  // ---- one request -------------------------------------------------------

  let detailBusy = false;
  let detailDirty = false;

  async function refreshDetail() {
    if (!state.selected) {
      renderDetail();
      return;
    }
    if (detailBusy) {
      detailDirty = true;
      return;
    }
    detailBusy = true;
    const id = state.selected;
    try {
      const res = await api('/v1/console/requests/' + encodeURIComponent(id));
      if (id === state.selected) {
        const prev = state.detail;
        if (res.ok) {
          state.detail = await res.json();
          state.detailRecv = performance.now();
        } else {
          state.detail = null;
        }
        // Redraw only what changed: a click on a node must find it there.
        const d = state.detail;
        if (!d || !prev || prev.id !== d.id || prev.seq !== d.seq || d.status === 'running') renderDetail();
      }
    } catch (e) {
      // the banner or the live indicator says what is wrong
    } finally {
      detailBusy = false;
      if (detailDirty) {
        detailDirty = false;
        setTimeout(() => { refreshDetail().catch(() => {}); }, 80);
      }
    }
  }

  // nowMs is the request's clock now: its duration so far while it runs.
  function nowMs(d) {
    return d.status === 'running' ? d.duration_ms + (performance.now() - state.detailRecv) : d.duration_ms;
  }

  function renderDetail() {
    const d = state.detail;
    $('norequest').hidden = !!d;
    $('reqinfo').hidden = !d;
    if (!state.selected) {
      $('norequest').textContent = 'No request selected.';
    } else if (!d) {
      $('norequest').textContent = 'Request ' + state.selected + ' is not among the recent ones yet (a queued job appears when it starts).';
    }
    if (!d) {
      clear($('dag'));
      clear($('timeline'));
      clear($('detailbody'));
      $('detailtitle').textContent = 'Request';
      $('detailmeta').textContent = '';
      return;
    }
    renderHead(d);
    renderDAG(d);
    renderTimeline(d);
    renderPane(d);
  }

  function renderHead(d) {
    const st = $('rstatus');
    st.textContent = d.status;
    st.dataset.status = d.status;
    $('rid').textContent = d.id;
    $('ringress').textContent = (d.ingress || '?') + (d.remote ? ' (another router)' : '');
    $('rduration').textContent = fmtMs(nowMs(d)) + (d.status === 'running' ? ' so far' : '');
    $('rcost').textContent = fmtCost(d.cost_usd);
    $('rtokens').textContent = fmtTokens(d.usage);
    const n = (d.steps || []).length;
    $('rplanner').textContent = d.plan_ms === null ? '—' : n + (n === 1 ? ' step' : ' steps') + (d.planner ? ' by ' + d.planner : '') +
      (d.plan_ms >= 0.05 ? ', ready at ' + fmtMs(d.plan_ms) : '');
    $('rmerge').textContent = d.merge ? d.merge + (d.model ? ' · ' + d.model : '') : d.status === 'running' ? '…' : '—';
    $('rstarted').textContent = 'started ' + new Date(d.started_at).toLocaleTimeString() + ' · ' + fmtAge(d.started_at);
  }

  function selectStep(id) {
    state.step = id;
    if (state.detail) {
      renderDAG(state.detail);
      renderTimeline(state.detail);
      renderPane(state.detail);
    }
  }

  // ---- the plan as a DAG -------------------------------------------------

  const NODE_W = 168;
  const NODE_H = 50;
  const TERM_W = 86;
  const COL_GAP = 46;
  const ROW_GAP = 14;
  const PAD = 10;
  const SOURCE = '\u0000request';
  const SINK = '\u0000answer';

  // layout places each step in a column by its dependency depth, left to
  // right, and orders each column by where its dependencies are.
  function layout(steps, widthOf) {
    const index = new Map(steps.map((st, i) => [st.id, i]));
    const depth = new Map();
    const visiting = new Set();
    const depthOf = (id) => {
      if (depth.has(id)) return depth.get(id);
      if (visiting.has(id)) return 0; // a cycle: never in a valid plan
      visiting.add(id);
      let v = 0;
      for (const p of steps[index.get(id)].deps || []) {
        if (index.has(p) && p !== id) v = Math.max(v, depthOf(p) + 1);
      }
      visiting.delete(id);
      depth.set(id, v);
      return v;
    };
    const cols = [];
    for (const st of steps) {
      const c = depthOf(st.id);
      (cols[c] = cols[c] || []).push(st);
    }
    const row = new Map();
    const bary = (st) => {
      const ps = (st.deps || []).filter((p) => row.has(p));
      return ps.length ? ps.reduce((t, p) => t + row.get(p), 0) / ps.length : 0;
    };
    const filled = cols.filter(Boolean);
    filled.forEach((col, c) => {
      if (c > 0) col.sort((a, b) => bary(a) - bary(b));
      col.forEach((st, r) => row.set(st.id, r));
    });
    const rows = Math.max(1, ...filled.map((c) => c.length));
    const height = PAD * 2 + rows * NODE_H + (rows - 1) * ROW_GAP;
    const pos = new Map();
    let x = PAD;
    filled.forEach((col) => {
      const w = Math.max(...col.map(widthOf));
      const off = (height - (col.length * NODE_H + (col.length - 1) * ROW_GAP)) / 2;
      col.forEach((st, r) => pos.set(st.id, { x: x + (w - widthOf(st)) / 2, y: off + r * (NODE_H + ROW_GAP), w: widthOf(st) }));
      x += w + COL_GAP;
    });
    return { pos, width: x - COL_GAP + PAD, height };
  }

  // withEnds adds the request before the steps that need nothing and the
  // answer after the steps nothing needs, so that every plan reads left
  // to right from what was asked to what was answered.
  function withEnds(steps) {
    const known = new Set(steps.map((st) => st.id));
    const needed = new Set();
    for (const st of steps) for (const p of st.deps || []) if (known.has(p)) needed.add(p);
    const out = [{ id: SOURCE, deps: [], term: true }];
    for (const st of steps) {
      const deps = (st.deps || []).filter((p) => known.has(p));
      out.push(Object.assign({}, st, { deps: deps.length ? deps : [SOURCE] }));
    }
    out.push({ id: SINK, deps: steps.filter((st) => !needed.has(st.id)).map((st) => st.id), term: true });
    return out;
  }

  function renderDAG(d) {
    const box = $('dag');
    clear(box);
    if (!(d.steps || []).length) {
      box.appendChild(h('div', { class: 'empty muted', text: d.status === 'running' ? 'Planning…' : 'No plan: the request ended before one was made.' }));
      return;
    }
    const steps = withEnds(d.steps);
    const { pos, width, height } = layout(steps, (st) => (st.term ? TERM_W : NODE_W));
    const svg = s('svg', { width, height, viewBox: '0 0 ' + width + ' ' + height, role: 'img', 'aria-label': 'The plan: its steps and their dependencies' });
    svg.appendChild(s('defs', {},
      s('marker', { id: 'arrow', viewBox: '0 0 8 8', refX: 8, refY: 4, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
        s('path', { d: 'M0,0 L8,4 L0,8 z', class: 'arrow' }))));
    const status = new Map(steps.map((st) => [st.id, st.term ? 'done' : st.status]));
    for (const st of steps) {
      const to = pos.get(st.id);
      for (const p of st.deps || []) {
        const from = pos.get(p);
        if (!from || p === st.id) continue;
        const x1 = from.x + from.w;
        const y1 = from.y + NODE_H / 2;
        const x2 = to.x - 2;
        const y2 = to.y + NODE_H / 2;
        const mx = (x1 + x2) / 2;
        svg.appendChild(s('path', { class: 'edge' + (status.get(p) === 'done' ? ' done' : ''), 'marker-end': 'url(#arrow)',
          d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}` }));
      }
    }
    for (const st of steps) svg.appendChild(st.term ? dagEnd(st, pos.get(st.id), d) : dagNode(st, pos.get(st.id)));
    box.appendChild(svg);
  }

  // dagEnd draws the request or the answer at an end of the plan.
  function dagEnd(st, p, d) {
    const source = st.id === SOURCE;
    const title = source ? 'request' : 'answer';
    const sub = source ? d.ingress || '' : d.status === 'running' ? '…' : d.merge || d.status;
    const st8 = source ? 'done' : d.status;
    return s('g', { class: 'term', transform: `translate(${p.x},${p.y})`, 'data-end': title, 'data-status': st8 },
      s('title', { text: source ? 'The request, from ' + (d.ingress || '?') : 'The answer: ' + (d.merge || d.status) }),
      s('rect', { class: 'box', width: TERM_W, height: NODE_H, rx: NODE_H / 2 }),
      s('text', { class: 'cap', x: TERM_W / 2, y: 21, 'text-anchor': 'middle', text: title }),
      s('text', { class: 'mod', x: TERM_W / 2, y: 37, 'text-anchor': 'middle', text: cut(sub, 10) }));
  }

  function dagNode(st, p) {
    const last = (st.attempts || [])[st.attempts.length - 1];
    const took = last && last.ended_ms !== null ? fmtMs(last.ended_ms - st.attempts[0].dispatched_ms) : '';
    const g = s('g', { class: 'node' + (st.id === state.step ? ' selected' : ''), transform: `translate(${p.x},${p.y})`,
      'data-step': st.id, 'data-status': STEP_STATUSES.includes(st.status) ? st.status : 'pending', tabindex: 0, role: 'button' },
    s('title', { text: `${st.id} · ${st.capability || '?'} — ${st.status}${took ? ' in ' + took : ''}${st.model ? ' on ' + st.model : ''}` }),
    s('rect', { class: 'box', width: NODE_W, height: NODE_H, rx: 7 }),
    s('circle', { class: 'bar', cx: NODE_W - 12, cy: 14, r: 4 }),
    s('text', { class: 'cap', x: 12, y: 20, text: cut(st.capability || st.id, 17) }),
    s('text', { class: 'sid', x: NODE_W - 22, y: 18, 'text-anchor': 'end', text: cut(st.id, 8) }),
    s('text', { class: 'mod', x: 12, y: 38, text: cut(st.model || (st.status === 'pending' ? 'waiting' : '—'), 19) + (took ? '  ' + took : '') }));
    return g;
  }

  function onStepActivate(ev) {
    const g = ev.target.closest('[data-step]');
    if (!g) return;
    if (ev.type === 'keydown' && ev.key !== 'Enter' && ev.key !== ' ') return;
    ev.preventDefault();
    selectStep(g.dataset.step === state.step ? null : g.dataset.step);
  }

  // ---- the timeline ------------------------------------------------------

  const LABEL_W = 200;
  const NOTE_W = 170;
  const ROW_H = 24;
  const BAR_H = 12;
  const TOP = 24;

  function niceStep(span) {
    const raw = span / 6;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 5, 10]) if (raw <= m * p) return m * p;
    return 10 * p;
  }

  function fmtTick(ms, step) {
    if (step >= 1000) return (ms / 1000).toFixed(step >= 10000 ? 0 : 1) + ' s';
    const dec = step >= 1 ? 0 : Math.min(3, Math.ceil(-Math.log10(step)));
    return ms.toFixed(dec) + ' ms';
  }

  // timelineRows lists what the chart draws: the planning, then every
  // attempt of every step, in plan order; a step never dispatched gets a
  // row with no bar.
  function timelineRows(d) {
    const rows = [];
    if (d.plan_ms !== null && d.plan_ms > 0) rows.push({ kind: 'plan' });
    for (const st of d.steps || []) {
      if (!st.attempts.length) rows.push({ kind: 'idle', step: st });
      for (const a of st.attempts) rows.push({ kind: 'attempt', step: st, a });
    }
    return rows;
  }

  function renderTimeline(d) {
    const box = $('timeline');
    clear(box);
    const rows = timelineRows(d);
    if (!rows.length) {
      box.appendChild(h('div', { class: 'empty muted', text: 'Nothing ran yet.' }));
      return;
    }
    const now = nowMs(d);
    let span = Math.max(now, d.plan_ms || 0, 0.01);
    for (const r of rows) if (r.a) span = Math.max(span, r.a.ended_ms === null ? now : r.a.ended_ms);
    const W = Math.max(box.clientWidth, 560);
    const plotW = W - LABEL_W - NOTE_W;
    const scale = plotW / span;
    const x = (ms) => LABEL_W + Math.max(0, ms) * scale;
    const H = TOP + rows.length * ROW_H + 6;
    const svg = s('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'Timeline of the request\'s attempts',
      'data-scale': scale, 'data-origin': LABEL_W, 'data-span': span });
    svg.appendChild(s('defs', {},
      s('pattern', { id: 'hatch', width: 5, height: 5, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' },
        s('line', { x1: 0, y1: 0, x2: 0, y2: 5, class: 'hatchline' }))));
    svg.appendChild(axis(span, x, H));
    rows.forEach((r, i) => svg.appendChild(timelineRow(r, TOP + i * ROW_H, x, now, W)));
    if (d.status !== 'running') {
      const ex = x(d.duration_ms);
      svg.appendChild(s('line', { class: 'endline', x1: ex, x2: ex, y1: TOP - 4, y2: H - 4 }));
      svg.appendChild(s('text', { class: 'endlabel', x: ex + 4, y: TOP - 6, text: 'answered · ' + fmtMs(d.duration_ms) }));
    }
    box.appendChild(svg);
  }

  function axis(span, x, H) {
    const g = s('g', { class: 'axis' });
    const step = niceStep(span);
    for (let t = 0; t <= span + step * 1e-9; t += step) {
      const tx = x(t);
      g.appendChild(s('line', { x1: tx, x2: tx, y1: TOP - 4, y2: H - 4, class: 'gridline' }));
      g.appendChild(s('text', { x: tx, y: 12, 'text-anchor': t === 0 ? 'start' : 'middle', text: t === 0 ? '0' : fmtTick(t, step) }));
    }
    return g;
  }

  function timelineRow(r, y, x, now, W) {
    const id = r.step ? r.step.id : 'plan';
    const g = s('g', { class: 'tl-row' + (r.step && r.step.id === state.step ? ' selected' : ''), 'data-step': r.step ? id : null });
    g.appendChild(s('rect', { class: 'tl-bg', x: 0, y, width: W, height: ROW_H }));
    const mid = y + ROW_H / 2;
    const by = mid - BAR_H / 2;
    if (r.kind === 'plan') {
      const d = state.detail;
      g.appendChild(s('text', { class: 'tl-label', x: 8, y: mid + 4 }, 'plan ', s('tspan', { class: 'cap', text: d.planner || 'given' })));
      g.appendChild(s('rect', { class: 'seg plan', x: x(0), y: by, width: Math.max(1.5, x(d.plan_ms) - x(0)), height: BAR_H, rx: 2 }));
      g.appendChild(s('text', { class: 'tl-note', x: x(d.plan_ms) + 6, y: mid + 4, text: 'planned in ' + fmtMs(d.plan_ms) }));
      return g;
    }
    const st = r.step;
    const label = st.id + (r.a && st.attempts.length > 1 ? ' #' + r.a.attempt : '');
    g.appendChild(s('text', { class: 'tl-label', x: 8, y: mid + 4 }, cut(label, 10) + ' ', s('tspan', { class: 'cap', text: cut(st.capability, 22 - Math.min(label.length, 10)) })));
    if (r.kind === 'idle') {
      const why = st.error ? st.error.code + ': ' + st.error.message : st.status;
      const text = { failed: 'not dispatched · ' + why, cancelled: 'not run · ' + why, running: 'choosing a model' }[st.status] || 'waiting for its dependencies';
      g.appendChild(s('text', { class: 'tl-note' + (st.status === 'failed' ? ' bad' : ''), x: LABEL_W + 4, y: mid + 4, text: cut(text, 110) }));
      return g;
    }
    const a = r.a;
    const end = a.ended_ms === null ? now : a.ended_ms;
    const acc = a.accepted_ms === null ? end : a.accepted_ms;
    g.setAttribute('data-attempt', a.attempt);
    g.setAttribute('data-start-ms', a.dispatched_ms);
    g.setAttribute('data-end-ms', end);
    g.setAttribute('data-x0', x(a.dispatched_ms));
    g.setAttribute('data-x1', x(end));
    g.appendChild(s('title', { text: `${st.id} attempt ${a.attempt} on ${a.model || '?'}${a.executor ? ' (' + a.executor + ')' : ''}: ` +
      `queued ${fmtMs(acc - a.dispatched_ms)}, ran ${fmtMs(end - acc)}, ${a.status}${a.error ? ': ' + a.error.message : ''}` }));
    if (acc > a.dispatched_ms) {
      g.appendChild(s('rect', { class: 'seg queued', x: x(a.dispatched_ms), y: by + 1, width: Math.max(1, x(acc) - x(a.dispatched_ms)), height: BAR_H - 2 }));
    }
    const cls = a.status === 'queued' ? 'running' : a.status;
    if (a.accepted_ms !== null || a.status !== 'queued') {
      g.appendChild(s('rect', { class: 'seg ' + cls, x: x(acc), y: by, width: Math.max(1.5, x(end) - x(acc)), height: BAR_H, rx: 2 }));
    }
    const note = cut(a.model || '', 24) + ' · ' + fmtMs(end - a.dispatched_ms) + (a.status === 'retried' ? ' · retried' : a.status === 'failed' ? ' · failed' : '');
    g.appendChild(s('text', { class: 'tl-note', x: x(end) + 6, y: mid + 4, text: note }));
    return g;
  }

  // ---- the detail pane ---------------------------------------------------

  function section(title, ...content) {
    return h('div', {}, h('h3', { text: title }), ...content);
  }

  function pretty(text, format) {
    if (format === 'json') {
      try {
        return JSON.stringify(JSON.parse(text), null, 2);
      } catch (e) {
        return text;
      }
    }
    return text;
  }

  function renderPane(d) {
    const body = $('detailbody');
    clear(body);
    const st = state.step && (d.steps || []).find((x) => x.id === state.step);
    if (!st) {
      state.step = null;
      $('detailtitle').textContent = 'Request';
      $('detailmeta').textContent = 'click a step for its input and output';
      body.appendChild(section('Input', h('pre', { class: 'input', text: d.input || '(none)' })));
      if (d.error) body.appendChild(section('Error', h('pre', { class: 'err', text: d.error.code + ': ' + d.error.message })));
      body.appendChild(section('Answer', h('pre', { class: 'output', text: d.answer || (d.status === 'running' ? 'running…' : '(none)') })));
      if (d.clipped) body.appendChild(h('div', { class: 'small muted', text: 'Texts longer than 16 KiB are cut.' }));
      return;
    }
    $('detailtitle').textContent = st.id + ' · ' + (st.capability || '?');
    $('detailmeta').textContent = [st.status, st.model, st.executor, fmtTokens(st.usage), st.usage && st.usage.cost_usd ? fmtCost(st.usage.cost_usd) : ''].filter(Boolean).join(' · ');
    body.appendChild(h('div', {}, h('button', { class: 'ghost small', id: 'backtorequest', type: 'button', text: '← request' })));
    body.appendChild(section('Input', h('pre', { class: 'input', text: st.input || '(none)' })));
    if (st.args && Object.keys(st.args).length) {
      body.appendChild(section('Arguments', h('pre', { text: Object.entries(st.args).map(([k, v]) => k + ': ' + v).join('\n') })));
    }
    if (st.error) body.appendChild(section('Error', h('pre', { class: 'err', text: st.error.code + ': ' + st.error.message })));
    body.appendChild(section('Output', h('pre', { class: 'output', text: st.output ? pretty(st.output, st.format) : st.status === 'running' ? 'running…' : '(none)' })));
    if (st.attempts.length) body.appendChild(section('Attempts', attemptsTable(st)));
  }

  function attemptsTable(st) {
    const t = h('table', { class: 'attempts' }, h('tr', {}, ...['#', 'model', 'executor', 'queued', 'ran', 'status'].map((c) => h('th', { text: c }))));
    for (const a of st.attempts) {
      const acc = a.accepted_ms === null ? null : a.accepted_ms;
      t.appendChild(h('tr', {},
        h('td', { text: String(a.attempt) }), h('td', { text: a.model || '—' }), h('td', { text: a.executor || '—' }),
        h('td', { text: acc === null ? '—' : fmtMs(acc - a.dispatched_ms) }),
        h('td', { text: acc === null || a.ended_ms === null ? '—' : fmtMs(a.ended_ms - acc) }),
        h('td', { text: a.status + (a.error ? ': ' + a.error.code : '') })));
    }
    return t;
  }

  // ---- models ------------------------------------------------------------

  async function loadModels() {
    if (state.needKey) return; // until a key is typed
    try {
      const res = await api('/v1/console/models');
      if (!res.ok) {
        $('modelsnote').textContent = await errorText(res);
        return;
      }
      const body = await res.json();
      state.models = body.data || [];
      $('modelsnote').textContent = body.snapshot_as_of ? 'registry unreachable: as of ' + new Date(body.snapshot_as_of).toLocaleTimeString() : 'live · totals since this router started';
      renderModels();
    } catch (e) {
      // shown by the banner or the live indicator
    }
  }

  // modelsSoon reloads the models shortly after a request ends, so its
  // cost and counts show without waiting for the next poll.
  let modelsTimer = 0;
  function modelsSoon() {
    clearTimeout(modelsTimer);
    modelsTimer = setTimeout(loadModels, 200);
  }

  function circuitOf(m) {
    if (m.state === 'down') return ['down', 'no replicas'];
    const left = m.cooldown_until ? (Date.parse(m.cooldown_until) - Date.now()) / 1000 : 0;
    if (m.circuit === 'open') return ['open', left > 0 ? 'open · ' + Math.ceil(left) + 's' : 'open'];
    if (m.circuit === 'half_open') return ['half_open', 'half-open'];
    return ['closed', 'closed'];
  }

  function renderModels() {
    const tb = $('models');
    clear(tb);
    for (const m of state.models) {
      const [circuit, text] = circuitOf(m);
      const cap = (m.replicas || []).reduce((t, r) => t + (r.capacity || 0), 0);
      const tot = m.totals || {};
      tb.appendChild(h('tr', { 'data-model': m.name },
        h('td', { class: 'name' }, m.name, h('span', { class: 'caps', text: (m.capabilities || []).join(', ') })),
        h('td', { text: m.backend }),
        h('td', { class: 'num', text: String((m.replicas || []).length) }),
        h('td', { class: 'num', text: m.in_flight + (cap ? ' / ' + cap : '') }),
        h('td', { class: 'num', text: m.latency_ms ? fmtMs(m.latency_ms) : '—' }),
        h('td', {}, h('span', { class: 'pill', 'data-circuit': circuit, text })),
        h('td', { class: 'num', text: String(tot.subtasks || 0) }),
        h('td', { class: 'num', text: String(tot.failed || 0) }),
        h('td', { class: 'num', text: ((tot.prompt_tokens || 0) + (tot.completion_tokens || 0)).toLocaleString() }),
        h('td', { class: 'num', text: fmtCost(tot.cost_usd) })));
    }
    if (!state.models.length) tb.appendChild(h('tr', {}, h('td', { colspan: 10, class: 'muted', text: 'No model is registered.' })));
  }

  // ---- sending -----------------------------------------------------------

  async function send(ev) {
    ev.preventDefault();
    const text = $('sendtext').value.trim();
    const errBox = $('senderror');
    errBox.hidden = true;
    if (!text) {
      errBox.textContent = 'Type a request first.';
      errBox.hidden = false;
      return;
    }
    $('sendbtn').disabled = true;
    try {
      const res = await api('/v1/jobs', { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ model: 'taskrouter', input: text }) });
      if (!res.ok) throw new Error(await errorText(res));
      const job = await res.json();
      select(job.id, true);
    } catch (e) {
      if (!(e instanceof AuthError)) {
        errBox.textContent = 'Not sent: ' + e.message;
        errBox.hidden = false;
      }
    } finally {
      $('sendbtn').disabled = false;
    }
  }

  // ---- start -------------------------------------------------------------

  function useKey(ev) {
    ev.preventDefault();
    state.key = $('key').value.trim();
    if (state.key) sessionStorage.setItem(KEY_STORE, state.key);
    else sessionStorage.removeItem(KEY_STORE);
    $('banner').hidden = true;
    state.needKey = false;
    connect();
    loadModels();
    refreshDetail().catch(() => {});
  }

  function legend(el, items) {
    clear(el);
    for (const [cls, text] of items) el.appendChild(h('span', {}, h('i', { class: cls }), text));
  }

  function tick() {
    const d = state.detail;
    if (d && d.status === 'running') {
      renderHead(d);
      renderTimeline(d);
    }
    if ([...state.list.values()].some((r) => r.status === 'running')) scheduleList();
  }

  function start() {
    $('key').value = state.key;
    legend($('legend'), [['pending', 'waiting'], ['running', 'running'], ['done', 'done'], ['failed', 'failed'], ['cancelled', 'cancelled']]);
    legend($('tlegend'), [['plan', 'planning'], ['queued', 'queued'], ['running', 'running'], ['done', 'done'], ['retried', 'retried'], ['failed', 'failed']]);
    $('keyform').addEventListener('submit', useKey);
    $('sendform').addEventListener('submit', send);
    $('sendtext').addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) $('sendform').requestSubmit();
    });
    $('requests').addEventListener('click', onListActivate);
    $('requests').addEventListener('keydown', onListActivate);
    for (const id of ['dag', 'timeline']) {
      $(id).addEventListener('click', onStepActivate);
      $(id).addEventListener('keydown', onStepActivate);
    }
    $('detailbody').addEventListener('click', (ev) => {
      if (ev.target.id === 'backtorequest') selectStep(null);
    });
    $('follow').addEventListener('change', (ev) => {
      state.follow = ev.target.checked;
      if (state.follow) selectNewest();
    });
    $('copylink').addEventListener('click', () => {
      const url = location.origin + location.pathname + '?request=' + encodeURIComponent(state.selected || '');
      const done = () => { $('copylink').textContent = 'Copied'; setTimeout(() => { $('copylink').textContent = 'Copy link'; }, 1200); };
      if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(url).then(done, () => {});
      else window.prompt('Link to this request:', url);
    });
    let resizeTimer = 0;
    window.addEventListener('resize', () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(() => { if (state.detail) renderTimeline(state.detail); }, 100);
    });
    const asked = new URLSearchParams(location.search).get('request');
    setFollow(!asked);
    if (asked) select(asked, true);
    else renderDetail();
    connect();
    loadModels();
    setInterval(loadModels, 2500);
    setInterval(tick, 250);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
