// The policy playground: plain DOM and fetch, no build step. The token stays in this tab's sessionStorage and is
// sent as a bearer token on every API call; nothing else is stored.
'use strict';

const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem('membrane.admin.token') || '';

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { 'Authorization': 'Bearer ' + token, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json = null;
  try { json = JSON.parse(text); } catch (notJson) { /* an error page */ }
  if (!response.ok) throw new Error(response.status + ' ' + ((json && json.error) || text || response.statusText));
  return json;
}

function option(label, tenant, app, policy) {
  const o = document.createElement('option');
  o.textContent = label + ' \u2192 ' + (policy || 'refused: no policy');
  o.value = JSON.stringify({ tenant, app });
  o.dataset.policy = policy || '';
  return o;
}

async function connect() {
  token = $('token').value.trim();
  sessionStorage.setItem('membrane.admin.token', token);
  $('error').textContent = '';
  try {
    const doc = await api('GET', '/api/policies');
    const target = $('target');
    target.replaceChildren();
    for (const [tenant, t] of Object.entries(doc.tenants)) {
      const own = t.policy || doc.defaultPolicy;
      target.append(option(tenant + ' / (any app)', tenant, '', own));
      for (const [app, policy] of Object.entries(t.apps)) target.append(option(tenant + ' / ' + app, tenant, app, policy));
    }
    target.append(option('(any other tenant)', '', '', doc.defaultPolicy));
    target.disabled = false;
    $('compare').disabled = false;
    $('policy-version').textContent = 'policy version ' + doc.version + ' from ' + doc.source;
  } catch (e) {
    $('error').textContent = 'Cannot load policies: ' + e.message;
  }
}

function showImage(which, image) {
  $(which + '-image').src = image ? 'data:' + image.mediaType + ';base64,' + image.data : '';
  $(which + '-sha').textContent = image ? image.sha256 : '';
}

function showGammas(adapters) {
  const box = $('gammas');
  box.replaceChildren();
  if (adapters.length === 0) box.textContent = 'This policy applies no adapter.';
  const most = Math.max(1, ...adapters.map((a) => a.gamma));
  for (const a of adapters) {
    const row = document.createElement('div');
    row.className = 'gamma-row';
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = a.concept;
    const bar = document.createElement('span');
    bar.className = 'gamma-bar';
    bar.dataset.concept = a.concept;
    bar.dataset.gamma = String(a.gamma);
    bar.style.width = (12 * a.gamma / most) + 'rem';
    const value = document.createElement('span');
    value.className = 'value';
    const fmt = (v) => (v === null || v === undefined ? '-' : v.toFixed(3));
    value.textContent = '\u03b3 ' + a.gamma.toFixed(3) + '  (s_f ' + fmt(a.sf) + ', s_t ' + fmt(a.st) + ')';
    row.append(name, bar, value);
    box.append(row);
  }
}

function showScores(check) {
  const table = $('scores');
  table.replaceChildren();
  if (!check) {
    table.textContent = 'This policy has no output check.';
    return;
  }
  const head = table.insertRow();
  for (const h of ['label', 'without adapters', 'moderated']) {
    const th = document.createElement('th');
    th.textContent = h;
    head.append(th);
  }
  const verdicts = [check.base, check.moderated];
  const labels = Object.keys((check.moderated || check.base || { scores: {} }).scores);
  for (const label of labels) {
    const row = table.insertRow();
    row.insertCell().textContent = label;
    for (const v of verdicts) {
      const cell = row.insertCell();
      const score = v ? v.scores[label] : null;
      cell.textContent = score === null || score === undefined ? '-' : score.toFixed(4);
      if (v && v.fired.some((f) => f.label === label)) cell.className = 'fired';
    }
  }
  const action = table.insertRow();
  action.insertCell().textContent = 'action';
  for (const v of verdicts) action.insertCell().textContent = v ? v.action : '-';
}

async function compare() {
  const target = JSON.parse($('target').value);
  const body = {
    tenant: target.tenant,
    app: target.app,
    prompt: $('prompt').value,
    seed: Number($('seed').value),
    steps: Number($('steps').value),
  };
  document.body.dataset.state = 'running';
  $('compare').disabled = true;
  $('error').textContent = '';
  $('status').textContent = 'Generating\u2026';
  try {
    const r = await api('POST', '/api/compare', body);
    showImage('base', r.base);
    showImage('moderated', r.moderated);
    showGammas(r.adapters);
    showScores(r.outputCheck);
    $('audit').textContent = JSON.stringify(r.audit, null, 2);
    $('status').textContent = r.status + (r.reason ? ': ' + r.reason : '') + ' \u2014 policy ' + r.policy + ' ' + r.policyVersion
      + ', seed ' + r.seed + ', ' + r.steps + ' steps, ' + Math.round(r.timingsMs.total) + ' ms';
    document.body.dataset.state = 'done';
  } catch (e) {
    $('error').textContent = 'Compare failed: ' + e.message;
    $('status').textContent = '';
    document.body.dataset.state = 'failed';
  } finally {
    $('compare').disabled = false;
  }
}

document.addEventListener('DOMContentLoaded', () => {
  $('token').value = token;
  $('connect').addEventListener('click', connect);
  $('compare').addEventListener('click', compare);
  if (token) connect();
});
