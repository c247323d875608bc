/* SPDX-License-Identifier: Apache-2.0 */
/*
 * app.js - the web console of a node: one page whose views are chosen by
 * the address's fragment (#/desk, #/ticket/ID, ...).  Everything it shows
 * comes from the node's public HTTP API with the signed-in principal's
 * token, so the API's access rules are the console's: the menu only offers
 * what the role may do, and what the API refuses is shown as it says.
 * The token is kept in sessionStorage: it is gone when the browser session
 * ends.
 */
'use strict';

const API = '/api/v1';
const state = { me: null, units: [], rules: [], seq: 0 };

/* The views each role is offered, in menu order; at the province, its
 * federation dashboard too. */
const MENU = {
  operator: ['desk', 'triage', 'assists', 'tickets', 'followups', 'kb', 'restrictions'],
  manager: ['reviews', 'desk', 'triage', 'assists', 'tickets', 'followups', 'stats', 'kb', 'rules',
    'restrictions'],
  unit: ['inbox', 'kb'],
  auditor: ['tickets', 'stats'],
  admin: ['admin'],
  service: [],
};
const PROVINCE_MENU = { manager: ['province', 'transfers', 'balancing'],
  auditor: ['province', 'transfers', 'balancing'], admin: ['province', 'balancing'] };

function menuOf(me) {
  const views = (MENU[me.role] || []).slice();
  if (me.node.kind === 'province' && PROVINCE_MENU[me.role])
    views.unshift(...PROVINCE_MENU[me.role]);
  return views;
}

function token() {
  return sessionStorage.getItem('hotline.token');
}

/* Calls the API; resolves to the parsed answer, or rejects with an Error
 * carrying the API's status and error object. */
async function api(method, path, body, accept) {
  const headers = { Authorization: `Bearer ${token()}` };
  if (body !== undefined)
    headers['Content-Type'] = 'application/json';
  if (accept)
    headers.Accept = accept;
  const res = await fetch(API + path, { method, headers,
    body: body === undefined ? undefined : JSON.stringify(body) });
  if (accept === 'text/csv' && res.ok)
    return res.text();
  const data = res.status === 204 ? {} : await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = new Error((data.error && data.error.message) || res.statusText);
    err.status = res.status;
    err.body = data.error || {};
    if (res.status === 401 && path !== '/me')
      signOut();
    throw err;
  }
  return data;
}

function main() {
  return document.getElementById('main');
}

function show(...children) {
  const m = main();
  m.replaceChildren(...children.filter(c => c !== null && c !== undefined && c !== ''));
}

/* Shows what a view drew, unless another view was asked for meanwhile: the
 * answers of a view left behind arrive late and must not cover the next. */
function showIf(seq, ...children) {
  if (seq === state.seq)
    show(...children);
}

function notice(text, kind) {
  return el('div', { class: `notice ${kind || 'error'}`, role: kind === 'ok' ? 'status' : 'alert' },
    text);
}

function errorText(err) {
  const field = err.body && err.body.field ? ` (${err.body.field})` : '';
  return `${t('refused')}: ${err.message}${field}`;
}

/* Sign-in and the frame. */

/* The principals signed in as, or created, in this browser session: one
 * click to switch to another of them (kept in sessionStorage only, and
 * forgotten when the session is signed out: the next person at the desk
 * must not find them). */
function known() {
  try {
    return JSON.parse(sessionStorage.getItem('hotline.known') || '[]');
  } catch (e) {
    return [];
  }
}

function remember(name, role, value) {
  const list = known().filter(k => k.token !== value);
  list.push({ name, role, token: value });
  sessionStorage.setItem('hotline.known', JSON.stringify(list.slice(-20)));
}

async function signIn(value) {
  sessionStorage.setItem('hotline.token', value);
  try {
    state.me = await api('GET', '/me');
  } catch (err) {
    sessionStorage.removeItem('hotline.token');
    state.me = null;
    throw err;
  }
  remember(state.me.name, state.me.role, value);
  await loadShared();
  renderFrame();
  const first = menuOf(state.me)[0];
  go(first ? `#/${first}` : '#/');
}

/* Shows the view of 'hash': through hashchange when the address changes. */
function go(hash) {
  if (location.hash === hash)
    route();
  else
    location.hash = hash;
}

/* Back to the sign-in page, keeping the principals of the session. */
function switchPrincipal() {
  sessionStorage.removeItem('hotline.token');
  state.me = null;
  renderFrame();
  go('#/');
}

function signOut() {
  sessionStorage.removeItem('hotline.known');
  switchPrincipal();
}

async function loadShared() {
  state.units = (await api('GET', '/units')).units;
  state.rules = [];
  if (['operator', 'manager'].includes(state.me.role))
    state.rules = (await api('GET', '/emergency-rules')).rules.filter(r => r.active);
}

function renderFrame() {
  document.title = t('app_title');
  document.getElementById('title').textContent = t('app_title');
  const lang_ = document.getElementById('lang');
  lang_.textContent = t('language');
  const who = document.getElementById('who');
  const nav = document.getElementById('menu');
  who.replaceChildren();
  nav.replaceChildren();
  if (!state.me)
    return;
  const role = state.me.role === 'unit' ? 'unit_role' : state.me.role;
  who.append(el('span', { class: 'node' }, `${state.me.node.name} (${state.me.node.code})`),
    el('span', { id: 'whoami' }, `${state.me.name} · ${v(role)}`));
  if (['operator', 'manager'].includes(state.me.role)) {
    const sel = el('select', { id: 'presence', 'aria-label': t('presence'),
      onchange: e => api('PUT', `/agents/${state.me.id}/presence`, { state: e.target.value })
        .catch(err => alert(errorText(err))) },
    ...['online', 'busy', 'away'].map(p => el('option', { value: p }, t(p))));
    sel.value = 'away';
    who.append(sel);
    api('GET', '/agents').then(r => {
      const mine = r.agents.find(a => a.id === state.me.id);
      if (mine)
        sel.value = mine.state;
    }).catch(() => {});
  }
  if (known().length > 1)
    who.append(el('button', { id: 'switch', onclick: switchPrincipal }, t('switch')));
  who.append(el('button', { id: 'signout', onclick: signOut }, t('sign_out')));
  for (const view of menuOf(state.me))
    nav.append(el('a', { href: `#/${view}`, 'data-view': view }, t(`menu_${view}`)));
  nav.append(el('a', { href: '/progress.html', target: '_blank' }, t('menu_progress')));
}

function renderSignIn(message) {
  const input = el('input', { id: 'token', type: 'password', autocomplete: 'off', required: true,
    'aria-label': t('token'), size: 70 });
  const form = el('form', { class: 'card signin', onsubmit: async e => {
    e.preventDefault();
    try {
      await signIn(input.value.trim());
    } catch (err) {
      renderSignIn(err.status === 401 ? t('bad_token') : errorText(err));
    }
  } },
  el('h2', {}, t('sign_in')),
  el('label', { for: 'token' }, t('token_hint')), input,
  message ? notice(message) : null,
  el('button', { type: 'submit', class: 'primary' }, t('sign_in')));
  const others = known();
  show(form, others.length ? el('div', { class: 'card signin', id: 'known' }, el('h3', {}, t('switch_to')),
    ...others.map(k => el('button', { type: 'button', class: 'known', onclick: () =>
      signIn(k.token).catch(err => renderSignIn(errorText(err))) },
    `${k.name} · ${v(k.role === 'unit' ? 'unit_role' : k.role)}`))) : '');
  input.focus();
}

/* Form helpers. */

function field(label, control) {
  const id = control.id || `f-${Math.random().toString(36).slice(2)}`;
  control.id = id;
  return el('div', { class: 'field' }, el('label', { for: id }, label), control);
}

/* A select of 'values', named by 'names' (the API's names by default). */
function select(name, values, chosen, label, names) {
  const s = el('select', { name, 'aria-label': label || t(name) },
    ...values.map(x => el('option', { value: x }, (names || v)(x))));
  if (chosen)
    s.value = chosen;
  return s;
}

function unitName(code) {
  const u = state.units.find(x => x.code === code);
  return u ? u.name : code;
}

/* The units whose categories hold 'category' first, marked as suggested. */
function unitSelect(category, name) {
  const fit = state.units.filter(u => u.categories.includes(category));
  const rest = state.units.filter(u => !u.categories.includes(category));
  const s = el('select', { name: name || 'unit', 'aria-label': t('unit') },
    ...fit.map(u => el('option', { value: u.code }, `${u.name} (${t('suggested')})`)),
    ...rest.map(u => el('option', { value: u.code }, u.name)));
  return s;
}

function localIso(value) {
  /* a datetime-local value, read as Beijing time */
  return value.length === 16 ? `${value}:00+08:00` : value;
}

/* The form of each action: its fields, as [name, control maker]. */
const ACTIONS = {
  answer: [['answer', () => el('textarea', { rows: 3 })]],
  reject: [['reason', () => select('reason', REJECT_REASONS)],
    ['explanation', () => el('textarea', { rows: 2 })]],
  accept: [],
  dispatch: [['unit', tk => unitSelect(tk.category)]],
  transfer: [['to', () => el('input', { pattern: '[1-9][0-9]{5}', placeholder: '440300' })],
    ['reason', () => el('input', {})]],
  return: [['reason', () => el('textarea', { rows: 2 })], ['basis', () => el('input', {})]],
  extension: [['reason', () => el('textarea', { rows: 2 })]],
  completion: [['handled_at', () => el('input', { type: 'datetime-local',
    value: `${beijingToday()}T${when(new Date().toISOString()).slice(11)}` })],
  ['process', () => el('textarea', { rows: 2 })], ['result', () => el('textarea', { rows: 2 })],
  ['basis', () => el('input', {})]],
  'return/review': [['decision', () => select('decision', ['approve', 'refuse'])],
    ['unit', tk => unitSelect(tk.category)], ['note', () => el('input', {})]],
  'extension/review': [['decision', () => select('decision', ['approve', 'refuse'])],
    ['note', () => el('input', {})]],
  'completion/review': [['decision', () => select('decision', ['approve', 'send_back'])],
    ['note', () => el('input', {})]],
  'redo/review': [['decision', () => select('decision', ['approve', 'refuse'])],
    ['note', () => el('input', {})]],
  notes: [['text', () => el('textarea', { rows: 2 })]],
  supervise: [['note', () => el('input', {})]],
  redo: [['reason', () => el('input', {})]],
  link: [['related', () => el('input', { placeholder: '440100-20261205-000001' })]],
  decline: [['reason', () => el('input', {})]],
  rating: [['intake', () => select('intake', LEVELS, 'satisfied', t('rate_intake'))],
    ['handling', () => select('handling', LEVELS, 'satisfied', t('rate_handling'))],
    ['comment', () => el('input', {})]],
};

/* The forms of the other lists' actions, as ACTIONS. */
const FORMS = {
  followup: [['channel', () => select('channel', ['phone', 'web', 'sms'], 'phone', t('followup_channel'))],
    ['outcome', () => el('textarea', { rows: 2, required: true })]],
  assist: [['decision', () => select('decision', ['accept', 'reject'])],
    ['kind', a => select('kind', KINDS, a.kind)], ['category', a => select('category', CATEGORIES, a.category)],
    ['reason', () => select('reason', REJECT_REASONS.filter(r => r !== 'repeat'))],
    ['explanation', () => el('input', {})]],
  correction: [['note', () => el('textarea', { rows: 2, required: true })]],
  withdraw: [['reason', () => el('input', { required: true })]],
  reject: [['reason', () => el('input', { required: true })]],
  version: [['title', e => el('input', { value: e.title || '' })],
    ['text', e => el('textarea', { rows: 3, required: true }, e.text || '')]],
};

/* Optional fields left empty are not sent. */
const OPTIONAL = ['note', 'comment', 'explanation', 'title'];

const FIELD_LABEL = { to: 'to_node', decision: 'decision', intake: 'rate_intake', outcome: 'followup_outcome',
  channel: 'followup_channel',
  handling: 'rate_handling' };

/* The body of a form's controls: optional fields left empty are not sent,
 * a check box is a boolean, a number a number, a time Beijing time. */
function formBody(controls) {
  const body = {};
  for (const [name, c] of controls) {
    if (c.type === 'checkbox')
      body[name] = c.checked;
    else if (c.value === '' && OPTIONAL.includes(name))
      continue;
    else if (c.type === 'number')
      body[name] = Number(c.value);
    else
      body[name] = name === 'handled_at' ? localIso(c.value) : c.value;
  }
  return body;
}

/* A form that sends its fields to the API with 'method' (POST) at 'path':
 * 'spec' lists them as [name, control maker], each maker given 'subject';
 * 'adjust(body)' may change the body before it is sent.  The answer shows in
 * the form, then 'then(answer, said)' runs (and may draw the view again);
 * the page is marked busy until it is done.  data-action names the form. */
function apiForm({ action, method, path, spec, subject, label, adjust, then }) {
  const title = label || v(action);
  const controls = spec.map(([name, make]) => {
    const c = make(subject);
    c.name = name;
    return [name, c];
  });
  const out = el('div', { class: 'out' });
  return el('form', { class: `action action-${action.replace('/', '-')}`,
    'data-action': action, onsubmit: async e => {
      e.preventDefault();
      const body = formBody(controls);
      if (adjust)
        adjust(body);
      main().setAttribute('aria-busy', 'true');
      try {
        const done = await api(method || 'POST', path, body);
        const said = `${title}: ${t('done')}`;
        out.replaceChildren(notice(said, 'ok'));
        if (then)
          await then(done, said);
      } catch (err) {
        out.replaceChildren(notice(errorText(err)));
      } finally {
        main().removeAttribute('aria-busy');
      }
    } },
  el('h4', {}, title),
  ...controls.map(([name, c]) => field(t(FIELD_LABEL[name] || name), c)),
  el('button', { type: 'submit', class: 'primary' }, title), out);
}

/* A form for 'action' on ticket 'tk'; after it is done, 'then(ticket)'. */
function actionForm(tk, action, then) {
  return apiForm({ action, path: `/tickets/${tk.id}/${action}`, spec: ACTIONS[action] || [], subject: tk,
    then, adjust: action === 'return/review' ? body => {
      if (body.decision !== 'approve' || !body.unit)
        delete body.unit;
    } : null });
}

/* Why a unit may not do what it does not see among its actions. */
function unitRules(tk) {
  const missing = ['return', 'extension', 'completion'].filter(a => !tk.allowed_actions.includes(a));
  if (!missing.length || state.me.role !== 'unit')
    return null;
  const rules = tk.pending ? [t('rule_waiting')] : missing.map(a => t(`rule_${a}`));
  return el('div', { class: 'rules' }, el('h4', {}, t('not_allowed')),
    el('ul', {}, ...missing.map(a => el('li', {}, v(a))), ...rules.map(r => el('li', { class: 'why' }, r))));
}

function badges(tk) {
  return el('span', { class: 'badges' },
    tk.overdue ? el('span', { class: 'badge overdue' }, t('overdue')) : null,
    tk.due_soon && !tk.overdue ? el('span', { class: 'badge due-soon' }, t('due_soon')) : null,
    tk.provisional ? el('span', { class: 'badge provisional' }, t('provisional')) : null,
    tk.supervised ? el('span', { class: 'badge supervised' }, t('supervised')) : null);
}

function rowClass(tk) {
  return tk.overdue ? 'overdue' : tk.due_soon ? 'due-soon' : tk.provisional ? 'provisional' : '';
}

function ticketLink(id) {
  return el('a', { href: `#/ticket/${id}`, class: 'ticket-link' }, id);
}

/* Operator desk. */

function emergencyBanner(rule) {
  if (!rule)
    return null;
  const line = rule.line && rule.line !== 'none';
  return el('div', { class: 'banner emergency', role: 'alert', id: 'emergency' },
    el('strong', {}, `${t('emergency')}: ${rule.name || ''}`), ' ',
    line ? el('span', { class: 'line' }, `${t('emergency_hand')} ${rule.line}`) : t('emergency_none'),
    ` · ${rule.period_hours} ${t('hours')}`);
}

/* The active emergency rule whose keyword the text holds, or null. */
function emergencyMatch(text) {
  return state.rules.find(r => r.keywords.some(k => text.includes(k))) || null;
}

function renderDesk() {
  const kind = select('kind', KINDS);
  const category = select('category', CATEGORIES);
  const channel = select('channel', CHANNELS, 'phone');
  const ctype = select('type', ['person', 'legal_person', 'organization'], 'person', t('citizen_type'));
  const name = el('input', { name: 'name', required: true, autocomplete: 'off' });
  const phone = el('input', { name: 'phone', required: true, inputmode: 'tel', autocomplete: 'off' });
  const division = el('input', { name: 'division', required: true, pattern: '[1-9][0-9]{5}',
    value: state.me.node.kind === 'city' ? state.me.node.code.slice(0, 4) + '06' : '' });
  const address = el('input', { name: 'address', required: true });
  const content = el('textarea', { name: 'content', rows: 5, required: true, maxlength: 4000 });
  const banner = el('div', { id: 'banner-slot' });
  const kb = el('div', { id: 'kb-list' }, t('no_matches'));
  const repeats = el('div', { id: 'repeat-list' }, t('no_matches'));
  const result = el('div', { id: 'intake-result' });
  let timer = null;

  async function suggest() {
    banner.replaceChildren(emergencyBanner(emergencyMatch(content.value)) || '');
    const q = content.value.trim();
    if (q.length < 2) {
      kb.replaceChildren(t('no_matches'));
      repeats.replaceChildren(t('no_matches'));
      return;
    }
    if (/^[1-9][0-9]{5}$/.test(division.value.trim())) {
      api('POST', '/repeats', { content: q, division: division.value.trim(),
        ...(phone.value.trim() ? { phone: phone.value.trim().slice(0, 16) } : {}) })
        .then(r => repeats.replaceChildren(repeatList(r.repeat_candidates)))
        .catch(err => repeats.replaceChildren(notice(errorText(err))));
    }
    try {
      const found = await api('GET', `/kb?q=${encodeURIComponent(q.slice(0, 200))}`);
      kb.replaceChildren(found.entries.length ? el('ul', {}, ...found.entries.slice(0, 5).map(e =>
        el('li', {}, el('strong', {}, e.title || e.id), el('p', {}, (e.text || e.body || '').slice(0, 160)))))
        : t('no_matches'));
    } catch (err) {
      kb.replaceChildren(notice(errorText(err)));
    }
  }
  for (const input of [content, phone, division]) {
    input.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(suggest, 250);
    });
  }

  const form = el('form', { id: 'intake', class: 'card', onsubmit: async e => {
    e.preventDefault();
    const body = { kind: kind.value, channel: channel.value, category: category.value,
      content: content.value.trim(),
      citizen: { type: ctype.value, name: name.value.trim(), phone: phone.value.trim() },
      location: { division: division.value.trim(), address: address.value.trim() } };
    try {
      const tk = await api('POST', '/tickets', body);
      showIntake(tk, result);
      form.reset();
      kind.focus();
    } catch (err) {
      result.replaceChildren(notice(errorText(err)));
    }
  }, onkeydown: e => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey))
      form.requestSubmit();
  } },
  el('h2', {}, t('menu_desk')),
  el('div', { class: 'grid' }, field(t('kind'), kind), field(t('category'), category),
    field(t('channel'), channel), field(t('citizen_type'), ctype)),
  el('div', { class: 'grid' }, field(t('name'), name), field(t('phone'), phone),
    field(t('division'), division), field(t('address'), address)),
  field(t('content'), content),
  el('button', { type: 'submit', class: 'primary', id: 'register' }, t('register')));
  show(el('div', { class: 'desk' },
    el('div', { class: 'desk-main' }, banner, form, result),
    el('aside', { class: 'card side' }, el('h3', {}, t('repeats')), repeats,
      el('h3', {}, t('kb_matches')), kb)));
  kind.focus();
}

function repeatList(list) {
  if (!list.length)
    return t('no_matches');
  return el('ul', {}, ...list.map(r => el('li', {}, ticketLink(r.id), ` ${t('score')} ${Math.round(r.score * 100)}%`,
    r.same_caller ? ` · ${t('same_caller')}` : '', r.same_place ? ` · ${t('same_place')}` : '')));
}

/* What intake answered: the id, any emergency, repeats, and the operator's
 * one-click actions. */
function showIntake(tk, into) {
  const acts = ['answer', 'reject', 'dispatch', 'transfer'].filter(a => tk.allowed_actions.includes(a));
  const after = el('div', { class: 'after' });
  into.replaceChildren(el('div', { class: 'card intake-done' },
    el('h3', {}, `${t('registered_as')} `, ticketLink(tk.id), ' ', el('span', { class: 'status' }, v(tk.status))),
    emergencyBanner(tk.emergency && { ...tk.emergency,
      name: (state.rules.find(r => r.id === tk.emergency.rule) || {}).name }),
    el('div', { class: 'repeats' }, el('h4', {}, t('repeats')), repeatList(tk.repeat_candidates)),
    el('div', { class: 'quick-actions' }, ...acts.map(a => actionForm(tk, a, done => {
      after.replaceChildren(notice(`${done.id}: ${v(done.status)}${done.unit_name ? ' → ' + done.unit_name : ''}`, 'ok'));
    }))), after));
}

/* Triage queue: online submissions waiting, oldest first: the registered
 * orders a page at a time (the API has no filter by channel, so a page
 * shows the online ones of its registered orders). */
async function renderTriage() {
  const seq = state.seq;
  const p = hashParams();
  showIf(seq, el('p', {}, t('loading')));
  const data = await api('GET', `/tickets?status=registered&${pick(p, ['page', 'page_size'])}`);
  const now = Date.now();
  const items = data.tickets.filter(x => x.channel !== 'phone');
  showIf(seq, el('div', { class: 'card' }, el('h2', {}, t('menu_triage')), pager('triage', p, data),
    items.length ? table([t('id'), t('channel'), t('kind'), t('category'), t('content'), t('waiting')],
      items.map(x => [ticketLink(x.id), v(x.channel), v(x.kind), v(x.category), x.content.slice(0, 40),
        duration((now - new Date(x.created_at)) / 1000)]), 'triage') : el('p', {}, t('empty'))));
}

function table(head, rows, id, classes) {
  return el('table', { id, class: 'list' }, el('thead', {}, el('tr', {}, ...head.map(h => el('th', {}, h)))),
    el('tbody', {}, ...rows.map((r, i) => el('tr', { class: classes ? classes[i] : null },
      ...r.map(c => el('td', {}, c))))));
}

/* Lists: their filters and page are the address's query
 * (#/tickets?status=handling&page=2), so that the back button and a
 * bookmark find the same list, and each is asked of the API as it is. */

function hashParams() {
  const i = location.hash.indexOf('?');
  return new URLSearchParams(i < 0 ? '' : location.hash.slice(i + 1));
}

/* The parameters of 'p' named in 'names', for the API's query. */
function pick(p, names) {
  const q = new URLSearchParams();
  for (const name of names)
    if (p.get(name))
      q.set(name, p.get(name));
  return q;
}

/* A select of 'values' with "all" first, the empty value. */
function choice(name, values, label, names) {
  return el('select', { name, 'aria-label': label || t(name) }, el('option', { value: '' }, t('all')),
    ...values.map(x => el('option', { value: x }, names ? names(x) : v(x))));
}

const PAGE_SIZES = ['20', '50', '100', '200'];

function pageSize() {
  return select('page_size', PAGE_SIZES, '50', t('page_size'));
}

/* The filter form of list 'view': its controls ([name, control]) show the
 * address's values; sending it asks for the first page of the new list. */
function filterForm(view, p, title, controls) {
  for (const [name, c] of controls)
    if (p.has(name))
      c.value = p.get(name);
  return el('form', { class: 'card inline filters', role: 'search', 'data-list': view, onsubmit: e => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const [name, c] of controls)
      if (c.value !== '')
        q.set(name, c.value);
    go(`#/${view}?${q}`);
  } }, el('h2', {}, title), ...controls.map(([name, c]) => field(c.getAttribute('aria-label') || t(name), c)),
  el('button', { type: 'submit', class: 'primary' }, t('filter')));
}

/* "Page 2 of 5 · 230 in all" and links to the first, previous, next and
 * last pages of list 'view', as the API's answer 'data' counts them. */
function pager(view, p, data) {
  const pages = Math.max(1, Math.ceil(data.total / data.page_size));
  const link = (page, cls, text) => {
    const q = new URLSearchParams(p);
    q.set('page', page);
    return el('a', { href: `#/${view}?${q}`, class: cls, 'aria-label': t(`${cls}_page`) }, text);
  };
  return el('nav', { class: 'pager', 'aria-label': t('pages') },
    data.page > 1 ? [link(1, 'first', '«'), link(data.page - 1, 'prev', `‹ ${t('prev_page')}`)] : null,
    el('span', { class: 'page-info' }, t('page_of', data.page, pages, data.total)),
    data.page < pages ? [link(data.page + 1, 'next', `${t('next_page')} ›`), link(pages, 'last', '»')] : null);
}

/* The day after a Beijing date "2026-12-05". */
function nextDay(day) {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
}

/* The query of GET /tickets for the list's parameters: whole Beijing days
 * from 'from' to 'to', both included. */
function ticketQuery(p, names) {
  const q = pick(p, names);
  if (p.get('from'))
    q.set('from', `${p.get('from')}T00:00:00+08:00`);
  if (p.get('to'))
    q.set('to', `${nextDay(p.get('to'))}T00:00:00+08:00`);
  return q;
}

const STATUSES = ['registered', 'accepted', 'answered', 'rejected', 'handling', 'return_requested',
  'extension_requested', 'completion_requested', 'completed', 'redo_requested', 'closed',
  'transfer_pending', 'transferred'];
const UNIT_OPEN = ['handling', 'return_requested', 'extension_requested', 'completion_requested',
  'redo_requested'];

function overdueChoice() {
  return choice('overdue', ['true', 'false'], t('overdue_filter'), x => t(`overdue_${x}`));
}

function dateInput(name) {
  return el('input', { type: 'date', name, 'aria-label': t(name === 'from' ? 'created_from' : 'created_to') });
}

/* Ticket lists: the node's orders a page at a time, in the API's order
 * (oldest first), filtered by the API. */
async function renderTickets() {
  const seq = state.seq;
  const p = hashParams();
  showIf(seq, el('p', {}, t('loading')));
  const data = await api('GET', `/tickets?${ticketQuery(p, ['status', 'kind', 'unit', 'overdue', 'page', 'page_size'])}`);
  const filters = filterForm('tickets', p, t('menu_tickets'), [['status', choice('status', STATUSES)],
    ['kind', choice('kind', KINDS)],
    ['unit', choice('unit', state.units.map(u => u.code), t('unit'), unitName)],
    ['overdue', overdueChoice()], ['from', dateInput('from')], ['to', dateInput('to')],
    ['page_size', pageSize()]]);
  const items = data.tickets;
  showIf(seq, filters, el('div', { class: 'card' }, pager('tickets', p, data),
    items.length ? table([t('id'), t('status'), t('kind'), t('unit'), t('deadline'), t('created_at')],
      items.map(x => [ticketLink(x.id), v(x.status), v(x.kind), x.unit_name || '—',
        el('span', {}, when(x.deadline), ' ', badges(x)), when(x.created_at)]), 'tickets',
      items.map(rowClass)) : el('p', {}, t('empty'))));
}

/* Unit inbox: the unit's orders of a state (handling unless asked), a page
 * at a time; the API lists them in creation order, so each page is shown by
 * deadline. */
async function renderInbox() {
  const seq = state.seq;
  const p = hashParams();
  if (!p.has('status'))
    p.set('status', 'handling');
  showIf(seq, el('p', {}, t('loading')));
  const data = await api('GET', `/tickets?${pick(p, ['status', 'overdue', 'page', 'page_size'])}`);
  const open = data.tickets.slice().sort((a, b) => (a.deadline || '9').localeCompare(b.deadline || '9'));
  const filters = filterForm('inbox', p, `${t('menu_inbox')} · ${unitName(state.me.unit)}`,
    [['status', select('status', [...UNIT_OPEN, 'completed', 'closed'])], ['overdue', overdueChoice()],
      ['page_size', pageSize()]]);
  showIf(seq, filters, el('div', { class: 'card' }, pager('inbox', p, data),
    open.length ? table([t('id'), t('status'), t('deadline'), t('category'), t('content'), t('actions')],
      open.map(x => [ticketLink(x.id), v(x.status), el('span', {}, when(x.deadline), ' ', badges(x)),
        v(x.category), x.content.slice(0, 40),
        x.allowed_actions.filter(a => a !== 'notes').map(v).join(' · ') || '—']), 'inbox',
      open.map(rowClass)) : el('p', {}, t('empty'))));
}

/* Manager reviews: applications waiting, follow-ups after bad ratings. */
async function renderReviews(said) {
  const seq = state.seq;
  showIf(seq, el('p', {}, t('loading')));
  const waiting = ['extension_requested', 'completion_requested', 'return_requested', 'redo_requested'];
  const lists = await Promise.all(waiting.map(s => api('GET', `/tickets?status=${s}&page_size=200`)));
  const items = lists.flatMap(l => l.tickets);
  const follow = await api('GET', '/followups?state=open').catch(() => ({ followups: [] }));
  const today = beijingToday();
  const sup = await api('GET', `/supervision?from=${today.slice(0, 8)}01&to=${today}`).catch(() => null);
  const box = el('div', { class: 'card' }, el('h2', {}, t('reviews_pending')));
  if (!items.length)
    box.append(el('p', {}, t('empty')));
  for (const tk of items) {
    const review = `${tk.status.replace('_requested', '')}/review`;
    box.append(el('div', { class: 'review', 'data-ticket': tk.id },
      el('h3', {}, ticketLink(tk.id), ' ', v(tk.status), ' · ', tk.unit_name || '', ' ', badges(tk)),
      pendingView(tk.pending), actionForm(tk, review, (done, text) => renderReviews(text))));
  }
  const fl = follow.followups || [];
  const flags = sup ? [...sup.supervised.map(x => [x.ticket, t('supervised'), x.unit, x.reason || x.note || '']),
    ...sup.improper_returns.map(x => [x.ticket, t('improper_return'), x.unit, x.reason || '']),
    ...sup.repeated_extensions.map(x => [x.ticket, t('repeated_extension'), x.unit, x.reason || ''])] : [];
  showIf(seq, flash(said), box, el('div', { class: 'card' }, el('h2', {}, `${t('supervision')} (${today.slice(0, 7)})`),
    flags.length ? table([t('id'), t('status'), t('unit'), t('reason')], flags.map(([id, what, unit, why]) =>
      [id ? ticketLink(id) : '—', what, unitName(unit), why]), 'supervision') : el('p', {}, t('none'))),
  el('div', { class: 'card' }, el('h2', {}, t('followups')),
    fl.length ? table([t('id'), t('status'), t('rate_handling'), t('created_at')],
      fl.map(f => [ticketLink(f.ticket), v(f.state), v(f.handling), when(f.created_at)]), 'followups')
      : el('p', {}, t('empty'))));
}

/* A view drawn again with 'said' shown above it. */
function again(view) {
  return (done, said) => view(said);
}

/* Follow-ups (回访) after bad ratings: the operator who called the citizen
 * back records how and what came of it; managers read them. */
async function renderFollowups(said) {
  const seq = state.seq;
  const p = hashParams();
  const st = p.get('state') || 'open';
  const data = await api('GET', `/followups?state=${st}`);
  const filters = filterForm('followups', p, t('followups'), [['state', select('state', ['open', 'done'], st,
    t('followup_state'), x => t(`followup_${x}`))]]);
  const list = data.followups;
  const rated = f => `${t('rate_intake')} ${v(f.intake)} · ${t('rate_handling')} ${v(f.handling)}`;
  let body;
  if (!list.length)
    body = el('p', {}, t('none'));
  else if (st === 'open')
    body = list.map(f => el('div', { class: 'review followup', 'data-ticket': f.ticket },
      el('h3', {}, ticketLink(f.ticket), ` · ${unitName(f.unit)} · ${t('round')} ${f.round}`),
      el('p', {}, `${rated(f)} · ${when(f.created_at)}`),
      state.me.role === 'operator' ? apiForm({ action: 'followup', path: `/followups/${f.id}`,
        spec: FORMS.followup, label: t('record_outcome'), then: again(renderFollowups) }) : null));
  else
    body = table([t('id'), t('unit'), t('rating'), t('followup_channel'), t('outcome'), t('events_actor'),
      t('done_at')], list.map(f => [ticketLink(f.ticket), unitName(f.unit), rated(f), v(f.channel), f.outcome,
      f.done_by, when(f.done_at)]), 'followups-done');
  showIf(seq, flash(said), filters, el('div', { class: 'card', id: 'followups' }, body));
}

/* Other centres' overflowing appeals given to this one to triage (Art 3):
 * open ones with the triage form, the others as they ended. */
async function renderAssists(said) {
  const seq = state.seq;
  const p = hashParams();
  const st = p.get('state') || 'open';
  const data = await api('GET', `/assists?state=${st}`);
  const filters = filterForm('assists', p, t('menu_assists'), [['state', select('state',
    ['open', 'triaged', 'withdrawn'], st, t('assist_state'), x => t(`assist_${x}`))]]);
  const list = data.assists;
  const now = Date.now();
  let body;
  if (!list.length)
    body = el('p', {}, t('none'));
  else if (st === 'open')
    body = list.map(a => el('div', { class: 'review assist', 'data-ticket': a.ticket },
      el('h3', {}, `${a.ticket} · ${a.owner_name} (${a.owner})`),
      el('dl', { class: 'facts' }, ...[['kind', v(a.kind)], ['category', v(a.category)], ['channel', v(a.channel)],
        ['division', a.division], ['address', a.address], ['content', a.content],
        ['waiting', duration((now - new Date(a.created_at)) / 1000)]]
        .flatMap(([k, val]) => [el('dt', {}, t(k)), el('dd', {}, val ?? '—')])),
      state.me.role === 'operator' ? apiForm({ action: 'assist', path: `/assists/${encodeURIComponent(a.ticket)}/triage`,
        spec: FORMS.assist, subject: a, label: t('triage'), adjust: assistBody, then: again(renderAssists) }) : null));
  else
    body = table([t('id'), t('from_node'), t('kind'), t('category'), t('decision'), t('events_actor'), t('closed_at')],
      list.map(a => [a.ticket, a.owner_name, v(a.kind), v(a.category),
        a.triage ? `${v(a.triage.decision)} ${a.triage.reason ? v(a.triage.reason) : ''}` : t('assist_withdrawn'),
        a.triaged_by || '—', when(a.closed_at)]), 'assists-closed');
  showIf(seq, flash(said), filters, el('div', { class: 'card', id: 'assists' }, body));
}

/* A triage accepts with kind and category, or rejects with a reason and
 * the explanation the citizen is told; the other fields are not sent. */
function assistBody(body) {
  for (const name of body.decision === 'accept' ? ['reason', 'explanation'] : ['kind', 'category'])
    delete body[name];
}

function pendingView(p) {
  if (!p)
    return null;
  return el('dl', { class: 'pending' }, el('dt', {}, t('pending')), el('dd', {}, v(p.request)),
    ...Object.entries(p.body || {}).flatMap(([k, val]) => [el('dt', {}, t(k)),
      el('dd', {}, k === 'handled_at' ? when(val) : String(val))]));
}

/* What the caller may do next (Art 12, Art 15), as the ticket's state says. */
function citizenNext(tk) {
  const next = [];
  if (tk.status === 'completed' && !tk.rated && tk.rating_due)
    next.push(`${t('next_rate')} ${when(tk.rating_due)}`);
  if (tk.status === 'completed' && tk.redos === 0)
    next.push(t('next_redo'));
  if (!['closed', 'rejected', 'answered'].includes(tk.status))
    next.push(t('next_progress'));
  return next.length ? el('div', { class: 'next' }, el('h4', {}, t('citizen_next')),
    el('ul', {}, ...next.map(x => el('li', {}, x)))) : null;
}

/* Ticket page: every field the caller may see, its actions, its timeline. */
function flash(text) {
  if (!text)
    return null;
  const n = notice(text, 'ok');
  n.id = 'flash';
  return n;
}

async function renderTicket(id, said) {
  const seq = state.seq;
  showIf(seq, el('p', {}, t('loading')));
  const [tk, ev] = await Promise.all([api('GET', `/tickets/${id}`), api('GET', `/tickets/${id}/events`)]);
  const transfers = ['operator', 'manager', 'auditor'].includes(state.me.role)
    ? (await api('GET', `/tickets/${id}/transfers`).catch(() => ({ transfers: [] }))).transfers : [];
  const c = tk.citizen || {}, loc = tk.location || {};
  const facts = [
    ['id', tk.id], ['status', v(tk.status)], ['kind', v(tk.kind)], ['category', v(tk.category)],
    ['channel', v(tk.channel)], ['unit', tk.unit_name || '—'],
    ['deadline', el('span', {}, when(tk.deadline), ' ', badges(tk))], ['created_at', when(tk.created_at)],
    ['name', c.name], ['phone', c.phone], ['id_number', c.id_number || '—'],
    ['division', loc.division], ['address', loc.address], ['content', tk.content]];
  const acts = tk.allowed_actions.filter(a => ACTIONS[a] !== undefined);
  showIf(seq, flash(said), el('div', { class: 'ticket' },
    el('div', { class: 'card' }, el('h2', {}, `${t('fields')} ${tk.id} `,
      el('a', { href: `/progress.html?id=${encodeURIComponent(tk.id)}`, target: '_blank', class: 'small' },
        t('menu_progress'))),
      emergencyBanner(tk.emergency && { ...tk.emergency }),
      el('dl', { class: 'facts' }, ...facts.flatMap(([k, val]) => [el('dt', {}, t(k)),
        el('dd', { 'data-field': k }, val ?? '—')])),
      pendingView(tk.pending), citizenNext(tk),
      tk.outcome ? el('div', { class: 'outcome' }, el('h4', {}, t('outcome')),
        el('pre', {}, JSON.stringify(tk.outcome.body || tk.outcome, null, 1))) : null),
    el('div', { class: 'card' }, el('h3', {}, t('allowed')),
      acts.length ? el('div', { class: 'quick-actions' }, ...acts.map(a => actionForm(tk, a,
        (done, text) => renderTicket(id, text)))) : el('p', {}, t('none')), unitRules(tk)),
    el('div', { class: 'card' }, el('h3', {}, t('timeline')),
      el('ol', { class: 'timeline', id: 'timeline' }, ...ev.events.map(e => el('li', {},
        el('time', {}, when(e.at)), ' ', el('strong', {}, v(e.action)), ` · ${e.actor} (${v(e.role === 'unit' ? 'unit_role' : e.role)})`,
        e.to ? ` → ${v(e.to)}` : '', e.reason ? ` · ${e.reason}` : '',
        e.detail && e.detail.signature ? el('code', { class: 'sig' }, ` ✔ ${e.detail.signature.slice(0, 16)}…`) : '')))),
    transfers.length ? el('div', { class: 'card', id: 'transfers' }, el('h3', {}, t('transfers')),
      ...transfers.map(transferView)) : null));
}

/* A transfer between nodes and its signed messages. */
function transferView(x) {
  return el('div', { class: 'transfer' },
    el('p', {}, el('strong', {}, `${x.from} → ${x.to}`), ` · ${v(x.status)} · ${x.reason}`),
    el('ul', { class: 'messages' }, ...(x.messages || []).map(m => el('li', {}, `${v(m.kind)} · ${t('signed_by')} ${m.signer} `,
      el('code', { class: 'sig', title: m.signature }, `${m.signature.slice(0, 24)}…`)))));
}

/* Statistics: charts of the period, and the month's assessment. */
async function renderStats() {
  const seq = state.seq;
  const today = beijingToday();
  const from = el('input', { type: 'date', value: `${today.slice(0, 8)}01`, name: 'from' });
  const to = el('input', { type: 'date', value: today, name: 'to' });
  const charts = el('div', { class: 'charts' });
  const assess = el('div', { id: 'assessment' });
  const form = el('form', { class: 'card inline', onsubmit: e => {
    e.preventDefault();
    drawStats(from.value, to.value, charts, assess);
  } }, el('h2', {}, t('menu_stats')), field(t('from'), from), field(t('to'), to),
  el('button', { type: 'submit', class: 'primary' }, t('show')));
  showIf(seq, form, charts, assess);
  await drawStats(from.value, to.value, charts, assess);
}

/* Apache ECharts, loaded the first time a view draws a chart: the desk and
 * the inbox do not wait for it. */
let chartsLoaded = null;
function loadCharts() {
  if (!chartsLoaded)
    chartsLoaded = new Promise((resolve, reject) => {
      const s = el('script', { src: document.querySelector('meta[name=charts]').content });
      s.onload = resolve;
      s.onerror = () => {
        chartsLoaded = null;
        reject(new Error('echarts.min.js'));
      };
      document.head.append(s);
    });
  return chartsLoaded;
}

function chartBox(id, title) {
  return el('div', { class: 'card chart-card' }, el('h3', {}, title),
    el('div', { class: 'chart', id, role: 'img', 'aria-label': title }));
}

function chart(id, option) {
  const node = document.getElementById(id);
  const old = echarts.getInstanceByDom(node);
  if (old)
    old.dispose();
  const c = echarts.init(node, null, { renderer: 'canvas' });
  c.setOption({ animation: false, tooltip: { trigger: 'axis' }, grid: { left: 48, right: 16, top: 24, bottom: 48 },
    color: ['#1c5fa8', '#2e9d5b', '#e39b22', '#b3261e', '#6a1b9a', '#5f7d8c'], ...option });
  for (const s of option.series)
    if (s.type === 'bar')
      s.barMaxWidth = 48;
  c.setOption({ series: option.series });
  return c;
}

async function drawStats(from, to, charts, assess) {
  const q = `from=${from}&to=${to}`;
  const [days, kinds, units] = await Promise.all(['day', 'kind', 'unit'].map(g =>
    api('GET', `/stats?${q}&group_by=${g}`)));
  await loadCharts();
  if (!charts.isConnected)
    return;
  charts.replaceChildren(chartBox('chart-daily', t('chart_daily')), chartBox('chart-kind', t('chart_kind')),
    chartBox('chart-units', t('chart_ontime')), chartBox('chart-rejected', t('chart_rejected')),
    chartBox('chart-overdue', t('chart_overdue')));
  const d = days.rows;
  chart('chart-daily', { xAxis: { type: 'category', data: d.map(r => r.day) }, yAxis: { type: 'value', minInterval: 1 },
    series: [{ name: t('received'), type: 'bar', data: d.map(r => r.received) }] });
  const k = kinds.rows.filter(r => r.kind);
  chart('chart-kind', { tooltip: { trigger: 'item' }, legend: { bottom: 0 },
    series: [{ name: t('received'), type: 'pie', radius: ['35%', '65%'],
      data: k.map(r => ({ name: v(r.kind), value: r.received, kind: r.kind })) }] });
  const u = units.rows.filter(r => r.unit);
  const pct = x => (x === null ? null : Math.round(x * 1000) / 10);
  chart('chart-units', { legend: { bottom: 0 }, xAxis: { type: 'category', data: u.map(r => r.unit_name) },
    yAxis: { type: 'value', max: 100, axisLabel: { formatter: '{value}%' } },
    series: [{ name: t('on_time_rate'), type: 'bar', data: u.map(r => pct(r.on_time_rate)) },
      { name: t('satisfaction_rate'), type: 'bar', data: u.map(r => pct(r.satisfaction_rate.handling)) }] });
  const rej = units.total.rejected;
  chart('chart-rejected', { xAxis: { type: 'value', minInterval: 1 },
    yAxis: { type: 'category', data: REJECT_REASONS.map(v) }, grid: { left: 150, right: 16, top: 16, bottom: 32 },
    series: [{ type: 'bar', name: v('rejected'), data: REJECT_REASONS.map(r => rej[r]) }] });
  chart('chart-overdue', { xAxis: { type: 'category', data: d.map(r => r.day) }, yAxis: { type: 'value', minInterval: 1 },
    series: [{ name: t('overdue_open'), type: 'line', data: d.map(r => r.overdue.open) }] });

  const month = to.slice(0, 7);
  const a = await api('GET', `/assessment?month=${month}`);
  if (!assess.isConnected)
    return;
  const csv = el('button', { id: 'csv', onclick: async () => {
    const text = await api('GET', `/assessment?month=${month}`, undefined, 'text/csv');
    const link = el('a', { href: URL.createObjectURL(new Blob([text], { type: 'text/csv' })),
      download: `assessment-${month}.csv` });
    document.body.append(link);
    link.click();
    link.remove();
  } }, t('download_csv'));
  const rate = x => (x === null ? '—' : `${(x * 100).toFixed(1)}%`);
  assess.replaceChildren(el('div', { class: 'card' }, el('h2', {}, `${t('assessment')} ${month} `), csv,
    table([t('unit'), t('dispatched'), t('completed'), t('on_time_rate'), t('satisfaction_rate'),
      t('returns_rate'), t('redo_rate'), t('score_col')], a.units.map(x => [x.unit_name, x.dispatched,
      x.completed, rate(x.on_time_rate), rate(x.satisfaction_rate), rate(x.returns_rate), rate(x.redo_rate),
      x.score === null ? '—' : x.score.toFixed(2)]), 'assessment-table')));
}

/* Administration: units and principals. */
async function renderAdmin() {
  const seq = state.seq;
  const [units, principals] = await Promise.all([api('GET', '/units'), api('GET', '/principals')]);
  const out = el('div', { id: 'admin-out' });
  const ucode = el('input', { name: 'code', required: true, pattern: '[A-Za-z0-9_\\-]+' });
  const uname = el('input', { name: 'name', required: true });
  const ucats = el('select', { name: 'categories', multiple: true, size: 5, 'aria-label': t('categories') },
    ...CATEGORIES.map(c => el('option', { value: c }, v(c))));
  const unitForm = el('form', { id: 'unit-form', class: 'card', onsubmit: async e => {
    e.preventDefault();
    try {
      await api('POST', '/units', { code: ucode.value, name: uname.value,
        categories: [...ucats.selectedOptions].map(o => o.value) });
      state.units = (await api('GET', '/units')).units;
      renderAdmin();
    } catch (err) {
      out.replaceChildren(notice(errorText(err)));
    }
  } }, el('h2', {}, `${t('create')} · ${t('units')}`), el('div', { class: 'grid' }, field(t('code'), ucode),
    field(t('name'), uname), field(t('categories'), ucats)), el('button', { class: 'primary' }, t('create')));
  const pname = el('input', { name: 'name', required: true });
  const prole = select('role', ['operator', 'manager', 'unit', 'auditor', 'service', 'admin']);
  [...prole.options].forEach(o => { if (o.value === 'unit') o.textContent = v('unit_role'); });
  const punit = el('select', { name: 'unit', 'aria-label': t('unit') }, el('option', { value: '' }, '—'),
    ...units.units.map(u => el('option', { value: u.code }, u.name)));
  const principalForm = el('form', { id: 'principal-form', class: 'card', onsubmit: async e => {
    e.preventDefault();
    const body = { name: pname.value, role: prole.value };
    if (prole.value === 'unit')
      body.unit = punit.value;
    try {
      const p = await api('POST', '/principals', body);
      remember(p.name, p.role, p.token);
      out.replaceChildren(el('div', { class: 'card token-once' }, el('h3', {}, `${t('token_once')}: ${p.name}`),
        el('code', { class: 'token', id: 'new-token' }, p.token), ' ',
        el('button', { onclick: () => signIn(p.token) }, t('sign_in_as'))));
    } catch (err) {
      out.replaceChildren(notice(errorText(err)));
    }
  } }, el('h2', {}, `${t('create')} · ${t('principals')}`), el('div', { class: 'grid' }, field(t('name'), pname),
    field(t('role'), prole), field(t('unit'), punit)), el('button', { class: 'primary' }, t('create')));
  showIf(seq, el('div', { class: 'admin' }, unitForm, principalForm, out,
    el('div', { class: 'card' }, el('h2', {}, t('units')), table([t('code'), t('name'), t('categories')],
      units.units.map(u => [u.code, u.name, u.categories.map(v).join('、')]), 'units')),
    el('div', { class: 'card' }, el('h2', {}, t('principals')), table([t('name'), t('role'), t('unit'), t('created_at'), ''],
      principals.principals.filter(p => !p.revoked).map(p => [p.name, v(p.role === 'unit' ? 'unit_role' : p.role),
        p.unit ? unitName(p.unit) : '—', when(p.created_at), el('button', { onclick: async () => {
          await api('DELETE', `/principals/${p.id}`).catch(err => alert(errorText(err)));
          renderAdmin();
        } }, t('revoke'))]), 'principals'))));
}

/* The emergency list (Art 14): managers add and withdraw rules. */
async function renderRules() {
  const seq = state.seq;
  const data = await api('GET', '/emergency-rules');
  const out = el('div', { id: 'rules-out' });
  const name = el('input', { name: 'name', required: true });
  const keywords = el('input', { name: 'keywords', required: true, placeholder: '燃气泄漏，煤气味' });
  const line = select('line', ['119', '110', '120', '122', 'none'], '119');
  const hours = el('input', { name: 'period_hours', type: 'number', min: 1, max: 168, value: 4 });
  const form = el('form', { class: 'card', id: 'rule-form', onsubmit: async e => {
    e.preventDefault();
    try {
      await api('POST', '/emergency-rules', { name: name.value.trim(), line: line.value,
        keywords: keywords.value.split(/[,，、\s]+/).filter(Boolean), period_hours: Number(hours.value) });
      state.rules = (await api('GET', '/emergency-rules')).rules.filter(r => r.active);
      renderRules();
    } catch (err) {
      out.replaceChildren(notice(errorText(err)));
    }
  } }, el('h2', {}, `${t('create')} · ${t('menu_rules')}`), el('div', { class: 'grid' }, field(t('name'), name),
    field(t('keywords'), keywords), field(t('line'), line), field(t('period_hours'), hours)),
  el('button', { class: 'primary' }, t('create')), out);
  showIf(seq, form, el('div', { class: 'card' }, el('h2', {}, t('menu_rules')),
    table([t('name'), t('keywords'), t('line'), t('period_hours'), t('created_at'), ''],
      data.rules.filter(r => r.active).map(r => [r.name, r.keywords.join('、'), r.line, r.period_hours,
        when(r.created_at), el('button', { onclick: async () => {
          await api('DELETE', `/emergency-rules/${r.id}`).catch(err => alert(errorText(err)));
          state.rules = (await api('GET', '/emergency-rules')).rules.filter(x => x.active);
          renderRules();
        } }, t('withdraw'))]), 'rules')));
}

const KB_TYPES = ['answer_script', 'service_item', 'duty', 'power_list', 'contact', 'office_hours', 'policy'];

/* The knowledge base (Art 18): the published entries, searched by words
 * and type (the API gives at most the first 100 and how many matched, so
 * the count says when to narrow the search); units and managers submit,
 * managers publish or reject, file corrections (the unit has 2 working days
 * to publish a fixed version) and withdraw an entry.  The province's
 * entries are read-only copies at a city. */
async function renderKb(said) {
  const seq = state.seq;
  const p = hashParams();
  const staff = state.me.role !== 'operator';
  const query = pick(p, ['q', 'type']);
  query.set('limit', '100');
  const [found, pending, corrections] = await Promise.all([api('GET', `/kb?${query}`),
    staff ? api('GET', '/kb?state=pending&limit=100') : null, staff ? openCorrections() : null]);
  const search = filterForm('kb', p, t('menu_kb'), [['q', el('input', { name: 'q', 'aria-label': t('search') })],
    ['type', choice('type', KB_TYPES, t('kb_type'))]]);
  const parts = [flash(said), search, el('div', { class: 'card' },
    el('p', { class: 'muted', id: 'kb-count' }, t('kb_shown', found.entries.length, found.total)),
    found.entries.length ? el('ul', { class: 'kb', id: 'kb-entries' },
      ...found.entries.map(e => kbItem(e, kbActions(e)))) : el('p', {}, t('no_matches')))];
  if (corrections && corrections.length)
    parts.push(await correctionsCard(corrections));
  if (pending && pending.entries.length)
    parts.push(el('div', { class: 'card' }, el('h2', {}, t('kb_pending')), el('ul', { class: 'kb', id: 'kb-pending' },
      ...pending.entries.map(e => kbItem(e, state.me.role === 'manager' ? [reviewButtons(e)] : [])))));
  if (staff)
    parts.push(kbForm());
  showIf(seq, ...parts);
}

/* The corrections not yet answered: open, and open past their deadline. */
async function openCorrections() {
  const lists = await Promise.all(['open', 'overdue'].map(st => api('GET', `/kb/corrections?state=${st}`)));
  return lists.flatMap(l => l.corrections);
}

function kbItem(e, actions) {
  return el('li', { 'data-entry': e.id }, el('strong', {}, `${e.id} ${e.title}`),
    ` · ${v(e.type)} · ${e.unit_name || ''} · v${e.version} `,
    e.open_corrections ? el('span', { class: 'badge due-soon' }, `${t('open_corrections')} ${e.open_corrections}`) : null,
    el('p', {}, e.text), ...actions);
}

/* What the role may do with a published entry of this node: a manager
 * files a correction or withdraws it; its unit submits a new version. */
function kbActions(e) {
  const back = again(renderKb);
  if (e.origin)
    return [];
  if (state.me.role === 'manager')
    return [el('details', { class: 'more' }, el('summary', {}, t('kb_correct_withdraw')),
      el('div', { class: 'quick-actions' },
        apiForm({ action: 'kb-correction', path: `/kb/${e.id}/corrections`, spec: FORMS.correction,
          label: t('kb_correction'), then: back }),
        apiForm({ action: 'kb-withdraw', path: `/kb/${e.id}/withdraw`, spec: FORMS.withdraw,
          label: t('kb_withdraw'), then: back })))];
  if (state.me.role === 'unit')
    return [el('details', { class: 'more' }, el('summary', {}, t('kb_new_version')), versionForm(e))];
  return [];
}

function versionForm(e) {
  return apiForm({ action: 'kb-version', path: `/kb/${e.id}/versions`, spec: FORMS.version, subject: e,
    label: t('kb_new_version'), then: again(renderKb) });
}

/* A manager publishes a pending version, or rejects it with a reason. */
function reviewButtons(e) {
  return el('div', { class: 'quick-actions' }, el('div', {}, el('button', { class: 'primary', onclick: async ev => {
    try {
      await api('POST', `/kb/${e.id}/review`, { decision: 'approve', version: e.version });
      renderKb(`${t('approve')} ${e.id}: ${t('done')}`);
    } catch (err) {
      ev.target.after(notice(errorText(err)));
    }
  } }, t('approve'))), apiForm({ action: 'kb-reject', path: `/kb/${e.id}/review`, spec: FORMS.reject,
    label: t('refuse'), adjust: body => Object.assign(body, { decision: 'reject', version: e.version }),
    then: again(renderKb) }));
}

/* The corrections filed and not yet answered, with their deadlines; a unit
 * answers one with a new version of its entry. */
async function correctionsCard(list) {
  const unit = state.me.role === 'unit';
  const entries = unit ? await Promise.all(list.map(c => api('GET', `/kb/${c.entry}`).catch(() => ({ id: c.entry }))))
    : [];
  return el('div', { class: 'card' }, el('h2', {}, t('kb_corrections')), el('ul', { class: 'kb', id: 'kb-corrections' },
    ...list.map((c, i) => el('li', { 'data-entry': c.entry, class: c.state },
      el('strong', {}, `${c.entry} · ${c.note}`), ' ',
      c.state === 'overdue' ? el('span', { class: 'badge overdue' }, t('overdue')) : null,
      el('p', { class: 'muted' }, `${t('filed_by')} ${c.filed_by} · ${when(c.filed_at)} · ${t('deadline')} ${when(c.deadline)}`),
      unit ? versionForm(entries[i]) : null))));
}

function kbForm() {
  const type = select('type', KB_TYPES);
  const title = el('input', { name: 'title', required: true });
  const text = el('textarea', { name: 'text', rows: 3, required: true });
  const from = el('input', { name: 'valid_from', type: 'date', value: beijingToday(), required: true });
  const unit = el('select', { name: 'unit', 'aria-label': t('unit') }, ...state.units.map(u => el('option', { value: u.code }, u.name)));
  const out = el('div', {});
  return el('form', { class: 'card', id: 'kb-form', onsubmit: async e => {
    e.preventDefault();
    const body = { type: type.value, title: title.value.trim(), text: text.value.trim(), valid_from: from.value };
    if (state.me.role === 'manager')
      body.unit = unit.value;
    try {
      await api('POST', '/kb', body);
      renderKb();
    } catch (err) {
      out.replaceChildren(notice(errorText(err)));
    }
  } }, el('h2', {}, `${t('create')} · ${t('menu_kb')}`), el('div', { class: 'grid' }, field(t('kb_type'), type),
    field(t('title'), title), field(t('valid_from'), from), state.me.role === 'manager' ? field(t('unit'), unit) : null),
  field(t('text'), text), el('button', { class: 'primary' }, t('create')), out);
}

/* Caller restrictions (Art 9): 30 days off the phone line. */
async function renderRestrictions() {
  const seq = state.seq;
  const data = await api('GET', '/restrictions');
  const phone = el('input', { name: 'phone', required: true, inputmode: 'tel' });
  const reason = el('input', { name: 'reason', required: true });
  const out = el('div', {});
  showIf(seq, el('form', { class: 'card', id: 'restriction-form', onsubmit: async e => {
    e.preventDefault();
    try {
      await api('POST', '/restrictions', { phone: phone.value.trim(), reason: reason.value.trim() });
      renderRestrictions();
    } catch (err) {
      out.replaceChildren(notice(errorText(err)));
    }
  } }, el('h2', {}, `${t('create')} · ${t('menu_restrictions')}`), el('p', { class: 'muted' }, t('restriction_rule')),
  el('div', { class: 'grid' }, field(t('phone'), phone), field(t('reason'), reason)),
  el('button', { class: 'primary' }, t('create')), out),
  el('div', { class: 'card' }, el('h2', {}, t('menu_restrictions')),
    table([t('phone'), t('reason'), t('from'), t('to'), t('events_actor'), ''], data.restrictions.filter(r => r.active)
      .map(r => [r.phone_masked, r.reason, when(r.from), when(r.until), (r.by && r.by.name) || '',
        state.me.role === 'manager' ? el('button', { onclick: async () => {
          await api('DELETE', `/restrictions/${r.id}`).catch(err => alert(errorText(err)));
          renderRestrictions();
        } }, t('lift')) : '']), 'restrictions')));
}

function renderHome() {
  show(el('div', { class: 'card' }, el('p', {}, t('welcome'))));
}

const VIEWS = { desk: renderDesk, triage: renderTriage, tickets: renderTickets, inbox: renderInbox,
  reviews: renderReviews, stats: renderStats, admin: renderAdmin, province: renderProvince,
  transfers: renderTransfers, balancing: renderBalancing, followups: renderFollowups,
  assists: renderAssists, rules: renderRules, kb: () => renderKb(), restrictions: renderRestrictions,
  '': renderHome };

async function route() {
  if (!state.me) {
    renderSignIn();
    return;
  }
  const seq = ++state.seq;
  const [, view, arg] = location.hash.split('?')[0].split('/');
  for (const a of document.querySelectorAll('#menu a'))
    a.classList.toggle('active', a.dataset.view === view);
  try {
    if (view === 'ticket' && arg)
      await renderTicket(decodeURIComponent(arg));
    else if (view === 'transfer' && arg)
      await renderTransfer(decodeURIComponent(arg));
    else
      await (VIEWS[view || ''] || renderHome)();
  } catch (err) {
    showIf(seq, notice(errorText(err)));
  }
}

async function start() {
  setLang(lang());
  document.getElementById('lang').addEventListener('click', () => {
    setLang(lang() === 'zh' ? 'en' : 'zh');
    renderFrame();
    route();
  });
  window.addEventListener('hashchange', route);
  if (token()) {
    try {
      state.me = await api('GET', '/me');
      await loadShared();
    } catch (err) {
      sessionStorage.removeItem('hotline.token');
      state.me = null;
    }
  }
  renderFrame();
  route();
}

document.addEventListener('DOMContentLoaded', start);
