// flapwatch report: draws the per-port plotly figures, labels the time axis (UTC, down to
// ns), links the time axes of all ports (zooming one zooms all), fills the risk hover text.
// For tests: #zoom=<port>,<start_ns>,<end_ns> (epoch ns) zooms there after rendering and
// writes what is shown into <body data-*> (zoom, visible flaps, the hovered text).
(function () {
  var body = document.body;
  body.dataset.scriptMs = performance.now().toFixed(1);
  var D = JSON.parse(document.getElementById('flapwatch-data').textContent);
  var T0 = BigInt(D.t0_ns);
  var DAY = 86400e9;
  // ns since midnight (UTC) of the capture's first day at offset 0: exact in a double
  var DAY0 = Number(T0 % 86400000000000n);
  var DATE0 = Number(T0 / 86400000000000n); // days since the epoch
  var divs = [];
  var syncing = false;
  var current = [0, D.span_ns];

  function pad(n, w) { var s = String(n); while (s.length < w) s = '0' + s; return s; }
  function clock(off, digits) { // offset (ns from the first record) -> 16:51:14.200000
    var abs = DAY0 + Math.round(off);
    var day = Math.floor(abs / DAY);
    var rem = abs - day * DAY;
    var sec = Math.floor(rem / 1e9), frac = rem - sec * 1e9;
    var text = pad(Math.floor(sec / 3600), 2) + ':' + pad(Math.floor(sec / 60) % 60, 2) + ':' + pad(sec % 60, 2);
    if (digits > 0) text += '.' + pad(frac, 9).slice(0, digits);
    if (day !== 0) {
      var d = new Date((DATE0 + day) * 864e5);
      text = d.toISOString().slice(5, 10) + ' ' + text;
    }
    return text;
  }
  window.flapwatchClock = clock;
  var STEPS = [];
  for (var k = 0; k < 9; k++) [1, 2, 5].forEach(function (m) { STEPS.push(m * Math.pow(10, k)); });
  [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400].forEach(function (s) {
    STEPS.push(s * 1e9);
  });
  function ticks(lo, hi, px) {
    var want = Math.max(2, Math.floor(px / 115));
    var w = Math.max(hi - lo, 1), step = STEPS[STEPS.length - 1];
    for (var i = 0; i < STEPS.length; i++) if (STEPS[i] >= w / want) { step = STEPS[i]; break; }
    var digits = step >= 1e9 ? 0 : step >= 1e6 ? 3 : step >= 1e3 ? 6 : 9;
    var first = Math.ceil((DAY0 + lo) / step) * step - DAY0;
    var vals = [], text = [];
    for (var t = first; t <= hi && vals.length < 40; t += step) { vals.push(t); text.push(clock(t, digits)); }
    return { vals: vals, text: text };
  }
  function xUpdate(div, r) {
    var px = (div._fullLayout && div._fullLayout._size) ? div._fullLayout._size.w : 1200;
    var t = ticks(r[0], r[1], px);
    return { 'xaxis.range': [r[0], r[1]], 'xaxis.tickvals': t.vals, 'xaxis.ticktext': t.text };
  }
  function clamp(r) {
    var lo = Math.max(r[0], -0.02 * D.span_ns), hi = Math.min(r[1], 1.02 * D.span_ns);
    if (hi - lo < 100) { var mid = (lo + hi) / 2; lo = mid - 50; hi = mid + 50; } // 100 ns at the closest
    return [lo, hi];
  }
  function setRange(r) {
    r = clamp(r);
    current = r;
    syncing = true;
    var jobs = divs.map(function (div) { return Plotly.relayout(div, xUpdate(div, r)); });
    var note = document.getElementById('zoomnote');
    if (note) note.textContent = clock(r[0], 6) + ' to ' + clock(r[1], 6) + ' UTC (' + human(r[1] - r[0]) + ' shown)';
    return Promise.all(jobs).then(function () { syncing = false; }, function (e) { syncing = false; throw e; });
  }
  window.flapwatchZoom = setRange;
  function human(ns) {
    if (ns < 1e3) return ns.toFixed(0) + ' ns';
    if (ns < 1e6) return (ns / 1e3).toFixed(1) + ' µs';
    if (ns < 1e9) return (ns / 1e6).toFixed(2) + ' ms';
    if (ns < 60e9) return (ns / 1e9).toFixed(3) + ' s';
    return (ns / 60e9).toFixed(1) + ' min';
  }
  function onRelayout(ev) {
    if (syncing) return;
    if (ev['xaxis.autorange'] || ev['autosize']) { setRange([0, D.span_ns]); return; }
    var a = ev['xaxis.range[0]'], b = ev['xaxis.range[1]'];
    if (a === undefined && ev['xaxis.range']) { a = ev['xaxis.range'][0]; b = ev['xaxis.range'][1]; }
    if (a !== undefined && b !== undefined) setRange([+a, +b]);
  }
  var config = { responsive: true, scrollZoom: true, displaylogo: false, doubleClick: 'autosize',
                 modeBarButtonsToRemove: ['select2d', 'lasso2d', 'autoScale2d', 'toImage'] };
  function dur(ns) { // as flapwatch's timefmt.duration: 5.70 ms, 830 µs, 2.001 s
    if (ns < 1e3) return ns + ' ns';
    if (ns < 1e6) return (ns / 1e3).toFixed(0) + ' µs';
    if (ns < 1e9) return (ns / 1e6).toFixed(2) + ' ms';
    if (ns < 60e9) return (ns / 1e9).toFixed(3) + ' s';
    return Math.floor(ns / 60e9) + ' min ' + ((ns % 60e9) / 1e9).toFixed(0) + ' s';
  }
  function hoverTexts(tr) { // the hover text the figure data leaves to the page (smaller file)
    var m = tr.meta;
    if (!m) return;
    if (m.kind === 'risk') {
      tr.hovertext = tr.x.map(function (x, j) { return 'risk <b>' + tr.y[j].toFixed(2) + '</b> from ' + clock(x, 6); });
    } else if (m.kind === 'pfc' || m.kind === 'pfc-merged') {
      var texts = [];
      m.rec.forEach(function (r) {
        var t;
        if (m.kind === 'pfc') {
          t = '<b>' + m.lane + '</b> paused <b>' + (100 * r[2] / r[1]).toFixed(1) + ' %</b> of ' + dur(r[1]) +
              ' from ' + clock(r[0], 6) + '<br>' + dur(r[2]) + ' paused, ' + r[3] + ' frames (' + r[4] + ' XON)';
        } else {
          t = '<b>' + m.lane + '</b> ' + clock(r[0], 6) + ' to ' + clock(r[1], 6) + ': ' + r[4] + ' windows merged' +
              '<br>most paused <b>' + (100 * r[2]).toFixed(1) + ' %</b> (window from ' + clock(r[5], 6) + '), mean ' +
              (100 * r[3]).toFixed(1) + ' %<br>every window: --format json, csv or parquet';
        }
        texts.push(t, t, t, t, '');
      });
      tr.hovertext = texts;
    }
    delete tr.meta;
  }
  var pending = D.figures.length, t2 = 0;
  function draw(i) {
    var div = document.getElementById('tl-' + i);
    if (div.dataset.drawn) return;
    div.dataset.drawn = '1';
    var f = D.figures[i];
    f.data.forEach(hoverTexts);
    var px = div.clientWidth - f.layout.margin.l - f.layout.margin.r;
    var t = ticks(current[0], current[1], px);
    f.layout.xaxis.range = current.slice();
    f.layout.xaxis.tickvals = t.vals; f.layout.xaxis.ticktext = t.text;
    Plotly.newPlot(div, f.data, f.layout, config);
    div.on('plotly_relayout', onRelayout);
    divs.push(div);
    D.figures[i] = null;
    if (--pending === 0) {
      body.dataset.rendered = divs.length;
      body.dataset.allRenderedMs = performance.now().toFixed(1);
      whenAll.forEach(function (fn) { fn(); });
    }
  }
  var whenAll = [];
  // The ports on the first screen now; the others when scrolled near, or soon after anyway.
  var later = [];
  D.figures.forEach(function (f, i) {
    var top = document.getElementById('tl-' + i).getBoundingClientRect().top;
    if (top < window.innerHeight + 100) draw(i); else later.push(i);
  });
  body.dataset.firstScreen = divs.length;
  body.dataset.renderMs = performance.now().toFixed(1); // the first screen is drawn and live
  if ('IntersectionObserver' in window) {
    var io = new IntersectionObserver(function (entries) {
      entries.forEach(function (e) { if (e.isIntersecting) { io.unobserve(e.target); draw(+e.target.id.slice(3)); } });
    }, { rootMargin: '600px' });
    later.forEach(function (i) { io.observe(document.getElementById('tl-' + i)); });
  }
  (function idle() { // the rest, one port per task: the page stays responsive meanwhile
    var i = later.shift();
    if (i === undefined) return;
    draw(i);
    setTimeout(idle, 0);
  })();
  if (pending === 0) body.dataset.rendered = divs.length;
  var reset = document.getElementById('zoomreset');
  if (reset) reset.addEventListener('click', function () { setRange([0, D.span_ns]); });

  // --- test hook: #zoom=<port>,<start_ns>,<end_ns> ---------------------------------------
  function barPath(div, curve, point) {
    var n = 0, k = -1;
    div.data.forEach(function (tr, c) { if (tr.type === 'bar') { if (c === curve) k = n; n++; } });
    var tr = div.querySelectorAll('.barlayer .trace')[k];
    return tr ? tr.querySelectorAll('.point')[point] : null;
  }
  function visiblePx(el, div) {
    if (!el) return 0;
    var r = el.getBoundingClientRect(), area = div.querySelector('.nsewdrag').getBoundingClientRect();
    return Math.max(0, Math.min(r.right, area.right) - Math.max(r.left, area.left));
  }
  function hoverLabel(div) {
    return Array.prototype.map.call(div.querySelectorAll('.hoverlayer .hovertext text'), function (t) {
      var lines = t.querySelectorAll('tspan.line');
      return lines.length ? Array.prototype.map.call(lines, function (l) { return l.textContent; }).join(' / ')
                          : t.textContent;
    }).join(' | ');
  }
  window.flapwatchHoverLabel = hoverLabel;
  function scatterIndex(div, curve) {
    var n = 0, k = -1;
    div.data.forEach(function (tr, c) { if (tr.type === 'scatter') { if (c === curve) k = n; n++; } });
    return k;
  }
  var m = /zoom=([^,]+),(\d+),(\d+)/.exec(decodeURIComponent(location.hash));
  if (m) whenAll.push(function () {
    var i = D.ports.indexOf(m[1]);
    var lo = Number(BigInt(m[2]) - T0), hi = Number(BigInt(m[3]) - T0);
    var div = document.getElementById('tl-' + i);
    // the whole capture first: each flap's bar and its marker, in pixels
    var full = [];
    div.data.forEach(function (tr, c) {
      if (tr.name !== 'down') return;
      var marks = null;
      div.data.forEach(function (t2, c2) { if (t2.name === 'flap') marks = c2; });
      var markEls = div.querySelectorAll('.scatterlayer .trace')[scatterIndex(div, marks)].querySelectorAll('.point');
      tr.base.forEach(function (s, p) {
        full.push({ start: s, ns: tr.x[p], barPx: +visiblePx(barPath(div, c, p), div).toFixed(2),
                    markPx: +Math.max(markEls[p].getBoundingClientRect().width, markEls[p].getBoundingClientRect().height).toFixed(1) });
      });
    });
    body.dataset.fullView = JSON.stringify(full);
    // as a user would: a relayout on that port's chart; the others follow through onRelayout
    Plotly.relayout(div, { 'xaxis.range[0]': lo, 'xaxis.range[1]': hi }).then(function () {
      return new Promise(function (ok) { setTimeout(ok, 50); });
    }).then(function () {
      body.dataset.zoomPort = m[1];
      body.dataset.zoomRanges = JSON.stringify(divs.map(function (d) { return d.layout.xaxis.range; }));
      body.dataset.zoomTicks = JSON.stringify(div.layout.xaxis.ticktext);
      var shown = [], hoverAt = null;
      div.data.forEach(function (tr, c) {
        if (tr.type !== 'bar' || tr.name !== 'down') return;
        tr.base.forEach(function (s, p) {
          var e = s + tr.x[p];
          if (e >= lo && s <= hi) { shown.push(tr.hovertext[p].replace(/<[^>]+>/g, '')); if (!hoverAt) hoverAt = [c, p]; }
        });
      });
      body.dataset.visibleFlaps = JSON.stringify(shown);
      if (hoverAt) {
        // the drawn bar of the first flap in view, in pixels inside the plot area
        body.dataset.barPx = visiblePx(barPath(div, hoverAt[0], hoverAt[1]), div).toFixed(1);
        Plotly.Fx.hover(div, [{ curveNumber: hoverAt[0], pointNumber: hoverAt[1] }]);
        body.dataset.hover = hoverLabel(div);
        Plotly.Fx.unhover(div);
      }
      body.dataset.zoomed = '1';
    }).catch(function (e) { body.dataset.zoomError = String(e); });
  });
  if (m && pending === 0) whenAll.pop()();
})();
