// postcall dashboard: reads the JSON API of the same origin and renders three views: the top
// leads, the sentiment trend per agent (inline SVG) and one call with its transcript.
//
// Everything that came from a call (names, numbers, transcript text, summaries, agent ids) goes
// into the document through textContent, or into an attribute that is never markup or a URL
// scheme (the call links are '#/calls/' + encodeURIComponent(id)). No markup is ever built from
// strings, so a caller who says "<script>" is shown saying it.
'use strict';

(function () {
  const SVG_NS = 'http://www.w3.org/2000/svg';

  // The browser's IANA zone, so that the trend's days are the viewer's days; UTC when unknown.
  function browserZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
    } catch (error) {
      return 'UTC';
    }
  }
  const app = document.getElementById('app');
  const state = { hours: 24, limit: 20, days: 7 };
  let renderSeq = 0;

  // ---- DOM helpers --------------------------------------------------------------------------

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    setAttributes(node, attrs);
    for (const child of children || []) {
      if (child) node.appendChild(child);
    }
    return node;
  }

  function text(tag, value, attrs) {
    const node = el(tag, attrs);
    node.textContent = value === null || value === undefined ? '' : String(value);
    return node;
  }

  function svg(tag, attrs, value) {
    const node = document.createElementNS(SVG_NS, tag);
    setAttributes(node, attrs);
    if (value !== undefined) node.textContent = String(value);
    return node;
  }

  function setAttributes(node, attrs) {
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value !== null && value !== undefined) node.setAttribute(name, String(value));
    }
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function callHref(id) {
    return '#/calls/' + encodeURIComponent(id);
  }

  // ---- formatting ---------------------------------------------------------------------------

  function when(iso) {
    if (!iso) return '—';
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return '—';
    const sameYear = date.getFullYear() === new Date().getFullYear();
    return date.toLocaleString(undefined, {
      year: sameYear ? undefined : 'numeric',
      month: 'short',
      day: 'numeric',
      hour: 'numeric',
      minute: '2-digit',
    });
  }

  function signed(value) {
    if (typeof value !== 'number' || !Number.isFinite(value)) return '—';
    return (value >= 0 ? '+' : '−') + Math.abs(value).toFixed(2);
  }

  function duration(ms) {
    if (typeof ms !== 'number' || !Number.isFinite(ms)) return '—';
    const seconds = Math.round(ms / 1000);
    return Math.floor(seconds / 60) + ':' + String(seconds % 60).padStart(2, '0');
  }

  function percent(ratio) {
    return typeof ratio === 'number' && Number.isFinite(ratio) ? Math.round(ratio * 100) + '%' : '—';
  }

  function millis(value) {
    return typeof value === 'number' && Number.isFinite(value) ? value + ' ms' : '—';
  }

  function band(score) {
    if (score >= 80) return 'hot';
    if (score >= 50) return 'warm';
    return 'cold';
  }

  function mood(sentiment) {
    if (sentiment >= 0.2) return 'positive';
    if (sentiment <= -0.2) return 'negative';
    return 'neutral';
  }

  function entity(entities, name) {
    const value = entities && typeof entities === 'object' ? entities[name] : null;
    return typeof value === 'string' && value.trim() !== '' ? value : null;
  }

  // ---- the API ------------------------------------------------------------------------------

  async function api(path) {
    const response = await fetch(path, {
      credentials: 'same-origin',
      headers: { Accept: 'application/json' },
    });
    let body = null;
    try {
      body = await response.json();
    } catch (ignored) {
      body = null;
    }
    if (!response.ok) {
      const message = body && body.error && body.error.message ? body.error.message : 'HTTP ' + response.status;
      const error = new Error(message);
      error.status = response.status;
      throw error;
    }
    return body;
  }

  function failure(error) {
    const message = error && error.status === 401
      ? 'Your session has ended. Open the dashboard link with its token again.'
      : 'Could not load: ' + (error && error.message ? error.message : 'network error');
    return text('p', message, { class: 'error', role: 'alert' });
  }

  function select(label, options, current, onChange) {
    const control = el('select', { 'aria-label': label });
    for (const [value, name] of options) {
      const option = text('option', name, { value: value });
      if (value === current) option.selected = true;
      control.appendChild(option);
    }
    control.addEventListener('change', () => onChange(Number(control.value)));
    return el('label', { class: 'control' }, [text('span', label), control]);
  }

  // ---- the overview: top leads and the trend ------------------------------------------------

  function renderOverview(seq) {
    clear(app);
    const leadsBody = el('div', { class: 'card-body', id: 'leads-body' });
    const trendBody = el('div', { class: 'card-body', id: 'trend-body' });
    const leads = el('section', { class: 'card', id: 'top-leads' }, [
      el('div', { class: 'card-head' }, [
        text('h2', 'Top leads'),
        el('div', { class: 'controls' }, [
          select('Window', [[24, 'Last 24 h'], [72, 'Last 3 days'], [168, 'Last 7 days'], [720, 'Last 30 days']],
            state.hours, (v) => { state.hours = v; loadLeads(seq, leadsBody); }),
          select('Rows', [[20, '20'], [50, '50'], [100, '100'], [200, '200']],
            state.limit, (v) => { state.limit = v; loadLeads(seq, leadsBody); }),
        ]),
      ]),
      leadsBody,
    ]);
    const trend = el('section', { class: 'card', id: 'sentiment-trend' }, [
      el('div', { class: 'card-head' }, [
        text('h2', 'Caller sentiment per agent'),
        el('div', { class: 'controls' }, [
          select('Days', [[7, '7 days'], [14, '14 days'], [30, '30 days'], [90, '90 days']],
            state.days, (v) => { state.days = v; loadTrend(seq, trendBody); }),
        ]),
      ]),
      trendBody,
    ]);
    app.appendChild(leads);
    app.appendChild(trend);
    loadLeads(seq, leadsBody);
    loadTrend(seq, trendBody);
  }

  async function loadLeads(seq, target) {
    clear(target);
    target.appendChild(text('p', 'Loading…', { class: 'status' }));
    let body;
    try {
      body = await api('/api/top-leads?hours=' + state.hours + '&limit=' + state.limit);
    } catch (error) {
      if (seq !== renderSeq) return;
      clear(target);
      target.appendChild(failure(error));
      return;
    }
    if (seq !== renderSeq) return;
    clear(target);
    if (body.leads.length === 0) {
      target.appendChild(text('p', 'No analyzed calls ended in this window.', { class: 'status' }));
      return;
    }
    const columns = ['Score', 'Caller', 'Number', 'Intent', 'Topic', 'Agent', 'Ended'];
    const head = el('tr', {}, columns.map((name) => text('th', name, { scope: 'col' })));
    const rows = body.leads.map((lead) => {
      const name = entity(lead.entities, 'name');
      const link = text('a', name || 'Unknown caller', { href: callHref(lead.callId), class: name ? 'caller' : 'caller unknown' });
      // One element per cell, so that the phone layout's label and value sit side by side.
      const cell = (label, children, className) => el('td', { 'data-label': label, class: className }, [el('div', {}, children)]);
      const row = el('tr', { class: 'lead-row', 'data-call-id': lead.callId }, [
        cell('Score', [text('span', lead.leadScore, { class: 'badge score ' + band(lead.leadScore) })]),
        cell('Caller', [link, text('span', entity(lead.entities, 'email') || '', { class: 'sub' })]),
        cell('Number', [text('span', lead.fromNumber || '—')], 'number'),
        cell('Intent', [text('span', lead.intent, { class: 'badge intent' })]),
        cell('Topic', [text('span', entity(lead.entities, 'topic') || '—')]),
        cell('Agent', [text('span', lead.agentId || '—')]),
        cell('Ended', [text('span', when(lead.endedAt))], 'ended'),
      ]);
      row.addEventListener('click', (event) => {
        if (event.target.closest('a')) return;
        location.hash = callHref(lead.callId);
      });
      return row;
    });
    target.appendChild(el('table', { class: 'leads' }, [el('thead', {}, [head]), el('tbody', {}, rows)]));
  }

  async function loadTrend(seq, target) {
    clear(target);
    target.appendChild(text('p', 'Loading…', { class: 'status' }));
    let body;
    try {
      body = await api('/api/sentiment-trend?days=' + state.days + '&tz=' + encodeURIComponent(browserZone()));
    } catch (error) {
      if (seq !== renderSeq) return;
      clear(target);
      target.appendChild(failure(error));
      return;
    }
    if (seq !== renderSeq) return;
    clear(target);
    if (body.points.length === 0) {
      target.appendChild(text('p', 'No analyzed calls ended in this window.', { class: 'status' }));
      return;
    }
    const agents = new Map();
    for (const point of body.points) {
      const agent = point.agentId || '(no agent)';
      if (!agents.has(agent)) agents.set(agent, []);
      agents.get(agent).push(point);
    }
    // Today and the days before it, in the zone the API was asked for (the browser's).
    const days = dayRange(body.days);
    const grid = el('div', { class: 'charts' });
    for (const [agent, points] of agents) {
      grid.appendChild(agentChart(agent, points, days));
    }
    target.appendChild(grid);
  }

  // The browser's local days of the window, oldest first, as YYYY-MM-DD.
  function dayRange(count) {
    const days = [];
    const today = new Date();
    const pad = (n) => String(n).padStart(2, '0');
    for (let i = count - 1; i >= 0; i--) {
      const day = new Date(today.getFullYear(), today.getMonth(), today.getDate() - i);
      days.push(day.getFullYear() + '-' + pad(day.getMonth() + 1) + '-' + pad(day.getDate()));
    }
    return days;
  }

  function agentChart(agent, points, days) {
    const width = 320;
    const height = 150;
    const left = 34;
    const right = 10;
    const top = 12;
    const bottom = 24;
    const x = (index) => left + (days.length === 1 ? (width - left - right) / 2 : (index * (width - left - right)) / (days.length - 1));
    const y = (value) => top + ((1 - Math.max(-1, Math.min(1, value))) / 2) * (height - top - bottom);

    let calls = 0;
    let weighted = 0;
    const placed = [];
    for (const point of points) {
      calls += point.calls;
      weighted += point.averageSentiment * point.calls;
      const index = days.indexOf(point.date);
      if (index >= 0) placed.push({ index: index, point: point });
    }
    placed.sort((a, b) => a.index - b.index);
    const average = calls > 0 ? weighted / calls : 0;

    const chart = svg('svg', {
      class: 'trend-chart',
      viewBox: '0 0 ' + width + ' ' + height,
      role: 'img',
      'aria-label': 'Daily average caller sentiment for ' + agent,
      'data-agent': agent,
    });
    for (const level of [1, 0, -1]) {
      chart.appendChild(svg('line', { x1: left, x2: width - right, y1: y(level), y2: y(level), class: level === 0 ? 'axis zero' : 'axis' }));
      chart.appendChild(svg('text', { x: left - 6, y: y(level) + 4, class: 'tick', 'text-anchor': 'end' }, level === 0 ? '0' : signed(level).replace('.00', '')));
    }
    chart.appendChild(svg('text', { x: left, y: height - 6, class: 'tick', 'text-anchor': 'start' }, days[0].slice(5)));
    chart.appendChild(svg('text', { x: width - right, y: height - 6, class: 'tick', 'text-anchor': 'end' }, days[days.length - 1].slice(5)));
    if (placed.length > 1) {
      const path = placed.map((p) => x(p.index).toFixed(1) + ',' + y(p.point.averageSentiment).toFixed(1)).join(' ');
      chart.appendChild(svg('polyline', { points: path, class: 'series' }));
    }
    for (const p of placed) {
      const dot = svg('circle', { cx: x(p.index).toFixed(1), cy: y(p.point.averageSentiment).toFixed(1), r: 3.5, class: 'point ' + mood(p.point.averageSentiment) });
      dot.appendChild(svg('title', {}, days[p.index] + ': ' + signed(p.point.averageSentiment) + ' (' + p.point.calls + (p.point.calls === 1 ? ' call)' : ' calls)')));
      chart.appendChild(dot);
    }

    return el('figure', { class: 'agent-trend' }, [
      el('figcaption', {}, [
        text('span', agent, { class: 'agent' }),
        text('span', signed(average) + ' avg · ' + calls + (calls === 1 ? ' call' : ' calls'), { class: 'sub ' + mood(average) }),
      ]),
      chart,
    ]);
  }

  // ---- one call -----------------------------------------------------------------------------

  async function renderCall(seq, id) {
    clear(app);
    app.appendChild(text('p', 'Loading…', { class: 'status' }));
    let call;
    try {
      call = await api('/api/calls/' + encodeURIComponent(id));
    } catch (error) {
      if (seq !== renderSeq) return;
      clear(app);
      app.appendChild(el('section', { class: 'card' }, [backLink(), error.status === 404 ? text('p', 'No call has this id.', { class: 'error', role: 'alert' }) : failure(error)]));
      return;
    }
    if (seq !== renderSeq) return;
    clear(app);
    const a = call.analytics;
    const entities = a ? a.entities : null;
    const name = entity(entities, 'name');
    const section = el('section', { class: 'card call', id: 'call' }, [
      backLink(),
      text('h2', name || call.fromNumber || 'Unknown caller', { class: 'call-title' }),
      text('p', [call.fromNumber || 'no number', call.agentId || 'no agent', 'ended ' + when(call.endedAt)].join(' · '), { class: 'sub' }),
      text('p', 'Call ' + call.callId, { class: 'sub call-id' }),
    ]);
    if (a) {
      section.appendChild(el('div', { class: 'badges' }, [
        text('span', 'Score ' + a.leadScore, { class: 'badge score ' + band(a.leadScore) }),
        text('span', a.intent, { class: 'badge intent' }),
        text('span', 'Sentiment ' + signed(a.sentiment), { class: 'badge ' + mood(a.sentiment) }),
      ]));
      section.appendChild(facts([
        ['Summary', a.summary || '—'],
        ['Next action', a.nextAction || '—'],
        ['Email', entity(entities, 'email') || '—'],
        ['Topic', entity(entities, 'topic') || '—'],
        ['Analyzer', a.analyzer + (a.truncated ? ' (long call: head and tail analyzed)' : '') + ', ' + when(a.computedAt)],
      ], 'facts'));
      if (a.metrics) {
        section.appendChild(text('h3', 'Call metrics'));
        section.appendChild(facts(metricRows(a.metrics), 'facts metrics'));
      }
    } else {
      section.appendChild(text('p', 'This call has not been analyzed yet.', { class: 'status' }));
    }
    section.appendChild(text('h3', 'Transcript'));
    section.appendChild(transcript(call));
    if (call.turnsTruncated) {
      section.appendChild(text('p', 'The transcript is cut here; the call has more turns.', { class: 'status' }));
    }
    app.appendChild(section);
  }

  function backLink() {
    return text('a', '← All leads', { href: '/#/', class: 'back' });
  }

  function facts(rows, className) {
    const list = el('dl', { class: className });
    for (const [term, value] of rows) {
      list.appendChild(el('div', { class: 'fact' }, [text('dt', term), text('dd', value)]));
    }
    return list;
  }

  function metricRows(m) {
    const agent = m.agent || {};
    const caller = m.caller || {};
    const latency = m.agentResponseLatencyMs || {};
    const overlaps = m.overlaps || {};
    const quarters = Array.isArray(m.callerSentimentByQuarter) ? m.callerSentimentByQuarter : [];
    return [
      ['Duration', duration(m.durationMs)],
      ['Turns', (m.turns ?? '—') + ' (agent ' + (agent.turns ?? '—') + ', caller ' + (caller.turns ?? '—') + ')'],
      ['Talk share', 'agent ' + percent(agent.talkRatio) + ', caller ' + percent(caller.talkRatio)],
      ['Agent response', 'p50 ' + millis(latency.p50) + ', p95 ' + millis(latency.p95)],
      ['Silences over 2 s', (m.gapsOver2s ?? '—') + ', longest ' + duration(m.longestSilenceMs)],
      ['Overlaps', (overlaps.count ?? 0) + ' (agent cut in ' + (overlaps.agentInterruptedCaller ?? 0) + ', caller cut in ' + (overlaps.callerInterruptedAgent ?? 0) + ')'],
      ['Words per minute', 'agent ' + (agent.wordsPerMinute ? Math.round(agent.wordsPerMinute) : '—') + ', caller ' + (caller.wordsPerMinute ? Math.round(caller.wordsPerMinute) : '—')],
      ['Caller mood by quarter', quarters.length ? quarters.map(signed).join('  ') : '—'],
    ];
  }

  function transcript(call) {
    if (call.turns.length === 0) {
      return text('p', 'No turns recorded.', { class: 'status' });
    }
    const start = call.startedAt || call.turns[0].startedAt;
    const origin = start ? new Date(start).getTime() : NaN;
    const list = el('ol', { class: 'transcript' });
    for (const turn of call.turns) {
      const at = turn.startedAt ? new Date(turn.startedAt).getTime() - origin : NaN;
      const who = turn.role === 'agent' ? 'Agent' : turn.role === 'caller' ? 'Caller' : turn.rawRole;
      list.appendChild(el('li', { class: 'turn turn-' + turn.role }, [
        el('div', { class: 'turn-head' }, [
          text('span', who, { class: 'who' }),
          text('span', Number.isFinite(at) && at >= 0 ? duration(at) : '', { class: 'when' }),
        ]),
        text('p', turn.text, { class: 'said' }),
      ]));
    }
    return list;
  }

  // ---- routing ------------------------------------------------------------------------------

  // '#/calls/<id>' (or the path '/calls/<id>', the notifier's link) shows a call; anything else
  // the overview.
  function route() {
    const hash = location.hash.replace(/^#/, '');
    const fromHash = hash.match(/^\/calls\/(.+)$/);
    const fromPath = hash === '' ? location.pathname.match(/^\/calls\/([^/]+)$/) : null;
    const match = fromHash || fromPath;
    if (!match) return { view: 'overview' };
    const raw = match[1];
    try {
      return { view: 'call', id: decodeURIComponent(raw) };
    } catch (ignored) {
      return { view: 'call', id: raw };
    }
  }

  function render() {
    renderSeq += 1;
    const seq = renderSeq;
    const current = route();
    if (current.view === 'call') {
      renderCall(seq, current.id);
    } else {
      renderOverview(seq);
    }
    window.scrollTo(0, 0);
  }

  window.addEventListener('hashchange', render);
  render();
})();
