// Sluice's dashboard: polls /status, /incidents, /canaries and /config/versions every second and draws them.
// Every value from the API goes in as text (textContent), never as HTML.
'use strict';

const POLL_MS = 1000;
let token = sessionStorage.getItem('sluice-admin-token') || '';

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === 'class') node.className = v;
    else if (k.startsWith('data-')) node.setAttribute(k, v);
    else if (k === 'onclick') node.addEventListener('click', v);
    else node.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === undefined || c === null) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function headers(extra) {
  const h = Object.assign({}, extra || {});
  if (token) h['Authorization'] = 'Bearer ' + token;
  return h;
}

async function getJson(path) {
  const response = await fetch(path, { headers: headers(), cache: 'no-store' });
  if (response.status === 401) {
    document.getElementById('token-form').hidden = false;
    throw new Error('the admin API wants its token');
  }
  if (!response.ok) throw new Error(path + ' answered ' + response.status);
  return response.json();
}

const percent = r => (r * 100).toFixed(r < 0.01 && r > 0 ? 2 : 1) + '%';
const kinds = byKind => Object.entries(byKind || {}).map(([k, n]) => k + ' ' + n).join(', ');

/** What the page says of an endpoint: ejected or marked down first, then failing by its traffic. */
function endpointState(e) {
  if (e.ejected) return 'ejected';
  if (e.health !== 'healthy') return e.health;
  const t = e.traffic;
  if (t && t.error_ratio >= 0.5 && Object.keys(t.failures_by_kind || {}).length > 0) return 'failing';
  return 'healthy';
}

function drawClusters(status) {
  const root = document.getElementById('clusters');
  const routesByCluster = {};
  for (const r of status.routes) {
    // A route split across clusters (routes[].backends) is listed under each, with its weight there.
    const shares = r.backends ? r.backends.map(b => [b.cluster, ' at ' + b.weight + '%'])
        : [[r.cluster || '(answers itself)', '']];
    for (const [key, share] of shares) {
      (routesByCluster[key] = routesByCluster[key] || []).push(Object.assign({ share: share }, r));
    }
  }
  const boxes = [];
  for (const c of status.clusters) {
    const t = c.traffic || {};
    const routes = (routesByCluster[c.name] || []).map(r => r.name + r.share + (r.traffic ? ' ('
        + r.traffic.requests_per_second + '/s, ' + percent(r.traffic.error_ratio) + ' failed)' : '')).join('; ');
    const conc = c.concurrency || {};
    const rows = c.endpoints.map(e => {
      const state = endpointState(e);
      const et = e.traffic || {};
      return el('tr', { class: 'endpoint', 'data-address': e.address, 'data-health': state },
          el('td', {}, e.address),
          el('td', { class: 'health health-' + state }, state),
          el('td', {}, e.in_flight),
          el('td', {}, et.tries_per_second !== undefined ? et.tries_per_second + '/s' : '–'),
          el('td', {}, et.error_ratio !== undefined ? percent(et.error_ratio) : '–'),
          el('td', { class: 'kinds' }, kinds(et.failures_by_kind)),
          el('td', {}, e.keep_alive_timeout_ms === null ? 'not learnt' : e.keep_alive_timeout_ms + ' ms'));
    });
    boxes.push(el('div', { class: 'cluster', 'data-cluster': c.name },
        el('h3', {}, 'cluster ' + c.name, t.incident ? el('span', { class: 'health-failing' }, '  incident ' + t.incident) : ''),
        el('div', { class: 'facts' }, 'routes: ' + (routes || 'none')),
        el('div', { class: 'facts' },
            (t.requests_per_second ?? 0) + ' req/s · ' + percent(t.error_ratio || 0) + ' failed tries · p50 '
            + (t.latency_p50_ms ?? 0) + ' ms · p99 ' + (t.latency_p99_ms ?? 0) + ' ms · retries ' + (t.retries ?? 0)
            + ' (' + (t.retries_refused_by_budget ?? 0) + ' refused by budget) over ' + (t.window_seconds ?? 0) + ' s'),
        el('div', { class: 'facts kinds' }, kinds(t.failures_by_kind)),
        el('div', { class: 'facts' }, 'admission: ' + conc.mode + (conc.mode === 'off' ? '' : ', limit ' + conc.limit
            + ', in flight ' + conc.in_flight + ', queued ' + conc.queued + ', shed ' + conc.shed)
            + (c.panic ? ' · PANIC MODE' : '') + ' · retry budget ' + c.retry_budget_available),
        el('table', {}, el('thead', {}, el('tr', {}, ...['endpoint', 'health', 'in flight', 'tries', 'failed',
            'failures by kind', 'keep-alive'].map(h => el('th', {}, h)))), el('tbody', {}, ...rows))));
  }
  root.replaceChildren(...boxes);
}

function drawIncidents(incidents) {
  const root = document.getElementById('incidents');
  const all = incidents.open.concat(incidents.recent);
  if (all.length === 0) {
    root.replaceChildren(el('p', { class: 'quiet' }, 'none'));
    return;
  }
  root.replaceChildren(...all.map(i => el('div', { class: 'incident', 'data-id': i.id, 'data-state': i.state,
          'data-cluster': i.cluster || '' },
      el('strong', {}, 'incident ' + i.id + ' · ' + i.state + ' · ' + (i.cluster ? 'cluster ' + i.cluster : 'config')),
      el('div', {}, 'opened ' + i.opened_at + ': ' + i.opened_because),
      el('div', { class: 'kinds' }, i.failure_kinds.map(k => k.kind + ' ' + k.count).join(', ')),
      el('div', {}, 'endpoints: ' + (i.endpoints.map(e => e.address + ' (' + e.failures + ')').join(', ') || 'none')
          + ' · routes: ' + (i.routes.map(r => r.name).join(', ') || 'none')),
      el('div', {}, 'config: version ' + (i.config.version ?? '?') + ' (' + (i.config.outcome ?? '?') + ')'
          + (i.config.changed_just_before ? ', changed ' + i.config.changed_just_before.seconds_before_open + ' s before' : '')),
      el('div', {}, 'Sluice did: ' + i.actions.ejections + ' ejections, ' + i.actions.retries + ' retries ('
          + i.actions.retries_refused_by_budget + ' refused by budget), ' + i.actions.load_shed + ' shed'
          + (i.actions.panic_mode ? ', panic mode' : '') + (i.actions.rollbacks.length ? ', ' + i.actions.rollbacks.length
          + ' rollback(s)' : '')),
      i.closed_at ? el('div', {}, 'closed ' + i.closed_at + ': ' + i.closed_how) : null,
      el('ol', {}, ...i.timeline.map(e => el('li', {}, e.at.substring(11, 19) + '  ' + e.event))))));
}

const ms = v => (v < 10 ? v.toFixed(1) : Math.round(v)) + ' ms';

/** One side of a judged step: its requests, error ratio and latency percentile over the step. */
function side(figures, percentile) {
  return figures.requests + ' req · ' + percent(figures.error_ratio) + ' errors · p' + percentile + ' '
      + ms(figures.latency_ms);
}

/** What each step is held to, in the config's words. */
function thresholds(t) {
  return 'each step: error ratio at most ' + percent(t.max_error_ratio_increase) + ' above the stable\'s · p'
      + t.latency_percentile + ' at most ' + t.latency_max_factor + '× the stable\'s (or under '
      + t.latency_min_increase_ms + ' ms above it) · at least ' + t.min_requests + ' requests each';
}

/** The steps in order, the one running (or reached) marked. */
function stepsLine(c) {
  return el('span', { class: 'steps' }, ...c.steps.flatMap((w, i) => {
    const state = c.step === i + 1 ? 'current' : (c.judged.some(j => j.step === i + 1 && j.passed)
        || (c.status === 'promoted' && w === 100) ? 'passed' : (c.judged.some(j => j.step === i + 1) ? 'failed'
        : 'ahead'));
    return [i ? ' → ' : '', el('span', { class: 'step step-' + state, 'data-step': i + 1 }, w + '%')];
  }));
}

function drawCanaries(canaries) {
  const section = document.getElementById('canaries-section');
  section.hidden = canaries.length === 0;
  const boxes = canaries.map(c => {
    const rows = c.judged.map(j => el('tr', { class: 'judged', 'data-step': j.step, 'data-verdict': j.passed
            ? 'passed' : 'failed' },
        el('td', {}, 'step ' + j.step + ' (' + j.weight + '%)'),
        el('td', {}, j.started_at.substring(11, 19) + '–' + j.at.substring(11, 19)),
        el('td', { class: 'figures', 'data-side': 'canary' }, side(j.canary, j.latency_percentile)),
        el('td', { class: 'figures', 'data-side': 'stable' }, side(j.stable, j.latency_percentile)),
        el('td', { class: j.passed ? 'verdict passed' : 'verdict failed' },
            j.passed ? 'passed' : 'failed: ' + j.missed),
        el('td', { class: 'quiet' }, j.text)));
    const running = c.status === 'running';
    return el('div', { class: 'canary', 'data-route': c.route, 'data-status': c.status, 'data-weight': c.weight,
            'data-step': c.step ?? '' },
        el('h3', {}, 'route ' + c.route + ' · canary ' + c.canary + ' against ' + c.stable + ' · ',
            el('span', { class: 'canary-status status-' + c.status }, c.status.replace('_', ' ')
                + (c.held_because ? ' (held)' : '')),
            ' · ' + c.weight + '%'),
        el('div', { class: 'facts' }, 'steps ', stepsLine(c), running ? ' · step ' + c.step + ' of ' + c.steps.length
            + ', judged in ' + (c.next_judgement_in_ms / 1000).toFixed(1) + ' s (every ' + c.interval_ms / 1000
            + ' s)' : ''),
        el('div', { class: 'facts' }, thresholds(c.thresholds)),
        c.ended_because ? el('div', { class: 'ended' }, 'ended ' + (c.ended_at ? c.ended_at.replace('T', ' ').substring(0, 19)
            + ' UTC' : '') + ': ' + c.ended_because + (c.recorded_version ? ' · recorded as version ' + c.recorded_version : ''))
            : null,
        c.held_because ? el('div', { class: 'held' }, 'held at ' + c.weight + '% over reloads and restarts (' + c.held_because
            + '); ' + (c.status === 'promoted' ? 'a config that sets the canary to 0 (the stable pointed at the new '
            + 'version), or a changed canary, ends it' : '`sluice canary resume ' + c.route + '` or a changed canary '
            + 'runs it again')) : null,
        rows.length === 0 ? el('p', { class: 'quiet' }, 'no step judged yet')
            : el('table', {}, el('thead', {}, el('tr', {}, ...['step', 'held', 'canary', 'stable', 'verdict',
                'analysis'].map(h => el('th', {}, h)))), el('tbody', {}, ...rows)));
  });
  document.getElementById('canaries').replaceChildren(...boxes);
}

function drawVersions(versions, status) {
  const body = document.querySelector('#versions tbody');
  const rows = versions.versions.slice().reverse().map(v => {
    const current = v.version === versions.current;
    return el('tr', { 'data-version': v.version },
        el('td', {}, v.version + (current ? ' (serving)' : '')),
        el('td', {}, v.applied_at || v.at || ''),
        el('td', {}, v.source),
        el('td', { class: 'outcome' }, v.outcome),
        el('td', {}, v.note || ''),
        el('td', {}, current ? '' : el('button', { 'data-rollback': v.version, onclick: () => rollback(v.version) },
            'roll back to ' + v.version)));
  });
  body.replaceChildren(...rows);
}

async function rollback(version) {
  const out = document.getElementById('rollback-result');
  out.textContent = 'rolling back to version ' + version + '…';
  try {
    const response = await fetch('/rollback?to=' + encodeURIComponent(version), {
      method: 'POST', headers: headers({ 'X-Sluice-Admin': '1' }) });
    const answer = await response.json();
    out.textContent = answer.applied ? 'now serving version ' + answer.version + ' (restored from ' + version + ')'
        : 'refused: ' + answer.reason;
  } catch (e) {
    out.textContent = 'rollback failed: ' + e.message;
  }
  poll();
}

async function poll() {
  const error = document.getElementById('error');
  try {
    const [status, incidents, canaries, versions] = await Promise.all([getJson('/status'), getJson('/incidents'),
        getJson('/canaries'), getJson('/config/versions')]);
    const state = document.getElementById('state');
    state.textContent = status.state;
    state.className = 'pill ' + status.state;
    document.getElementById('config').textContent = 'config version ' + status.config_version + ' ('
        + status.config_outcome + ')' + (status.last_known_good ? ', last known good ' + status.last_known_good : '');
    document.getElementById('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
    drawIncidents(incidents);
    drawCanaries(canaries.canaries);
    drawClusters(status);
    drawVersions(versions, status);
    error.hidden = true;
  } catch (e) {
    error.textContent = 'cannot read the admin API: ' + e.message;
    error.hidden = false;
    document.getElementById('state').className = 'pill down';
  }
}

document.getElementById('token-form').addEventListener('submit', event => {
  event.preventDefault();
  token = document.getElementById('token').value.trim();
  sessionStorage.setItem('sluice-admin-token', token);
  document.getElementById('token-form').hidden = true;
  poll();
});

poll();
setInterval(poll, POLL_MS);
