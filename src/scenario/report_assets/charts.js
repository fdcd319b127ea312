'use strict';
// Flotilla's report pages, part 1: SVG line and step charts over seconds since traffic started,
// a timeline of markers, tooltips and tables. No library and nothing fetched: the report's data
// is inline JSON (report_html.h describes it) and pages.js builds its pages from these parts;
// serve's dashboard (serve/dashboard_assets/) polls its data and redraws the same parts in place.
//
// What the browser test reads: every chart is an <svg class="chart"> with an id, and each drawn
// series is a <path class="series" data-series="KEY" data-points="N" d="M.. L.. ...">; every
// marker is an element with class "marker", a data-kind and its cause in data-tip; every table
// has an id and one <tr> in its <tbody> per row of data (an empty <tbody> when there is none).
const Flotilla = (() => {
  const SVG_NS = 'http://www.w3.org/2000/svg';

  // An HTML element: h('td', {class: 'num'}, 'text', node, ...).
  function h(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) e.setAttribute(k, v);
    for (const c of children.flat()) if (c !== undefined && c !== null) e.append(c instanceof Node ? c : String(c));
    return e;
  }

  function s(tag, attrs, ...children) {
    const e = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) e.setAttribute(k, v);
    for (const c of children.flat()) if (c !== undefined && c !== null) e.append(c instanceof Node ? c : String(c));
    return e;
  }

  // A number for people: at most `decimals` decimals, trailing zeros dropped, thousands
  // separated; null or not finite: an en dash.
  function num(v, decimals = 2) {
    if (v === null || v === undefined || !Number.isFinite(v)) return '\u2013';
    return v.toLocaleString('en-US', {maximumFractionDigits: decimals});
  }

  function pct(v, decimals = 2) {
    return v === null || v === undefined || !Number.isFinite(v) ? '\u2013' : num(v * 100, decimals) + ' %';
  }

  const list = (v) => (Array.isArray(v) ? v : []);
  const ms = (v) => (v === null || v === undefined ? '\u2013' : num(v, 1) + ' ms');
  const text = (v) => (v === null || v === undefined || v === '' ? '\u2013' : String(v));

  // Every page's colours for series and markers.
  const colors = {
    offered: '#8c959f', ok: '#0969da', p50: '#2da44e', p99: '#bf3989', slo: '#cf222e',
    errors: '#cf222e', desired: '#6e7781', inService: '#0969da', pending: '#d4790b', cpu: '#8250df',
    fault: '#cf222e', faultEnd: '#e5838b', scaleOut: '#0969da', scaleIn: '#8250df',
    replacement: '#1b7c83', failed: '#cf222e', alarm: '#d4790b', ok_state: '#2da44e',
    insufficient: '#8c959f', target: '#9a6700', other: '#6e7781',
  };

  // Seconds since traffic started: "45.5s" below ten minutes, "1h 02m 03s" beyond.
  function when(t) {
    if (!Number.isFinite(t)) return '\u2013';
    if (Math.abs(t) < 600) return (Math.round(t * 10) / 10).toFixed(1) + 's';
    const sign = t < 0 ? '-' : '';
    let rest = Math.round(Math.abs(t));
    const hours = Math.floor(rest / 3600);
    rest -= hours * 3600;
    const minutes = Math.floor(rest / 60);
    const seconds = rest - minutes * 60;
    const two = (n) => String(n).padStart(2, '0');
    return sign + (hours > 0 ? `${hours}h ${two(minutes)}m ${two(seconds)}s` : `${minutes}m ${two(seconds)}s`);
  }

  // Axis labels for seconds: "0", "30s", "2m", "1h30m", "6h".
  function tickLabel(t) {
    if (t === 0) return '0';
    if (t < 120) return `${t}s`;
    if (t < 3600) return t % 60 === 0 ? `${t / 60}m` : `${Math.floor(t / 60)}m${t % 60}s`;
    const hours = Math.floor(t / 3600);
    const minutes = Math.round((t - hours * 3600) / 60);
    return minutes === 0 ? `${hours}h` : `${hours}h${minutes}m`;
  }

  const kTimeSteps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800,
    14400, 21600, 43200, 86400, 172800];

  // Round times in [min, max], about one per 70 pixels.
  function timeTicks(min, max, pixels) {
    const most = Math.max(2, Math.floor(pixels / 70));
    const span = max - min;
    const step = kTimeSteps.find((st) => span / st <= most) || Math.ceil(span / most);
    const ticks = [];
    for (let t = Math.ceil(min / step - 1e-9) * step; t <= max + 1e-9; t += step) ticks.push(t);
    return ticks;
  }

  // A round step so that [0, max] shows about `count` ticks.
  function niceStep(max, count) {
    const raw = max / count;
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    const f = raw / power;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * power;
  }

  // The last point at or before t (points sorted by t); null when t is before the first.
  function pointAt(points, t) {
    let lo = 0, hi = points.length - 1, found = null;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (points[mid][0] <= t) { found = points[mid]; lo = mid + 1; } else hi = mid - 1;
    }
    return found;
  }

  // The path of a series; a null value breaks the line, and a point alone between gaps is a dot.
  function pathData(points, X, Y, step) {
    let d = '';
    let count = 0;
    let run = 0;
    const endRun = () => { if (run === 1) d += 'h0.01'; run = 0; };
    for (const [t, v] of points) {
      if (v === null || v === undefined) { endRun(); continue; }
      const x = X(t).toFixed(1);
      const y = Y(v).toFixed(1);
      if (run === 0) d += `M${x} ${y}`;
      else d += step ? `H${x}V${y}` : `L${x} ${y}`;
      ++run;
      ++count;
    }
    endRun();
    return {d, count};
  }

  // Shapes for markers, centred on (x, y).
  function shapePath(shape, x, y, r) {
    switch (shape) {
      case 'up': return `M${x} ${y - r}L${x + r} ${y + r * 0.8}L${x - r} ${y + r * 0.8}Z`;
      case 'down': return `M${x} ${y + r}L${x + r} ${y - r * 0.8}L${x - r} ${y - r * 0.8}Z`;
      case 'diamond': return `M${x} ${y - r}L${x + r} ${y}L${x} ${y + r}L${x - r} ${y}Z`;
      case 'square': return `M${x - r * 0.8} ${y - r * 0.8}h${r * 1.6}v${r * 1.6}h${-r * 1.6}Z`;
      case 'cross': return `M${x - r} ${y - r}L${x + r} ${y + r}M${x + r} ${y - r}L${x - r} ${y + r}`;
      default: return `M${x - r} ${y}a${r} ${r} 0 1 0 ${2 * r} 0a${r} ${r} 0 1 0 ${-2 * r} 0`;
    }
  }

  // The tooltip: one element for the whole page.
  const tooltip = () => document.getElementById('tooltip');

  function showTip(evt, nodes) {
    const tip = tooltip();
    tip.replaceChildren(...nodes);
    tip.hidden = false;
    const pad = 14;
    const w = tip.offsetWidth, hgt = tip.offsetHeight;
    let left = evt.clientX + pad, top = evt.clientY + pad;
    if (left + w > window.innerWidth - 4) left = Math.max(4, evt.clientX - pad - w);
    if (top + hgt > window.innerHeight - 4) top = Math.max(4, evt.clientY - pad - hgt);
    tip.style.left = `${left}px`;
    tip.style.top = `${top}px`;
  }

  function hideTip() { tooltip().hidden = true; }

  function markerTip(m) {
    return h('div', {class: 'tip'}, h('span', {class: 'swatch', style: `background:${m.color}`}),
      h('span', {class: 't'}, when(m.t) + '  '), m.tip);
  }

  // Markers within `px` pixels of x, nearest first in time order.
  function markersNear(markers, X, x, px) {
    return markers.filter((m) => Math.abs(X(m.t) - x) <= px).sort((a, b) => a.t - b.t);
  }

  function svgX(svg, evt, width) {
    const box = svg.getBoundingClientRect();
    return (evt.clientX - box.left) * (width / box.width);
  }

  function legend(items) {
    return h('span', {class: 'legend'}, items.map((it) =>
      h('span', {}, h('span', {class: 'swatch' + (it.dash ? ' dashed' : ''),
        style: it.dash ? `border-color:${it.color}` : `background:${it.color}`}), it.label)));
  }

  function widthOf(parent) {
    return Math.max(480, Math.floor(parent.clientWidth || 960));
  }

  // The time axis of a chart: [xMin, xMax] seconds (xMin 0 unless given, at least a second wide).
  function timeRange(spec) {
    const lo = spec.xMin || 0;
    return {lo, hi: Math.max(spec.xMax, lo + 1)};
  }

  // A figure that draw(fig, spec) fills, and fills again on redraw. While the pointer is over it,
  // the last position is kept, so a redrawn chart shows its tooltip for the new data at once.
  function figure(parent, draw, spec) {
    const fig = h('figure', {class: 'chart-box'});
    fig.flotillaDraw = draw;
    fig.addEventListener('mousemove', (evt) => { fig.flotillaPointer = {clientX: evt.clientX, clientY: evt.clientY}; });
    fig.addEventListener('mouseleave', () => { fig.flotillaPointer = null; });
    parent.append(fig);
    return draw(fig, spec);
  }

  // Draws a chart or timeline again in its figure from a new spec (the same kind as it was drawn
  // with); returns the new <svg>.
  function redraw(svg, spec) {
    const fig = svg.closest('figure');
    const next = fig.flotillaDraw(fig, spec);
    const at = fig.flotillaPointer;
    if (at) {
      const under = document.elementFromPoint(at.clientX, at.clientY);
      if (under && next.contains(under)) under.dispatchEvent(new MouseEvent('mousemove', {...at, bubbles: true}));
      else hideTip();
    }
    return next;
  }

  // A chart of series over [xMin, xMax] seconds (points and markers outside it are not drawn).
  //   spec: {id, title, unit, xMin, xMax, height, yMax (fixed top), series: [{key, label, color,
  //          points: [[t, v]...], step, dash}], hlines: [{y, label, color}], bands: [{from, to}],
  //          markers: [{t, tip, color, line}], format: v => text, integer (whole ticks),
  //          spread (draw coinciding series a little apart)}
  function chart(parent, spec) {
    return figure(parent, drawChart, spec);
  }

  function drawChart(fig, spec) {
    fig.replaceChildren();
    const caption = h('figcaption', {}, h('span', {}, spec.title, spec.unit ? h('span', {class: 'unit'}, ` (${spec.unit})`) : ''),
      legend(spec.series.concat((spec.hlines || []).map((l) => ({label: l.label, color: l.color, dash: true})))));
    fig.append(caption);
    const W = widthOf(fig), H = spec.height || 190;
    const m = {l: 60, r: 16, t: 10, b: 24};
    const pw = W - m.l - m.r, ph = H - m.t - m.b;
    const range = timeRange(spec);
    const visible = (t) => t >= range.lo && t <= range.hi;
    let top = 0;
    for (const se of spec.series) for (const [t, v] of se.points) if (v !== null && v > top && visible(t)) top = v;
    for (const l of spec.hlines || []) top = Math.max(top, l.y * 1.15);
    top *= 1.06;  // room above the highest point, so no line runs along the frame
    if (spec.yMax !== undefined) top = spec.yMax;
    if (!(top > 0)) top = 1;
    const step = spec.integer ? Math.max(1, Math.round(niceStep(top, 4))) : niceStep(top, 4);
    top = Math.ceil(top / step - 1e-9) * step;
    const X = (t) => m.l + ((t - range.lo) / (range.hi - range.lo)) * pw;
    const Y = (v) => m.t + ph - (Math.min(v, top) / top) * ph;
    const format = spec.format || ((v) => num(v));

    const svg = s('svg', {id: spec.id, class: 'chart', viewBox: `0 0 ${W} ${H}`, width: W, height: H,
      role: 'img', 'aria-label': spec.title});
    const axis = s('g', {class: 'axis'});
    for (let v = 0; v <= top + step / 2; v += step) {
      axis.append(s('line', {class: 'grid', x1: m.l, x2: m.l + pw, y1: Y(v), y2: Y(v)}));
      axis.append(s('text', {x: m.l - 6, y: Y(v) + 4, 'text-anchor': 'end'}, format(v)));
    }
    for (const t of timeTicks(range.lo, range.hi, pw)) {
      axis.append(s('line', {class: 'grid', x1: X(t), x2: X(t), y1: m.t, y2: m.t + ph}));
      axis.append(s('text', {x: X(t), y: H - 6, 'text-anchor': 'middle'}, tickLabel(t)));
    }
    svg.append(axis);
    for (const b of spec.bands || []) {
      const from = Math.max(b.from, range.lo), to = Math.min(b.to, range.hi);
      if (to >= from) svg.append(s('rect', {class: 'band', x: X(from), y: m.t, width: Math.max(1, X(to) - X(from)), height: ph}));
    }
    for (const mk of spec.markers || []) {
      if (!visible(mk.t)) continue;
      const x = X(mk.t);
      svg.append(mk.line
        ? s('line', {x1: x, x2: x, y1: m.t, y2: m.t + ph, stroke: mk.color, 'stroke-dasharray': '3 3', 'stroke-width': 1})
        : s('line', {x1: x, x2: x, y1: m.t, y2: m.t + 6, stroke: mk.color, 'stroke-width': 2}));
    }
    for (const l of spec.hlines || [])
      svg.append(s('line', {class: 'hline', x1: m.l, x2: m.l + pw, y1: Y(l.y), y2: Y(l.y), stroke: l.color}));
    spec.series.forEach((se, i) => {
      // Lines that coincide (two policies with the same capacity) are drawn apart by a pixel or two.
      const shift = spec.spread ? (i - (spec.series.length - 1) / 2) * 2 : 0;
      const {d, count} = pathData(se.points.filter(([t]) => visible(t)), X, (v) => Y(v) + shift, se.step);
      svg.append(s('path', {class: 'series', 'data-series': se.key, 'data-points': count, d: d || 'M0 0',
        stroke: se.color, 'stroke-dasharray': se.dash ? '5 3' : null}));
    });
    svg.append(s('rect', {class: 'frame', x: m.l, y: m.t, width: pw, height: ph}));

    // Hover: the values at the cursor's second and the markers near it.
    const cursor = s('line', {class: 'cursor', y1: m.t, y2: m.t + ph, visibility: 'hidden'});
    svg.append(cursor);
    const overlay = s('rect', {x: m.l, y: m.t, width: pw, height: ph, fill: 'transparent'});
    svg.append(overlay);
    overlay.addEventListener('mousemove', (evt) => {
      const x = svgX(svg, evt, W);
      const t = Math.max(range.lo, Math.min(range.hi, range.lo + ((x - m.l) / pw) * (range.hi - range.lo)));
      cursor.setAttribute('x1', x);
      cursor.setAttribute('x2', x);
      cursor.setAttribute('visibility', 'visible');
      const rows = [h('div', {class: 't'}, when(t))];
      for (const se of spec.series) {
        const p = pointAt(se.points, t);
        rows.push(h('div', {class: 'row'}, h('span', {class: 'swatch', style: `background:${se.color}`}),
          `${se.label}: ${p && p[1] !== null ? format(p[1]) : 'no data'}`));
      }
      for (const mk of markersNear((spec.markers || []).filter((mk) => visible(mk.t)), X, x, 6)) rows.push(markerTip(mk));
      showTip(evt, rows);
    });
    overlay.addEventListener('mouseleave', () => { cursor.setAttribute('visibility', 'hidden'); hideTip(); });
    fig.append(svg);
    return svg;
  }

  // Lanes of markers over [xMin, xMax] seconds, each marker's cause in its tooltip; markers
  // outside it are not drawn.
  //   spec: {id, title, xMin, xMax, lanes: [{name, markers: [{t, tip, color, shape, kind}]}],
  //          bands: [{from, to}], legend: [{label, shape, color}]}
  function timeline(parent, spec) {
    return figure(parent, drawTimeline, spec);
  }

  function drawTimeline(fig, spec) {
    fig.replaceChildren();
    fig.append(h('figcaption', {}, h('span', {}, spec.title || 'Timeline'),
      h('span', {class: 'legend'}, (spec.legend || []).map((it) => h('span', {},
        s('svg', {width: 12, height: 12, viewBox: '0 0 12 12', style: 'vertical-align:-1px;margin-right:4px'},
          s('path', {d: shapePath(it.shape, 6, 6, 5), fill: it.shape === 'cross' ? 'none' : it.color, stroke: it.color,
            'stroke-width': it.shape === 'cross' ? 2 : 1})), it.label)))));
    const W = widthOf(fig);
    const lane = 26;
    const m = {l: 60, r: 16, t: 6, b: 24};
    const H = m.t + lane * spec.lanes.length + m.b;
    const pw = W - m.l - m.r;
    const range = timeRange(spec);
    const X = (t) => m.l + ((Math.max(range.lo, Math.min(t, range.hi)) - range.lo) / (range.hi - range.lo)) * pw;
    const svg = s('svg', {id: spec.id, class: 'chart timeline', viewBox: `0 0 ${W} ${H}`, width: W, height: H,
      role: 'img', 'aria-label': spec.title || 'Timeline'});
    const axis = s('g', {class: 'axis'});
    for (const t of timeTicks(range.lo, range.hi, pw)) {
      axis.append(s('line', {class: 'grid', x1: X(t), x2: X(t), y1: m.t, y2: H - m.b}));
      axis.append(s('text', {x: X(t), y: H - 6, 'text-anchor': 'middle'}, tickLabel(t)));
    }
    svg.append(axis);
    for (const b of spec.bands || [])
      svg.append(s('rect', {class: 'band', x: X(b.from), y: m.t, width: Math.max(1, X(b.to) - X(b.from)), height: H - m.t - m.b}));
    const all = [];
    spec.lanes.forEach((ln, i) => {
      const y = m.t + lane * i + lane / 2;
      svg.append(s('line', {class: 'lane', x1: m.l, x2: m.l + pw, y1: y, y2: y}));
      svg.append(s('text', {class: 'lane-name', x: m.l - 6, y: y + 4, 'text-anchor': 'end'}, ln.name));
      for (const mk of ln.markers) {
        if (mk.t < range.lo || mk.t > range.hi) continue;
        const cross = mk.shape === 'cross';
        svg.append(s('path', {class: 'marker', 'data-kind': mk.kind, 'data-t': mk.t, 'data-tip': mk.tip,
          'aria-label': `${when(mk.t)} ${mk.tip}`, d: shapePath(mk.shape, X(mk.t), y, 6),
          fill: cross ? 'none' : mk.color, stroke: mk.color, 'stroke-width': cross ? 2 : 1, 'fill-opacity': 0.85}));
        all.push({...mk, lane: i});
      }
    });
    svg.append(s('rect', {class: 'frame', x: m.l, y: m.t, width: pw, height: H - m.t - m.b}));
    const cursor = s('line', {class: 'cursor', y1: m.t, y2: H - m.b, visibility: 'hidden'});
    svg.append(cursor);
    svg.addEventListener('mousemove', (evt) => {
      const x = svgX(svg, evt, W);
      const near = markersNear(all, X, x, 7);
      if (near.length === 0) { cursor.setAttribute('visibility', 'hidden'); hideTip(); return; }
      cursor.setAttribute('x1', X(near[0].t));
      cursor.setAttribute('x2', X(near[0].t));
      cursor.setAttribute('visibility', 'visible');
      showTip(evt, near.slice(0, 12).map(markerTip).concat(
        near.length > 12 ? [h('div', {class: 't'}, `and ${near.length - 12} more here`)] : []));
    });
    svg.addEventListener('mouseleave', () => { cursor.setAttribute('visibility', 'hidden'); hideTip(); });
    fig.append(svg);
    return svg;
  }

  // [lo, hi] widened to round numbers, with room around the points.
  function niceRange(lo, hi, fromZero) {
    if (fromZero) lo = Math.min(0, lo);
    if (!(hi > lo)) { const pad = Math.abs(hi) * 0.1 || 1; lo -= fromZero ? 0 : pad; hi += pad; }
    const pad = (hi - lo) * 0.08;
    if (!fromZero || lo < 0) lo -= pad;
    hi += pad;
    const step = niceStep(hi - lo, 4);
    return {lo: Math.floor(lo / step) * step, hi: Math.ceil(hi / step) * step, step};
  }

  // Points on two numeric axes, each labelled, with a line through some of them.
  //   spec: {id, title, xLabel, yLabel, points: [{x, y, label, color, filled, cross, tip}],
  //          line: {key, label, color, points: [[x, y]...]}, formatX, formatY}
  function scatter(parent, spec) {
    const fig = h('figure', {class: 'chart-box'});
    fig.append(h('figcaption', {}, h('span', {}, spec.title), spec.legend ? legend(spec.legend) : ''));
    parent.append(fig);
    const W = widthOf(fig), H = spec.height || 320;
    const m = {l: 64, r: 24, t: 14, b: 40};
    const pw = W - m.l - m.r, ph = H - m.t - m.b;
    const xs = spec.points.map((p) => p.x), ys = spec.points.map((p) => p.y);
    const rx = niceRange(xs.length ? Math.min(...xs) : 0, xs.length ? Math.max(...xs) : 1, false);
    const ry = niceRange(0, Math.max(...ys, 0), true);
    const X = (x) => m.l + ((x - rx.lo) / (rx.hi - rx.lo)) * pw;
    const Y = (y) => m.t + ph - ((y - ry.lo) / (ry.hi - ry.lo)) * ph;
    const fx = spec.formatX || ((v) => num(v)), fy = spec.formatY || ((v) => num(v));
    const svg = s('svg', {id: spec.id, class: 'chart', viewBox: `0 0 ${W} ${H}`, width: W, height: H,
      role: 'img', 'aria-label': spec.title});
    const axis = s('g', {class: 'axis'});
    for (let v = rx.lo; v <= rx.hi + rx.step / 2; v += rx.step) {
      axis.append(s('line', {class: 'grid', x1: X(v), x2: X(v), y1: m.t, y2: m.t + ph}));
      axis.append(s('text', {x: X(v), y: m.t + ph + 16, 'text-anchor': 'middle'}, fx(v)));
    }
    for (let v = ry.lo; v <= ry.hi + ry.step / 2; v += ry.step) {
      axis.append(s('line', {class: 'grid', x1: m.l, x2: m.l + pw, y1: Y(v), y2: Y(v)}));
      axis.append(s('text', {x: m.l - 6, y: Y(v) + 4, 'text-anchor': 'end'}, fy(v)));
    }
    axis.append(s('text', {class: 'label', x: m.l + pw / 2, y: H - 4, 'text-anchor': 'middle'}, spec.xLabel));
    axis.append(s('text', {class: 'label', x: 12, y: m.t + ph / 2, 'text-anchor': 'middle',
      transform: `rotate(-90 12 ${m.t + ph / 2})`}, spec.yLabel));
    svg.append(axis);
    svg.append(s('rect', {class: 'frame', x: m.l, y: m.t, width: pw, height: ph}));
    if (spec.line) {
      const {d, count} = pathData(spec.line.points, X, Y, false);
      svg.append(s('path', {class: 'series', 'data-series': spec.line.key, 'data-points': count,
        d: d || 'M0 0', stroke: spec.line.color, 'stroke-dasharray': '5 3'}));
    }
    // Points at the same place share one label; a label that would cover another moves down.
    const groups = new Map();
    for (const p of spec.points) {
      const key = `${X(p.x).toFixed(0)},${Y(p.y).toFixed(0)}`;
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(p);
    }
    const placed = [];
    const overlaps = (a) => placed.some((b) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h);
    for (const same of groups.values()) {
      const x = X(same[0].x), y = Y(same[0].y);
      // The first drawn underneath: the last of a group stays visible whole.
      same.forEach((p, i) => {
        const r = p.filled ? 7 : 6;
        const mark = p.cross
          ? s('path', {class: 'point', d: shapePath('cross', x, y, 6), stroke: p.color, 'stroke-width': 2, fill: 'none'})
          : s('circle', {class: 'point', cx: x, cy: y, r: r + (same.length - 1 - i) * 3, fill: p.filled ? p.color : '#fff',
            stroke: p.color, 'stroke-width': 2});
        mark.setAttribute('data-label', p.label);
        mark.setAttribute('data-tip', p.tip);
        svg.append(mark);
      });
      const label = same.map((p) => p.label).join(', ');
      const box = {x: x + 10 + (same.length - 1) * 3, y: y - 20, w: label.length * 6.2, h: 14};
      for (let tries = 0; tries < 8 && overlaps(box); ++tries) box.y += 14;
      placed.push(box);
      svg.append(s('text', {class: 'point-label', x: box.x, y: box.y + 11}, label));
    }
    // Hover: every point near the cursor.
    svg.addEventListener('mousemove', (evt) => {
      const box = svg.getBoundingClientRect();
      const x = (evt.clientX - box.left) * (W / box.width), y = (evt.clientY - box.top) * (H / box.height);
      const near = spec.points.filter((p) => Math.hypot(X(p.x) - x, Y(p.y) - y) <= 10);
      if (near.length === 0) { hideTip(); return; }
      showTip(evt, near.flatMap((p) => [h('div', {class: 'row'}, h('span', {class: 'swatch', style: `background:${p.color}`}), p.label),
        h('div', {class: 'tip'}, p.tip)]));
    });
    svg.addEventListener('mouseleave', hideTip);
    fig.append(svg);
    return svg;
  }

  // A table: columns [{label, value: row => text or node, num, cls: row => class}], one <tr>
  // per row; no rows: an empty <tbody> and the `empty` note. Returns {table, update(rows)}:
  // update draws other rows in place, keeping each row and cell element whose content did not
  // change (so a button in it stays the same element), matching rows by `key(row)` when the
  // spec has one, else by position. rowClass(row) and rowAttrs(row) ({name: value}) set the
  // row's class and attributes.
  function table(parent, spec) {
    const thead = h('thead', {}, h('tr', {}, spec.columns.map((c) => h('th', {class: c.num ? 'num' : null}, c.label))));
    const tbody = h('tbody');
    const element = h('table', {id: spec.id}, thead, tbody);
    const wrap = h('div', {class: 'table-wrap'}, element);
    parent.append(wrap);
    const note = h('p', {class: 'empty'}, spec.empty || 'none');
    const rowOf = (row, i) => {
      const tr = h('tr', {class: spec.rowClass ? spec.rowClass(row) : null, ...(spec.rowAttrs ? spec.rowAttrs(row) : {})},
        spec.columns.map((c) => {
          const cls = [c.num ? 'num' : null, c.cls ? c.cls(row) : null].filter(Boolean).join(' ');
          return h('td', {class: cls || null}, c.value(row));
        }));
      tr.flotillaKey = spec.key ? spec.key(row) : i;
      return tr;
    };
    const update = (rows) => {
      const old = new Map([...tbody.children].map((tr) => [tr.flotillaKey, tr]));
      rows.forEach((row, i) => {
        const fresh = rowOf(row, i);
        let tr = old.get(fresh.flotillaKey);
        if (tr) {
          old.delete(fresh.flotillaKey);
          patchRow(tr, fresh);
        } else {
          tr = fresh;
        }
        const at = tbody.children[i];
        if (at !== tr) tbody.insertBefore(tr, at || null);
      });
      for (const tr of old.values()) tr.remove();
      if (rows.length === 0) wrap.after(note);
      else note.remove();
    };
    update(spec.rows);
    return {table: element, update};
  }

  // `tr` made to look like `fresh`: its attributes, and each cell that differs replaced.
  function patchRow(tr, fresh) {
    for (const a of [...tr.attributes]) if (!fresh.hasAttribute(a.name)) tr.removeAttribute(a.name);
    for (const a of fresh.attributes) if (tr.getAttribute(a.name) !== a.value) tr.setAttribute(a.name, a.value);
    if (tr.cells.length !== fresh.cells.length) { tr.replaceChildren(...fresh.cells); return; }
    [...fresh.cells].forEach((td, i) => { if (tr.cells[i].outerHTML !== td.outerHTML) tr.cells[i].replaceWith(td); });
  }

  // Columns for report.json's scaling activities and decision records, which the admin API
  // serves as they are (its activities add a wall-clock time).
  const columns = {
    activities: [
      {label: 't', num: true, value: (a) => when(a.t)},
      {label: 'Desired', num: true, value: (a) => `${a.from} \u2192 ${a.to}`},
      {label: 'Cause', value: (a) => a.cause},
      {label: 'Status', value: (a) => text(a.status)},
    ],
    decisions: [
      {label: 't', num: true, value: (d) => when(d.t)},
      {label: 'Desired', num: true, value: (d) => `${text(d.desired_before)} \u2192 ${text(d.desired_after)}`},
      {label: 'Group CPU', num: true, value: (d) => (d.group_cpu === null || d.group_cpu === undefined ? '\u2013' : num(d.group_cpu, 1) + ' %')},
      {label: 'Policies', value: (d) => list(d.policies).map((p) => {
        const values = list(p.datapoints).slice(-3).map((v) => num(v.value, 2)).join(', ');
        return h('div', {}, `${p.policy}${p.rule ? ' [' + p.rule + ']' : ''}${values ? ' ' + values : ''}` +
          ` \u2192 ${p.desired === null || p.desired === undefined ? 'no change' : p.desired}` +
          (list(p.clamped_by).length ? ` (held by ${p.clamped_by.join(', ')})` : ''));
      })},
      {label: 'Reason', value: (d) => text(d.reason) + (list(d.clamped_by).length ? ` (clamped by ${d.clamped_by.join(', ')})` : '')},
    ],
  };
  const failedActivity = (a) => (a.status === 'Failed' ? 'failed' : null);

  function section(parent, title, id) {
    const sec = h('section', {id});
    sec.append(h('h2', {}, title));
    parent.append(sec);
    return sec;
  }

  function card(title, big, ...lines) {
    return h('div', {class: 'card'}, h('h3', {}, title), h('div', {class: 'big'}, big),
      lines.filter((l) => l).map((l) => h('div', {class: 'line'}, l)));
  }

  return {h, s, num, pct, ms, text, list, when, colors, chart, timeline, redraw, scatter, table, section, card,
    legend, columns, failedActivity};
})();
