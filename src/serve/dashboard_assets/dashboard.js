'use strict';
// flotilla serve's dashboard: reads the admin API of the origin that served it each second and
// redraws the tiles, charts, targets table and logs in place (charts.js's parts); its buttons
// POST to the API, and what a POST answers with an error shows in the message line (#message).
//
// What the browser test reads, beside charts.js's contract: the tiles have ids tile-rps,
// tile-errors, tile-p50, tile-p99, tile-healthy and tile-capacity; table#targets has one
// <tr data-target="ID" data-state="STATE"> per worker or target, STATE being the target's health
// (initial, healthy, unhealthy, draining, unused) or, before the worker is registered, its
// lifecycle state (pending); each such row has a button.kill and a button.stop (data-signal
// STOP, or CONT for a worker this page stopped). body[data-polled] counts the polls that
// answered.
(() => {
  const {h, num, pct, ms, text, list, when, colors} = Flotilla;
  const kPeriodMs = 1000;
  const kRetainS = 3 * 3600;  // serve's own default retention of per-second data
  const kLogRows = 200;  // the newest activities and decisions shown

  const state = {
    rows: [],  // /api/v1/series rows, oldest first
    markers: [],
    markerKeys: new Set(),
    lastT: null,  // t of the newest row
    summary: null,
    group: null,
    workers: [],
    targets: [],
    targetGroup: '',
    activities: [],
    decisions: [],
    polled: 0,
    busy: new Set(),  // workers a signal from this page is on its way to
    // Workers this page sent STOP and not CONT since: the API cannot tell a stopped worker.
    stopped: new Set(JSON.parse(sessionStorage.getItem('flotilla-stopped') || '[]')),
  };
  const $ = (id) => document.getElementById(id);

  class ApiError extends Error {}

  // The API's error body {"error", "field"} as a sentence.
  async function failure(res) {
    let body = null;
    try { body = await res.json(); } catch (e) { /* not JSON: the status says enough */ }
    let message = `${res.status} ${res.statusText}`.trim();
    if (body && body.error) message += `: ${body.error}${body.field ? ` (at ${body.field})` : ''}`;
    if (res.status === 401) message += ' \u2014 open the dashboard once as /?token=TOKEN';
    return new ApiError(message);
  }

  async function get(path) {
    const res = await fetch(path, {cache: 'no-store'});
    if (!res.ok) throw await failure(res);
    return res.json();
  }

  async function post(path, body) {
    const res = await fetch(path, {method: 'POST', cache: 'no-store', headers: {'Content-Type': 'application/json'},
      body: JSON.stringify(body)});
    if (!res.ok) throw await failure(res);
    return res.json();
  }

  function say(message, error) {
    const line = $('message');
    line.textContent = `${new Date().toLocaleTimeString('en-GB')}  ${message}`;
    line.className = 'message' + (error ? ' error' : '');
    line.hidden = false;
  }

  // A POST from a button: the button is disabled until it answers; the answer or the error goes
  // to the message line; then the page polls at once, so the change shows.
  async function act(button, what, path, body, done) {
    if (button) button.disabled = true;
    try {
      const answer = await post(path, body);
      say(done ? done(answer) : what);
    } catch (e) {
      say(`${what} failed: ${e.message}`, true);
    } finally {
      if (button) button.disabled = false;
      poll();
    }
  }

  const clock = (time) => {
    const d = new Date(time);
    return Number.isNaN(d.getTime()) ? text(time) : d.toLocaleTimeString('en-GB', {hour12: false});
  };

  // --- Data -------------------------------------------------------------------------------------

  function addSeries(series) {
    for (const row of list(series.rows)) {
      if (state.lastT !== null && row.t <= state.lastT) continue;
      state.rows.push(row);
      state.lastT = row.t;
    }
    for (const mk of list(series.markers)) {
      const key = `${mk.t}|${mk.kind}|${mk.detail}`;
      if (state.markerKeys.has(key)) continue;
      state.markerKeys.add(key);
      state.markers.push(mk);
    }
    if (state.lastT === null) return;
    const oldest = state.lastT - kRetainS;
    if (state.rows.length && state.rows[0].t < oldest) state.rows = state.rows.filter((r) => r.t >= oldest);
    if (state.markers.length && state.markers[0].t < oldest) {
      state.markers = state.markers.filter((mk) => mk.t >= oldest);
      state.markerKeys = new Set(state.markers.map((mk) => `${mk.t}|${mk.kind}|${mk.detail}`));
    }
  }

  // A serve started again behind the same address begins at t = 0: forget the old session.
  function forget() {
    state.rows = [];
    state.markers = [];
    state.markerKeys = new Set();
    state.lastT = null;
  }

  let polling = null;
  let timer = null;

  // One round of reads; overlapping calls share it. Each endpoint that answers is drawn, so a
  // page whose server lacks one still shows the rest.
  function poll() {
    if (polling) return polling;
    clearTimeout(timer);
    polling = (async () => {
      const summary = await get('/api/v1/summary').catch((e) => e);
      if (!(summary instanceof Error) && state.lastT !== null && summary.t < state.lastT) forget();
      const since = state.lastT === null ? '' : `?since=${encodeURIComponent(state.lastT)}`;
      const reads = await Promise.all(['/api/v1/series' + since, '/api/v1/group', '/api/v1/workers', '/api/v1/targets',
        '/api/v1/activities', '/api/v1/decisions'].map((path) => get(path).catch((e) => e)));
      const [series, group, workers, targets, activities, decisions] = reads;
      const failed = [summary, ...reads].filter((r) => r instanceof Error);
      if (!(summary instanceof Error)) state.summary = summary;
      if (!(series instanceof Error)) addSeries(series);
      if (!(group instanceof Error)) state.group = group;
      if (!(workers instanceof Error)) state.workers = list(workers.workers);
      if (!(targets instanceof Error)) {
        state.targets = list(targets.targets);
        state.targetGroup = targets.target_group || '';
      }
      if (!(activities instanceof Error)) state.activities = list(activities.activities);
      if (!(decisions instanceof Error)) state.decisions = list(decisions.decisions);
      const down = failed.length === 1 + reads.length;
      if (!down) document.body.setAttribute('data-polled', String(++state.polled));
      setStatus(failed, down);
      render();
    })().catch((e) => {
      document.body.setAttribute('data-error', String(e && e.stack || e));
      setStatus([e], false);
    }).finally(() => {
      polling = null;
      timer = setTimeout(poll, kPeriodMs);
    });
    return polling;
  }

  // `down`: no read answered.
  function setStatus(failed, down) {
    const status = $('status');
    status.dataset.state = failed.length === 0 ? 'live' : down ? 'down' : 'partial';
    status.textContent = failed.length === 0 ? 'live' : down ? 'not answering' : 'partly answering';
    status.title = failed.map((e) => e.message || String(e)).join('\n');
    $('page').classList.toggle('stale', down);  // the figures shown are the last that came
    // Nothing answers (serve stopped, or a token is needed): once per cause, in the message line.
    const cause = down ? failed[0].message || String(failed[0]) : null;
    if (cause && cause !== lastCause) say(`The admin API does not answer: ${cause}`, true);
    lastCause = cause;
  }
  let lastCause = null;

  // --- Tiles and controls -----------------------------------------------------------------------

  const tiles = {};
  function tile(id, title) {
    const card = Flotilla.card(title, '\u2013', ' ');
    card.id = id;
    card.querySelector('h3').title = title;  // a narrow window cuts it short
    $('tiles').append(card);
    tiles[id] = {card, big: card.querySelector('.big'), line: card.querySelector('.line')};
  }

  function setTile(id, big, line, bad) {
    const t = tiles[id];
    if (t.big.textContent !== big) t.big.textContent = big;
    if (t.line.textContent !== line) t.line.textContent = line || '\u00a0';
    t.card.classList.toggle('bad', Boolean(bad));
  }

  function renderTiles() {
    const q = state.summary || {};
    const slo = q.slo || {};
    const over = (v, limit) => Number.isFinite(v) && Number.isFinite(limit) && v > limit;
    setTile('tile-rps', num(q.rps, 1), q.load && q.load.running ? `load generator at ${num(q.load.rps, 1)} req/s` : 'every client, last second');
    setTile('tile-errors', pct(q.error_rate), Number.isFinite(slo.error_rate) ? `SLO \u2264 ${pct(slo.error_rate)}` : '',
      over(q.error_rate, slo.error_rate));
    setTile('tile-p50', ms(q.p50_ms), 'successful requests');
    setTile('tile-p99', ms(q.p99_ms), Number.isFinite(slo.latency_ms) ? `SLO \u2264 ${ms(slo.latency_ms)}` : '',
      over(q.p99_ms, slo.latency_ms));
    setTile('tile-healthy', `${text(q.healthy)} / ${text(q.targets)}`, state.targetGroup ? `target group ${state.targetGroup}` : 'targets',
      Number.isFinite(q.healthy) && q.healthy < q.targets);
    setTile('tile-capacity', `${text(q.desired)} / ${text(q.in_service)}`,
      `${num(q.pending)} pending`);
  }

  let loadRateShown = false;
  function renderControls() {
    const g = state.group;
    const q = state.summary || {};
    const desired = g ? g.desired : q.desired;
    $('desired-value').textContent = text(desired);
    $('desired-minus').disabled = !g || g.desired <= g.min;
    $('desired-plus').disabled = !g || g.desired >= g.max;
    $('desired-range').textContent = g ? `min ${g.min} \u00b7 max ${g.max}` : '';
    const load = q.load || {};
    // The rate input starts at the generator's rate, and is the user's after that.
    if (!loadRateShown && state.summary) {
      loadRateShown = true;
      if (load.running && Number.isFinite(load.rps)) $('load-rps').value = String(load.rps);
    }
    $('load-state').textContent = load.running ? `running at ${num(load.rps, 1)} req/s` : 'stopped';
    $('load-state').dataset.running = load.running ? 'true' : 'false';
    if (g && g.name) $('title').textContent = `flotilla serve \u00b7 ${g.name}`;
    const meta = [Number.isFinite(q.t) ? `up ${when(q.t)}` : null,
      g ? `${g.in_service} in service, ${g.pending} pending, ${g.terminating} terminating` : null,
      'refreshed each second'].filter(Boolean).join(' \u00b7 ');
    $('meta').textContent = meta;
  }

  // --- Charts -----------------------------------------------------------------------------------

  const markerLook = {
    activity: {shape: 'diamond', color: colors.replacement, lane: 'scaling'},
    alarm: {shape: 'circle', color: colors.alarm, lane: 'alarms'},
    fault: {shape: 'down', color: colors.fault, lane: 'faults'},
    kill: {shape: 'cross', color: colors.failed, lane: 'kills'},
  };
  const lookOf = (kind) => markerLook[kind] || {shape: 'square', color: colors.other, lane: 'scaling'};

  // At most about 2 * buckets points: each bucket's lowest and highest value, in time order.
  function thin(points, buckets) {
    if (points.length <= 2 * buckets) return points;
    const out = [];
    for (let b = 0; b < buckets; ++b) {
      const begin = Math.floor((b * points.length) / buckets), end = Math.floor(((b + 1) * points.length) / buckets);
      let low = -1, high = -1;
      for (let i = begin; i < end; ++i) {
        const v = points[i][1];
        if (v === null) continue;
        if (low < 0 || v < points[low][1]) low = i;
        if (high < 0 || v > points[high][1]) high = i;
      }
      if (low < 0) { out.push([points[begin][0], null]); continue; }
      out.push(points[Math.min(low, high)]);
      if (low !== high) out.push(points[Math.max(low, high)]);
    }
    return out;
  }

  const charts = {};
  function draw(kind, parent, spec) {
    charts[spec.id] = charts[spec.id] ? Flotilla.redraw(charts[spec.id], spec) : Flotilla[kind](parent, spec);
  }

  function renderCharts() {
    const span = Number($('window').value) || 300;
    const newest = state.lastT === null ? 0 : state.lastT;
    const xMin = Math.max(0, newest - span);
    const xMax = Math.max(newest, xMin + Math.min(span, 60));
    const rows = state.rows.filter((r) => r.t >= xMin);
    const series = (key, label, color, extra) => ({key, label, color,
      points: thin(rows.map((r) => [r.t, r[key] === undefined ? null : r[key]]), 1000), ...extra});
    const markers = state.markers.filter((mk) => mk.t >= xMin).map((mk) => ({t: mk.t, kind: mk.kind,
      tip: `${mk.kind}: ${mk.detail}`, color: lookOf(mk.kind).color, shape: lookOf(mk.kind).shape,
      line: mk.kind === 'fault' || mk.kind === 'kill'}));
    const common = {xMin, xMax, markers, height: 170};
    const grid = $('charts');
    draw('chart', grid, {...common, id: 'chart-requests', title: 'Requests per second',
      series: [series('ok', 'ok', colors.ok), series('errors', 'errors', colors.errors)]});
    const slo = (state.summary || {}).slo || {};
    const hlines = Number.isFinite(slo.latency_ms) ? [{y: slo.latency_ms, label: `SLO ${num(slo.latency_ms)} ms`, color: colors.slo}] : [];
    draw('chart', grid, {...common, id: 'chart-latency', title: 'Latency of successful requests', unit: 'ms', hlines,
      series: [series('p50_ms', 'p50', colors.p50), series('p99_ms', 'p99', colors.p99)], format: (v) => num(v, 1)});
    draw('chart', grid, {...common, id: 'chart-capacity', title: 'Workers', integer: true,
      series: [series('desired', 'desired', colors.desired, {step: true, dash: true}),
        series('in_service', 'in service', colors.inService, {step: true}),
        series('pending', 'pending', colors.pending, {step: true})], format: (v) => num(v, 1)});
    draw('chart', grid, {...common, id: 'chart-cpu', title: 'CPU, average over workers in service', unit: '%', yMax: 100,
      series: [series('cpu', 'CPU', colors.cpu)], format: (v) => num(v, 1)});
    const lanes = ['scaling', 'alarms', 'faults', 'kills'].map((name) => ({name, markers: markers.filter((mk) => lookOf(mk.kind).lane === name)}));
    draw('timeline', $('markers'), {id: 'timeline', title: 'Markers (hover one for its cause)', xMin, xMax, lanes,
      legend: Object.entries(markerLook).map(([kind, look]) => ({label: kind, shape: look.shape, color: look.color}))});
  }

  // --- Tables -----------------------------------------------------------------------------------

  // Each worker, and each target that is no worker's (yet, or any more): one row.
  function targetRows() {
    const rows = new Map();
    for (const w of state.workers) rows.set(w.id, {id: w.id, worker: w, target: null});
    for (const t of state.targets) rows.set(t.id, {id: t.id, worker: null, ...rows.get(t.id), target: t});
    return [...rows.values()].sort((a, b) => a.id.localeCompare(b.id, 'en', {numeric: true}));
  }

  const healthOf = (r) => (r.target ? {state: r.target.state, reason: r.target.reason}
    : r.worker && r.worker.health ? r.worker.health : {state: r.worker ? r.worker.state : 'unknown', reason: ''});

  function lastCheck(c) {
    if (!c) return h('span', {class: 'muted'}, 'none yet');
    const what = c.error ? `${text(c.status)} ${c.error}` : text(c.status);
    return h('span', {}, what, h('span', {class: 'muted'}, ` \u00b7 ${num(c.age_s, 1)} s ago`));
  }

  const targetColumns = [
    {label: 'Target', value: (r) => h('span', {}, h('b', {}, r.id),
      h('div', {class: 'sub'}, [r.target ? r.target.endpoint : r.worker && r.worker.port ? `:${r.worker.port}` : null,
        r.worker && r.worker.pid ? `pid ${r.worker.pid}` : null, r.worker && r.worker.zone ? r.worker.zone : null]
        .filter(Boolean).join(' \u00b7 ')))},
    {label: 'Worker', value: (r) => (r.worker ? r.worker.state.replace('_', ' ') : h('span', {class: 'muted'}, 'gone'))},
    {label: 'Health', value: (r) => {
      const health = healthOf(r);
      return h('span', {}, h('span', {class: `badge ${health.state}`}, health.state),
        health.reason ? h('div', {class: 'sub'}, health.reason) : null);
    }},
    {label: 'Last check', value: (r) => lastCheck(r.target && r.target.last_check)},
    {label: 'In flight', num: true, value: (r) => num(r.target && r.target.in_flight)},
    {label: 'Requests', num: true, value: (r) => num(r.target && r.target.requests)},
    {label: '5xx', num: true, value: (r) => num(r.target && r.target.responses_5xx)},
    {label: 'Errors', num: true, value: (r) => num(r.target && r.target.errors)},
    {label: 'Retries', num: true, value: (r) => num(r.target && r.target.retries)},
    {label: 'Ejected', value: (r) => (r.target && r.target.ejected ? h('span', {class: 'badge unhealthy'}, 'ejected') : '')},
    {label: 'CPU', num: true, value: (r) => (r.target && Number.isFinite(r.target.cpu) ? num(r.target.cpu, 1) + ' %' : '\u2013')},
    {label: '', value: (r) => {
      const stopped = state.stopped.has(r.id);
      const disabled = state.busy.has(r.id) ? '' : null;
      return h('span', {class: 'actions'},
        h('button', {type: 'button', class: 'kill danger', 'data-signal': 'KILL', title: `SIGKILL ${r.id}`, disabled}, 'Kill'),
        h('button', {type: 'button', class: 'stop', 'data-signal': stopped ? 'CONT' : 'STOP', disabled,
          title: stopped ? `SIGCONT ${r.id}` : `SIGSTOP ${r.id}: a hung worker`}, stopped ? 'Continue' : 'Stop'));
    }},
  ];

  const tables = {};
  function renderTables() {
    const rows = targetRows();
    // A worker that is gone cannot be continued any more.
    for (const id of [...state.stopped]) if (!rows.some((r) => r.id === id)) state.stopped.delete(id);
    tables.targets.update(rows);
    tables.activities.update(state.activities.slice(0, kLogRows));
    tables.decisions.update(state.decisions.slice(0, kLogRows));
  }

  function render() {
    renderTiles();
    renderControls();
    renderCharts();
    renderTables();
  }

  function remember() {
    sessionStorage.setItem('flotilla-stopped', JSON.stringify([...state.stopped]));
  }

  // --- Set up -----------------------------------------------------------------------------------

  function setUp() {
    for (const [id, title] of [['tile-rps', 'Requests/s'], ['tile-errors', 'Error rate'], ['tile-p50', 'Latency p50'],
      ['tile-p99', 'Latency p99'], ['tile-healthy', 'Healthy / targets'], ['tile-capacity', 'Desired / in service']])
      tile(id, title);

    tables.targets = Flotilla.table($('targets-section'), {id: 'targets', rows: [], columns: targetColumns,
      empty: 'No worker and no target.', key: (r) => r.id,
      rowAttrs: (r) => ({'data-target': r.id, 'data-state': healthOf(r).state}),
      rowClass: (r) => (state.stopped.has(r.id) ? 'stopped' : null)});
    tables.activities = Flotilla.table($('activities-section'), {id: 'activities', rows: [], empty: 'No activity yet.',
      rowClass: Flotilla.failedActivity, columns: [{label: 'Time', num: true, value: (a) => clock(a.time)}, ...Flotilla.columns.activities]});
    tables.decisions = Flotilla.table($('decisions-section'), {id: 'decisions', rows: [],
      empty: 'No decision changed or wanted to change desired capacity yet.', columns: Flotilla.columns.decisions});

    tables.targets.table.addEventListener('click', (evt) => {
      const button = evt.target.closest('button[data-signal]');
      if (!button) return;
      const id = button.closest('tr').dataset.target;
      const signal = button.dataset.signal;
      // The row's buttons are drawn disabled while its signal is on its way.
      state.busy.add(id);
      renderTables();
      act(null, `${signal} ${id}`, `/api/v1/workers/${encodeURIComponent(id)}/kill`, {signal}, () => {
        if (signal === 'STOP') state.stopped.add(id);
        if (signal === 'CONT') state.stopped.delete(id);
        remember();
        return `sent ${signal} to ${id}`;
      }).then(() => state.busy.delete(id));
    });
    $('kill-random').addEventListener('click', (evt) => {
      const candidates = state.workers.filter((w) => w.state === 'in_service');
      if (candidates.length === 0) { say('Kill a random worker: no worker is in service', true); return; }
      const w = candidates[Math.floor(Math.random() * candidates.length)];
      act(evt.currentTarget, `KILL ${w.id}`, `/api/v1/workers/${encodeURIComponent(w.id)}/kill`, {signal: 'KILL'},
        () => `sent KILL to ${w.id}, chosen at random of ${candidates.length} in service`);
    });
    const scale = (by) => (evt) => {
      if (!state.group) return;
      const desired = state.group.desired + by;
      act(evt.currentTarget, `desired capacity ${desired}`, '/api/v1/group', {desired}, (g) => {
        state.group = g;
        return `desired capacity ${g.desired}`;
      });
    };
    $('desired-minus').addEventListener('click', scale(-1));
    $('desired-plus').addEventListener('click', scale(+1));
    $('load-start').addEventListener('click', (evt) => {
      const rps = Number($('load-rps').value);
      if (!($('load-rps').value !== '' && rps >= 0)) { say('Load: enter a number of requests per second, 0 or more', true); return; }
      act(evt.currentTarget, `load at ${num(rps, 1)} req/s`, '/api/v1/load', {rps});
    });
    $('load-stop').addEventListener('click', (evt) => act(evt.currentTarget, 'load stopped', '/api/v1/load', {stop: true}));
    $('window').addEventListener('change', () => renderCharts());
    window.addEventListener('resize', () => renderCharts());
    poll();
  }

  setUp();
})();
