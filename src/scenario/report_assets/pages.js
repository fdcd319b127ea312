'use strict';
// Flotilla's report pages, part 2: the run's page (report.html) and the comparison's
// (compare.html), built from the inline data with the parts in charts.js. Members of
// report.json that a run does not have (paths, workers, alarms, slo) give empty tables or are
// left out; nothing here assumes more than `flotilla report` checks (check_report_json).
(() => {
  const {h, num, pct, when, colors, list, ms, text} = Flotilla;

  const palette = ['#0969da', '#cf222e', '#2da44e', '#8250df', '#d4790b', '#bf3989', '#1b7c83', '#6e7781'];

  const lastT = (series) => Math.max(0, ...Object.values(series || {}).map((p) => (p.length ? p[p.length - 1][0] + 1 : 0)));

  // The fault a marker's detail names: its description, before the first ": ".
  const faultKey = (detail) => String(detail).split(': ')[0];

  function header(page, title, verdict, lines) {
    const h1 = h('h1', {}, title);
    if (verdict !== undefined) h1.append(h('span', {class: 'verdict ' + (verdict ? 'pass' : 'fail'), id: 'verdict'}, verdict ? 'PASSED' : 'FAILED'));
    page.append(h('header', {}, h1, lines.filter(Boolean).map((l, i) => h('p', {class: i === 0 ? null : 'meta'}, l))));
  }

  // Every scaling activity, alarm state change, fault and target event as a marker.
  function runMarkers(r, xMax) {
    const lanes = {faults: [], alarms: [], scaling: [], targets: []};
    const inRange = (t) => Number.isFinite(t) && t >= 0 && t <= xMax;
    const activityCauses = new Set();
    for (const a of list(r.activities)) {
      activityCauses.add(`${a.t}|${a.cause}`);
      if (!inRange(a.t)) continue;
      const failed = a.status === 'Failed';
      const kind = failed ? 'failed_launch' : a.to > a.from ? 'scale_out' : a.to < a.from ? 'scale_in' : 'replacement';
      const look = {
        failed_launch: ['cross', colors.failed], scale_out: ['up', colors.scaleOut],
        scale_in: ['down', colors.scaleIn], replacement: ['diamond', colors.replacement],
      }[kind];
      lanes.scaling.push({t: a.t, kind, shape: look[0], color: look[1],
        tip: `${a.from} \u2192 ${a.to}: ${a.cause}${failed ? ' (Failed)' : ''}`});
    }
    for (const alarm of list(r.alarms)) {
      for (const tr of list(alarm.transitions)) {
        if (!inRange(tr.t)) continue;
        const color = tr.to === 'ALARM' ? colors.alarm : tr.to === 'OK' ? colors.ok_state : colors.insufficient;
        lanes.alarms.push({t: tr.t, kind: 'alarm', shape: 'circle', color,
          tip: `alarm ${alarm.name}: ${tr.from} \u2192 ${tr.to}${tr.reason ? ': ' + tr.reason : ''}`});
      }
    }
    for (const e of list(r.events)) {
      if (!inRange(e.t)) continue;
      // A replacement is an activity too; its marker is there already.
      if (e.kind === 'worker_replaced' && activityCauses.has(`${e.t}|${e.detail}`)) continue;
      const tip = `${e.kind}: ${e.detail}`;
      if (e.kind === 'fault') lanes.faults.push({t: e.t, kind: 'fault', shape: 'down', color: colors.fault, tip});
      else if (e.kind === 'fault_end') lanes.faults.push({t: e.t, kind: 'fault_end', shape: 'up', color: colors.faultEnd, tip});
      else lanes.targets.push({t: e.t, kind: e.kind, shape: 'square', color: e.kind.startsWith('target') ? colors.target : colors.other, tip});
    }
    return lanes;
  }

  // A fault with `for` shades the time from its start to its end.
  function faultBands(r, xMax) {
    const open = [];
    const bands = [];
    for (const e of list(r.events).slice().sort((a, b) => a.t - b.t)) {
      if (e.kind === 'fault') open.push(e);
      if (e.kind !== 'fault_end') continue;
      const i = open.findIndex((f) => faultKey(f.detail) === faultKey(e.detail));
      if (i < 0) continue;
      bands.push({from: Math.max(0, open[i].t), to: Math.min(xMax, e.t), tip: faultKey(e.detail)});
      open.splice(i, 1);
    }
    return bands;
  }

  function runPage(data) {
    const r = data.report;
    const S = data.series || {};
    const page = document.getElementById('page');
    page.replaceChildren();
    const xMax = Math.max(Number(r.duration_s) || 0, lastT(S), 1);
    header(page, r.scenario, typeof r.passed === 'boolean' ? r.passed : undefined, [
      r.description,
      [r.mode, r.seed !== undefined ? `seed ${r.seed}` : null, `${num(r.duration_s)} s of traffic`,
        r.time_scale !== undefined && r.time_scale !== 1 ? `AWS durations \u00d7 ${num(r.time_scale, 4)}` : null,
        r.started_at ? `started ${r.started_at}` : null].filter(Boolean).join(' \u00b7 '),
    ]);

    const q = r.requests || {};
    const lat = r.latency_ms || {};
    const cap = r.capacity || {};
    const cards = h('div', {class: 'cards', id: 'summary'});
    const kinds = Object.entries(q.by_kind || {}).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${num(n)}`).join(', ');
    cards.append(Flotilla.card('Requests', num(q.sent), `ok ${num(q.ok)} \u00b7 errors ${num(q.errors)} (${pct(q.error_rate)})`, kinds));
    cards.append(Flotilla.card('Latency p99', ms(lat.p99), `p50 ${ms(lat.p50)} \u00b7 p90 ${ms(lat.p90)} \u00b7 max ${ms(lat.max)}`));
    cards.append(Flotilla.card('Workers in service', `${text(cap.initial)} \u2192 ${text(cap.final)}`,
      `max ${text(cap.max_in_service)} \u00b7 min ${text(cap.min_in_service)}`));
    const slo = r.slo && typeof r.slo === 'object' ? r.slo : null;
    if (slo) {
      const achieved = Number.isFinite(slo.achieved_availability) ? pct(slo.achieved_availability, 3) + ' available' : null;
      const violating = slo.violation_seconds !== undefined
        ? `${num(slo.violation_seconds)}${slo.measured_seconds !== undefined ? ' of ' + num(slo.measured_seconds) : ''} s violate it` : null;
      cards.append(Flotilla.card('SLO', achieved || violating || 'held to',
        `p99 \u2264 ${ms(slo.latency_ms)} \u00b7 errors \u2264 ${pct(slo.error_rate)}` +
          (slo.availability !== undefined ? ` \u00b7 availability \u2265 ${pct(slo.availability, 3)}` : ''),
        achieved ? violating : null,
        Number.isFinite(slo.throughput_rps) ? `throughput ${num(slo.throughput_rps, 1)} requests/s` : null));
    }
    const ex = list(r.expectations);
    cards.append(Flotilla.card('Expectations', `${ex.filter((e) => e.passed).length} of ${ex.length} passed`));
    page.append(cards);

    const lanes = runMarkers(r, xMax);
    const bands = faultBands(r, xMax);
    const allMarkers = [].concat(lanes.faults.map((m) => ({...m, line: m.kind === 'fault'})), lanes.alarms, lanes.scaling, lanes.targets);
    const charts = Flotilla.section(page, 'Timeline', 'timeline-section');
    Flotilla.timeline(charts, {id: 'timeline', title: 'Markers (hover one for its cause)', xMax, bands,
      legend: [
        {label: 'fault', shape: 'down', color: colors.fault}, {label: 'fault ends', shape: 'up', color: colors.faultEnd},
        {label: 'ALARM', shape: 'circle', color: colors.alarm}, {label: 'OK', shape: 'circle', color: colors.ok_state},
        {label: 'no data', shape: 'circle', color: colors.insufficient},
        {label: 'scale-out', shape: 'up', color: colors.scaleOut}, {label: 'scale-in', shape: 'down', color: colors.scaleIn},
        {label: 'replacement', shape: 'diamond', color: colors.replacement}, {label: 'failed launch', shape: 'cross', color: colors.failed},
        {label: 'target event', shape: 'square', color: colors.target}],
      lanes: [{name: 'faults', markers: lanes.faults}, {name: 'alarms', markers: lanes.alarms},
        {name: 'scaling', markers: lanes.scaling}, {name: 'targets', markers: lanes.targets}]});
    const common = {xMax, bands, markers: allMarkers};
    const series = (key, label, color, extra) => ({key, label, color, points: S[key] || [], ...extra});
    Flotilla.chart(charts, {...common, id: 'chart-requests', title: 'Requests per second',
      series: [series('offered_rps', 'offered', colors.offered, {dash: true}), series('ok', 'served ok', colors.ok)]});
    const hlines = slo && Number.isFinite(slo.latency_ms) ? [{y: slo.latency_ms, label: `SLO ${num(slo.latency_ms)} ms`, color: colors.slo}] : [];
    Flotilla.chart(charts, {...common, id: 'chart-latency', title: 'Latency of successful requests', unit: 'ms', hlines,
      series: [series('p50_ms', 'p50', colors.p50), series('p99_ms', 'p99', colors.p99)], format: (v) => num(v, 1)});
    Flotilla.chart(charts, {...common, id: 'chart-errors', title: 'Errors per second', integer: true,
      series: [series('errors', 'errors', colors.errors)]});
    Flotilla.chart(charts, {...common, id: 'chart-capacity', title: 'Workers', integer: true,
      series: [series('desired', 'desired', colors.desired, {step: true, dash: true}),
        series('in_service', 'in service', colors.inService, {step: true}),
        series('pending', 'pending', colors.pending, {step: true})], format: (v) => num(v, 1)});
    Flotilla.chart(charts, {...common, id: 'chart-cpu', title: 'CPU, average over workers in service', unit: '%', yMax: 100,
      series: [series('cpu_avg', 'CPU', colors.cpu)], format: (v) => num(v, 1)});
    if (!slo) charts.append(h('p', {class: 'note'}, 'report.json has no slo: the latency chart shows no SLO line.'));

    const sec = (title, id) => Flotilla.section(page, title, id + '-section');
    Flotilla.table(sec('Expectations', 'expectations'), {id: 'expectations', rows: ex, empty: 'The scenario has no expectations.',
      rowClass: (e) => (e.passed ? null : 'failed'),
      columns: [
        {label: 'Result', value: (e) => (e.passed ? 'PASS' : 'FAIL'), cls: (e) => (e.passed ? 'pass' : 'fail')},
        {label: 'Expectation', value: (e) => e.text},
        {label: 'Observed', num: true, value: (e) => (e.observed === null || e.observed === undefined ? 'not measurable' : num(e.observed, 4))},
        {label: 'Note', value: (e) => text(e.note)},
      ]});
    Flotilla.table(sec('Recovery from each fault', 'recovery'), {id: 'recovery', rows: list(r.recovery),
      empty: 'No fault, or report.json has no recovery figures.',
      rowClass: (f) => (f.recovered === false ? 'failed' : null),
      columns: [
        {label: 't', num: true, value: (f) => when(f.t)},
        {label: 'Fault', value: (f) => text(f.fault)},
        {label: 'Recovered', value: (f) => (f.recovered === false ? 'never (counted to the end of the run)' : 'yes')},
        {label: 'Seconds', num: true, value: (f) => num(f.seconds, 1)},
      ]});
    Flotilla.table(sec('Scaling activities', 'activities'), {id: 'activities', rows: list(r.activities), empty: 'No activity.',
      rowClass: Flotilla.failedActivity, columns: Flotilla.columns.activities});
    Flotilla.table(sec('Events', 'events'), {id: 'events', rows: list(r.events), empty: 'No event.',
      columns: [
        {label: 't', num: true, value: (e) => when(e.t)},
        {label: 'Kind', value: (e) => e.kind},
        {label: 'Detail', value: (e) => e.detail},
      ]});
    const alarmSec = sec('Alarms', 'alarms');
    for (const a of list(r.alarms))
      alarmSec.append(h('p', {class: 'note'}, h('b', {}, a.name), a.description ? `: ${a.description}` : ''));
    const transitions = list(r.alarms).flatMap((a) => list(a.transitions).map((tr) => ({...tr, name: a.name})));
    Flotilla.table(alarmSec, {id: 'alarms', rows: transitions, empty: 'No alarm changed state (or the policies use none).',
      columns: [
        {label: 't', num: true, value: (tr) => when(tr.t)},
        {label: 'Alarm', value: (tr) => tr.name},
        {label: 'State', value: (tr) => `${tr.from} \u2192 ${tr.to}`},
        {label: 'Reason', value: (tr) => text(tr.reason)},
      ]});
    Flotilla.table(sec('Decision log', 'decisions'), {id: 'decisions', rows: list(r.decisions),
      empty: 'No decision changed or wanted to change desired capacity.', columns: Flotilla.columns.decisions});
    Flotilla.table(sec('Requests per path', 'paths'), {id: 'paths', rows: list(r.paths), empty: 'report.json has no per-path figures.',
      columns: [
        {label: 'Path', value: (p) => p.path},
        {label: 'Method', value: (p) => text(p.method)},
        {label: 'Sent', num: true, value: (p) => num(p.sent)},
        {label: 'OK', num: true, value: (p) => num(p.ok)},
        {label: 'Errors', num: true, value: (p) => num(p.errors)},
        {label: 'p50', num: true, value: (p) => ms(p.p50_ms)},
        {label: 'p99', num: true, value: (p) => ms(p.p99_ms)},
      ]});
    Flotilla.table(sec('Workers', 'workers'), {id: 'workers', rows: list(r.workers), empty: 'report.json has no per-worker figures.',
      columns: [
        {label: 'Worker', value: (w) => w.id},
        {label: 'Launched', num: true, value: (w) => when(w.launched_at)},
        {label: 'In service', num: true, value: (w) => when(w.in_service_at)},
        {label: 'Ended', num: true, value: (w) => when(w.ended_at)},
        {label: 'Requests', num: true, value: (w) => num(w.requests)},
        {label: 'Errors', num: true, value: (w) => num(w.errors)},
        {label: 'End', value: (w) => text(w.end_cause)},
      ]});

    const drawn = Object.values(S).reduce((n, p) => Math.max(n, p.length), 0);
    page.append(h('footer', {}, `Times are seconds since traffic started. Charts drawn from ${num(data.seconds)} seconds of timeseries.csv` +
      (drawn < data.seconds ? ` (downsampled to ${num(drawn)} points a series, keeping each stretch's lowest and highest value)` : '') +
      '. Written by flotilla.'));
  }

  function comparePage(data) {
    const page = document.getElementById('page');
    page.replaceChildren();
    const slo = data.slo || {};
    const policies = list(data.policies);
    header(page, `${data.scenario}: policies compared`, undefined, [
      `${policies.length} policies on the same traffic, faults and seed. SLO: p99 \u2264 ${ms(slo.latency_ms)}, errors \u2264 ${pct(slo.error_rate)} each second.`,
    ]);
    const color = (i) => palette[i % palette.length];
    const sec = Flotilla.section(page, 'Cost against SLO violations', 'frontier-section');
    const tipOf = (p) => `${num(p.instance_hours, 4)} instance-hours \u00b7 ${num(p.slo_violation_seconds)} s violating the SLO \u00b7 ` +
      `errors ${pct(p.error_rate)} \u00b7 p99 ${ms(p.p99_ms)} \u00b7 ${p.scale_out_count} out, ${p.scale_in_count} in` +
      (p.on_frontier ? ' \u00b7 on the frontier' : '') + (p.broke ? ' \u00b7 the run broke' : '');
    const frontier = policies.filter((p) => p.on_frontier).sort((a, b) => a.instance_hours - b.instance_hours);
    const stairs = [];
    frontier.forEach((p, i) => {
      if (i > 0) stairs.push([p.instance_hours, frontier[i - 1].slo_violation_seconds]);
      stairs.push([p.instance_hours, p.slo_violation_seconds]);
    });
    Flotilla.scatter(sec, {id: 'chart-frontier', title: 'Each policy\u2019s cost and SLO-violation seconds (lower is better on both)',
      xLabel: 'instance-hours (in service + pending)', yLabel: 'SLO-violation seconds',
      legend: [{label: 'on the frontier (filled)', color: '#1d2430'}, {label: 'frontier', color: '#1d2430', dash: true}],
      formatX: (v) => num(v, 4), formatY: (v) => num(v, 1),
      line: {key: 'frontier', color: '#1d2430', points: stairs},
      points: policies.map((p, i) => ({x: p.instance_hours, y: p.slo_violation_seconds, label: p.policy, color: p.broke ? '#8c959f' : color(i),
        filled: p.on_frontier, cross: p.broke, tip: tipOf(p)}))});

    const byPolicy = new Map(list(data.capacity).map((c) => [c.policy, c.in_service]));
    const cap = Flotilla.section(page, 'Capacity over the same traffic', 'capacity-section');
    const xMax = Math.max(Number(data.duration_s) || 0, lastT({traffic: data.traffic || []}), 1);
    Flotilla.chart(cap, {id: 'chart-traffic', xMax, title: 'Offered requests per second', height: 150,
      series: [{key: 'offered_rps', label: 'offered', color: colors.offered, points: data.traffic || []}]});
    Flotilla.chart(cap, {id: 'chart-capacity', xMax, title: 'Workers in service, per policy', integer: true, spread: true,
      series: policies.map((p, i) => ({key: p.policy, label: p.policy, color: color(i), step: true, points: byPolicy.get(p.policy) || []}))});

    const table = Flotilla.section(page, 'The comparison', 'comparison-section');
    Flotilla.table(table, {id: 'comparison', rows: policies, empty: 'No policy.',
      rowClass: (p) => (p.broke ? 'failed' : null),
      columns: [
        {label: 'Policy', value: (p) => p.policy},
        {label: 'Frontier', value: (p) => (p.on_frontier ? 'yes' : '')},
        {label: 'Instance-hours', num: true, value: (p) => num(p.instance_hours, 4)},
        {label: 'SLO-violation s', num: true, value: (p) => num(p.slo_violation_seconds)},
        {label: 'Error rate', num: true, value: (p) => pct(p.error_rate)},
        {label: 'p99', num: true, value: (p) => ms(p.p99_ms)},
        {label: 'Scale-outs', num: true, value: (p) => num(p.scale_out_count)},
        {label: 'Scale-ins', num: true, value: (p) => num(p.scale_in_count)},
        {label: 'Expectations', num: true, value: (p) => `${list(p.expectations).filter((e) => e.passed).length} of ${list(p.expectations).length}`},
        {label: 'Run', value: (p) => (p.broke ? 'broke' : 'completed')},
      ]});
    page.append(h('footer', {}, 'Times are seconds since traffic started. Written by flotilla compare.'));
  }

  try {
    const data = JSON.parse(document.getElementById('flotilla-data').textContent);
    (data.page === 'compare' ? comparePage : runPage)(data);
    document.body.setAttribute('data-drawn', data.page);
  } catch (e) {
    document.body.setAttribute('data-error', String(e && e.stack || e));
    document.getElementById('page').append(h('p', {class: 'empty'}, `This page could not be drawn: ${e}`));
    throw e;
  }
})();
