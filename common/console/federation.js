/* SPDX-License-Identifier: Apache-2.0 */
/*
 * federation.js - the province's views of the console: the dashboard with
 * the federation's schematic map, the transfers the province routes and
 * its managers decide, and load balancing (each centre's queue threshold,
 * overflow and dialect region, where an overflowing call would go now, and
 * what became of the items offered for overflow).  Like the rest of the
 * console, it shows only what the public API answers, each part the role
 * may read.  Loaded before app.js, whose helpers (api, el, table, apiForm,
 * filterForm, pager) it calls when a view is drawn.
 */
'use strict';

const PROVINCE = '440000';

/* The province and its 21 cities by GB/T 2260 code: the names of those not
 * registered, and where each is drawn on the schematic map, the city's
 * seat by approximate longitude and latitude, spread a little in the Pearl
 * River Delta and around Shantou so that labels do not cover one another;
 * the province in the middle.  No boundaries are drawn: a map of China
 * needs a review number before it is published. */
const PLACES = {
  440000: ['广东省', 'Guangdong', 113.95, 23.6],
  440100: ['广州', 'Guangzhou', 113.3, 23.2], 440200: ['韶关', 'Shaoguan', 113.6, 24.81],
  440300: ['深圳', 'Shenzhen', 114.2, 22.5], 440400: ['珠海', 'Zhuhai', 113.6, 22.05],
  440500: ['汕头', 'Shantou', 116.7, 23.2], 440600: ['佛山', 'Foshan', 112.85, 22.95],
  440700: ['江门', 'Jiangmen', 112.8, 22.45], 440800: ['湛江', 'Zhanjiang', 110.36, 21.27],
  440900: ['茂名', 'Maoming', 110.93, 21.66], 441200: ['肇庆', 'Zhaoqing', 112.3, 23.2],
  441300: ['惠州', 'Huizhou', 114.5, 23.05], 441400: ['梅州', 'Meizhou', 116.12, 24.29],
  441500: ['汕尾', 'Shanwei', 115.37, 22.79], 441600: ['河源', 'Heyuan', 114.7, 23.9],
  441700: ['阳江', 'Yangjiang', 111.98, 21.86], 441800: ['清远', 'Qingyuan', 113.06, 23.75],
  441900: ['东莞', 'Dongguan', 113.85, 22.95], 442000: ['中山', 'Zhongshan', 113.4, 22.45],
  445100: ['潮州', 'Chaozhou', 116.75, 23.8], 445200: ['揭阳', 'Jieyang', 116.2, 23.5],
  445300: ['云浮', 'Yunfu', 111.95, 22.8],
};

/* A centre whose stream down holds a message older than this is lagging. */
const LAG_WARN_SECONDS = 60;
const CENTRE_STATES = ['connected', 'lagging', 'overflow', 'disconnected', 'unregistered'];
const STATE_COLOURS = { connected: '#1e7d32', lagging: '#c9a227', overflow: '#ef6c00',
  disconnected: '#c62828', unregistered: '#c5ccd3' };
const TRANSFER_STATES = ['offered', 'accepted', 'declined', 'decided', 'refused'];
const REGIONS = ['cantonese', 'hakka', 'teochew'];

/* A GET the role may not make answers null: that part is left out. */
function readable(path) {
  return api('GET', path).catch(err => (err.status === 403 ? null : Promise.reject(err)));
}

/* A centre's state: not registered, disconnected, over its queue threshold
 * (its excess goes to overflow), its stream down lagging, or connected.
 * The province is always connected to itself. */
function centreState(code, load, lag) {
  if (!load)
    return 'unregistered';
  if (!load.connected && code !== PROVINCE)
    return 'disconnected';
  if (load.over_threshold)
    return 'overflow';
  if (lag >= LAG_WARN_SECONDS)
    return 'lagging';
  return 'connected';
}

function placeName(code) {
  const place = PLACES[code];
  return place ? place[lang() === 'en' ? 1 : 0] : code;
}

/* Every place of the map with what the API says of it. */
function centres(load, links, nodes) {
  const byCode = Object.fromEntries(((load && load.nodes) || []).map(n => [n.code, n]));
  const lag = Object.fromEntries(((links && links.sending) || []).map(l => [l.peer, l.lag_seconds]));
  const seen = Object.fromEntries(((nodes && nodes.nodes) || []).map(n => [n.code, n.last_heartbeat]));
  return Object.keys(PLACES).map(code => ({ code, load: byCode[code], lag: lag[code], heartbeat: seen[code],
    name: byCode[code] ? byCode[code].name : placeName(code),
    state: centreState(code, byCode[code], lag[code]), lon: PLACES[code][2], lat: PLACES[code][3] }));
}

function centreText(c) {
  const n = c.load;
  if (!n)
    return `${c.name} ${c.code} · ${t(`state_${c.state}`)}`;
  return [`${c.name} ${c.code} · ${t(`state_${c.state}`)}`, `${t('queue')} ${n.queue_depth} / ${n.queue_threshold}`,
    `${t('agents')} ${n.agents_busy}/${n.agents_online}`, c.lag !== undefined ? `${t('lag')} ${Math.round(c.lag)} s` : null,
    n.takes_overflow ? t('takes_overflow') : null].filter(Boolean).join(' · ');
}

/* The schematic map: a graph whose nodes sit at their places, the
 * province in the middle linked to every registered city, coloured by
 * state.  The links are slightly curved: ECharts draws some straight
 * links of such a graph out of place.  ECharts writes the tooltip as HTML:
 * its text is escaped. */
function drawMap(id, list) {
  const squeeze = Math.cos(23.1 * Math.PI / 180);
  const index = Object.fromEntries(list.map((c, i) => [c.code, i]));
  chart(id, { tooltip: { trigger: 'item', formatter: p => echarts.format.encodeHTML(p.data.tip || '') },
    legend: { bottom: 0, data: CENTRE_STATES.map(s => t(`state_${s}`)) },
    series: [{ type: 'graph', layout: 'none', roam: false,
      label: { show: true, position: 'right', formatter: '{b}' },
      categories: CENTRE_STATES.map(s => ({ name: t(`state_${s}`), itemStyle: { color: STATE_COLOURS[s] } })),
      data: list.map(c => ({ name: c.name, value: c.code, x: c.lon * squeeze, y: -c.lat,
        category: CENTRE_STATES.indexOf(c.state), symbolSize: c.code === PROVINCE ? 30 : 14,
        symbol: c.code === PROVINCE ? 'diamond' : 'circle', tip: centreText(c) })),
      links: list.filter(c => c.code !== PROVINCE && c.state !== 'unregistered').map(c => ({
        source: index[PROVINCE], target: index[c.code],
        lineStyle: { color: STATE_COLOURS[c.state], width: 1.5, curveness: 0.1,
          type: c.state === 'disconnected' ? 'dashed' : 'solid' } })) }] });
}

/* The map, and the same in words: a table of the registered centres and
 * the names of the cities not registered. */
function mapCard(list) {
  const known = list.filter(c => c.state !== 'unregistered');
  const absent = list.filter(c => c.state === 'unregistered');
  return el('div', { class: 'card' }, el('h2', {}, t('federation_nodes')),
    el('div', { class: 'chart map', id: 'federation-map', role: 'img', 'aria-label': t('map_label') }),
    el('p', { class: 'muted' }, t('map_note')),
    table([t('node'), t('status'), t('queue'), t('agents'), t('lag'), t('last_heartbeat')], known.map(c => [
      `${c.name} ${c.code}`, el('span', { class: `state ${c.state}` }, t(`state_${c.state}`)),
      `${c.load.queue_depth} / ${c.load.queue_threshold}`, `${c.load.agents_busy}/${c.load.agents_online}`,
      c.lag !== undefined ? `${Math.round(c.lag)} s` : '—', c.heartbeat ? when(c.heartbeat) : '—']), 'centres',
    known.map(c => `centre-${c.state}`)),
    el('p', { class: 'muted', id: 'unregistered' }, `${t('state_unregistered')} (${absent.length}): `,
      absent.map(c => c.name).join('、')));
}

/* How many transfers are in each state, each a link to its list. */
function transfersCard(transfers) {
  const count = s => transfers.transfers.filter(x => x.status === s).length;
  return el('div', { class: 'card' }, el('h2', {}, t('transfers')), el('ul', { class: 'counts', id: 'transfer-counts' },
    ...TRANSFER_STATES.map(s => el('li', { 'data-status': s }, el('a', { href: `#/transfers?status=${s}` },
      `${v(`transfer_${s}`)} `, el('strong', {}, count(s)))))));
}

/* Each node's daily report against the master dataset: how many days
 * match, and every day that does not. */
function reconciliationCard(recon) {
  const wrong = recon.days.filter(d => !d.match);
  return el('div', { class: 'card' }, el('h2', {}, t('reconciliation')),
    el('p', {}, t('recon_summary', recon.days.length, wrong.length)),
    wrong.length ? table([t('node'), t('day'), t('recon_reported'), t('recon_received')],
      wrong.map(d => [d.node, d.day, d.reported, d.received]), 'reconciliation', wrong.map(() => 'overdue')) : null);
}

/* The province's dashboard: the map, transfers, reconciliation and the
 * month's figures by city. */
async function renderProvince() {
  const seq = state.seq;
  showIf(seq, el('p', {}, t('loading')));
  const today = beijingToday();
  const [nodes, load, links, transfers, recon, stats] = await Promise.all([readable('/federation/nodes'),
    readable('/federation/load'), readable('/federation/links'), readable('/transfers'),
    readable('/federation/reconciliation'),
    readable(`/master/stats?from=${today.slice(0, 8)}01&to=${today}&group_by=node`), loadCharts()]);
  const list = load ? centres(load, links, nodes) : null;
  showIf(seq, list ? mapCard(list) : null, transfers ? transfersCard(transfers) : null,
    recon ? reconciliationCard(recon) : null, stats ? chartBox('chart-cities', t('chart_cities')) : null);
  if (seq !== state.seq)
    return;
  if (list)
    drawMap('federation-map', list);
  if (stats) {
    const rows = stats.rows;
    chart('chart-cities', { legend: { bottom: 0 }, xAxis: { type: 'category', data: rows.map(r => r.node_name) },
      yAxis: { type: 'value', minInterval: 1 },
      series: [{ name: t('received'), type: 'bar', data: rows.map(r => r.received) },
        { name: t('completed'), type: 'bar', data: rows.map(r => r.completed) }] });
  }
}

/* The names of the registered centres, by code, as the API gives them. */
async function centreNames() {
  const load = await readable('/federation/load');
  const names = Object.fromEntries(((load && load.nodes) || []).map(n => [n.code, n.name]));
  return code => `${names[code] || placeName(code)} ${code}`;
}

/* Transfers as the province routed them, of a state or all (the API has a
 * filter by state and no pages: the whole list is shown).  A manager
 * decides a declined transfer, or an offer its target never answered:
 * which of the two nodes handles the appeal (Art 10); the decision is
 * final. */
async function renderTransfers(said) {
  const seq = state.seq;
  const p = hashParams();
  const [list, name] = await Promise.all([api('GET', `/transfers?${pick(p, ['status'])}`), centreNames()]);
  const filters = filterForm('transfers', p, t('transfers'), [['status', choice('status', TRANSFER_STATES,
    t('status'), s => v(`transfer_${s}`))]]);
  const decidable = x => state.me.role === 'manager' && ['declined', 'offered'].includes(x.status);
  const rows = list.transfers.map(x => [el('a', { href: `#/transfer/${encodeURIComponent(x.id)}` }, x.ticket),
    name(x.from), name(x.to), v(`transfer_${x.status}`), x.owner ? name(x.owner) : '—', x.reason,
    when(x.offered_at), when(x.updated_at), decidable(x) ? decideForm(x, name) : '']);
  showIf(seq, flash(said), filters, el('div', { class: 'card' }, list.transfers.length
    ? table([t('id'), t('from_node'), t('to_node'), t('status'), t('owner'), t('reason'), t('offered_at'),
      t('updated_at'), t('actions')], rows, 'transfers', list.transfers.map(x => (decidable(x) ? 'due-soon' : '')))
    : el('p', {}, t('none'))));
}

function decideForm(x, name) {
  return apiForm({ action: 'decide', path: `/transfers/${encodeURIComponent(x.id)}/decide`, label: t('decide'),
    spec: [['owner', () => select('owner', [x.to, x.from], x.to, t('owner'), name)],
      ['reason', () => el('input', { required: true })]], then: again(renderTransfers) });
}

/* One routed transfer with its signed messages. */
async function renderTransfer(id) {
  const seq = state.seq;
  const [x, name] = await Promise.all([api('GET', `/transfers/${encodeURIComponent(id)}`), centreNames()]);
  showIf(seq, el('div', { class: 'card', id: 'transfer' }, el('h2', {}, `${t('transfers')} ${x.id}`),
    el('dl', { class: 'facts' }, ...[['id', x.ticket], ['from_node', name(x.from)], ['to_node', name(x.to)],
      ['status', v(`transfer_${x.status}`)], ['owner', x.owner ? name(x.owner) : '—'], ['reason', x.reason],
      ['offered_at', when(x.offered_at)], ['updated_at', when(x.updated_at)]]
      .flatMap(([k, val]) => [el('dt', {}, t(k)), el('dd', {}, val)])),
    transferView(x), el('p', {}, el('a', { href: '#/transfers' }, `‹ ${t('transfers')}`))));
}

/* Load balancing (Art 3): every centre's load and settings, which an
 * administrator changes; where an overflowing call would go now; and, a
 * page at a time, what became of each item offered for overflow. */
async function renderBalancing(said) {
  const seq = state.seq;
  const p = hashParams();
  const [load, overflow] = await Promise.all([api('GET', '/federation/load'),
    api('GET', `/federation/overflow?${pick(p, ['node', 'page', 'page_size'])}`)]);
  const name = code => `${(load.nodes.find(n => n.code === code) || {}).name || placeName(code)} ${code}`;
  const filters = filterForm('balancing', p, t('overflow_log'), [['node', choice('node',
    load.nodes.map(n => n.code), t('node'), name)], ['page_size', pageSize()]]);
  showIf(seq, flash(said), el('div', { class: 'card' }, el('h2', {}, t('menu_balancing')),
    el('p', { class: 'muted' }, t('balancing_rule')), table([t('node'), t('status'), t('queue'), t('waiting'),
      t('agents'), t('spare'), t('settings')], load.nodes.map(n => [name(n.code),
      t(`state_${centreState(n.code, n)}`), `${n.queue_depth} / ${n.queue_threshold}`,
      n.queue_depth ? duration(n.oldest_wait_seconds) : '—', `${n.agents_busy}/${n.agents_online}`, n.spare_capacity,
      state.me.role === 'admin' ? settingsForm(n) : settingsText(n)]), 'balancing',
    load.nodes.map(n => (n.over_threshold ? 'due-soon' : '')))),
  ['admin', 'manager'].includes(state.me.role) ? routeCard(load.nodes, name) : null, filters,
  el('div', { class: 'card' }, pager('balancing', p, overflow), overflow.items.length ? table([t('id'), t('round'), t('from_node'), t('centre'),
    t('status'), t('reason'), t('decided_at'), t('closed_at')], overflow.items.map(x => [x.ticket, x.round,
    name(x.owner), x.centre ? name(x.centre) : t('stayed_home'), t(`overflow_${x.state}`), x.reason,
    when(x.decided_at), when(x.closed_at)]), 'overflow') : el('p', {}, t('none'))));
}

function settingsText(n) {
  return `${n.region ? v(n.region) : '—'} · ${n.takes_overflow ? t('takes_overflow') : t('no_overflow')}`;
}

function settingsForm(n) {
  const form = apiForm({ action: 'balancing', method: 'PUT', label: t('save'),
    path: `/federation/nodes/${n.code}/balancing`,
    spec: [['queue_threshold', () => el('input', { type: 'number', min: 0, required: true, value: n.queue_threshold })],
      ['takes_overflow', () => el('input', { type: 'checkbox', checked: n.takes_overflow })],
      ['region', () => select('region', REGIONS, n.region || 'cantonese')]], then: again(renderBalancing) });
  form.classList.add('compact');
  form.dataset.node = n.code;
  return form;
}

/* Where an overflowing call for a centre would go now (GET /route). */
function routeCard(nodes, name) {
  const home = select('for', nodes.map(n => n.code), null, t('route_for'), name);
  const out = el('div', { id: 'route-out' });
  return el('form', { class: 'card inline', id: 'route-form', onsubmit: async e => {
    e.preventDefault();
    try {
      const r = await api('GET', `/route?for=${encodeURIComponent(home.value)}`);
      out.replaceChildren(notice(`${t('route_to')} ${r.name} ${r.code} · ${r.reason}`, 'ok'));
    } catch (err) {
      out.replaceChildren(notice(errorText(err)));
    }
  } }, el('h2', {}, t('route_title')), field(t('route_for'), home),
  el('button', { type: 'submit', class: 'primary' }, t('query')), out);
}
