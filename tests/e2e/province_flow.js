// SPDX-License-Identifier: Apache-2.0
// province_flow.js - the province's views in headless Chromium, run by
// test_console.py with E2E holding the province's address, a manager's and
// the administrator's tokens, 深圳's address and an operator's token there,
// and three tickets of 广州: one transferred to 深圳 and accepted, one
// transferred and declined by 深圳, one waiting in 广州's online queue.
// The dashboard's schematic map places the 21 cities and the province, the
// two cities connected and the others not registered; the month's figures
// by city come from the master dataset.  The manager decides the declined
// transfer for 深圳.  The administrator gives 广州 threshold 0, so its queue
// overflows (the map shows it) with no centre to take it, then lets 深圳
// take overflow; 深圳's operator triages the appeal in its console.
// Prints {"ok": true}; test_console.py checks through the API.
'use strict';

const assert = require('assert');
const { env, person, shot, act, until, run } = require('./browser');

/* The map's places as ECharts holds them: {code: state}. */
async function mapStates(page) {
  return page.evaluate(() => {
    const o = echarts.getInstanceByDom(document.getElementById('federation-map')).getOption();
    const names = o.series[0].categories.map(c => c.name);
    return Object.fromEntries(o.series[0].data.map(d => [d.value, names[d.category]]));
  });
}

async function dashboard(mgr) {
  await mgr.locator('#federation-map canvas').waitFor();
  assert.strictEqual(await mgr.locator('#menu a.active').textContent(), '全省联网');
  const states = await mapStates(mgr);
  assert.strictEqual(Object.keys(states).length, 22);
  assert.deepStrictEqual(Object.entries(states).filter(([, s]) => s !== '未接入').map(([c, s]) => `${c} ${s}`).sort(),
    ['440000 已连接', '440100 已连接', '440300 已连接']);
  assert.strictEqual(await mgr.locator('#centres tbody tr').count(), 3);
  assert.match(await mgr.textContent('#unregistered'), /未接入 \(19\)[\s\S]*韶关/);
  assert.match(await mgr.textContent('#transfer-counts li[data-status=accepted]'), /1$/);
  assert.match(await mgr.textContent('#transfer-counts li[data-status=declined]'), /1$/);
  await until(mgr, async () => {
    const figures = await mgr.evaluate(() => {
      const o = echarts.getInstanceByDom(document.getElementById('chart-cities')).getOption();
      return Object.fromEntries(o.xAxis[0].data.map((city, i) => [city, o.series[0].data[i]]));
    });
    return figures['广州'] === 3;
  }, 'the figures by city');
}

/* The manager decides the declined transfer: 深圳 handles it. */
async function decide(mgr) {
  await mgr.click('#transfer-counts li[data-status=declined] a');
  const row = `#transfers tr:has-text("${env.declined}")`;
  assert.match(await mgr.textContent(row), /广州 440100[\s\S]*深圳 440300[\s\S]*已拒收/);
  await shot(mgr, 'transfers');
  await act(mgr, 'decide', async f => {
    await f.locator('select[name=owner]').selectOption('440300');
    await f.locator('input[name=reason]').fill('事发地在深圳市福田区，由深圳办理。');
  }, row);
  await mgr.goto(env.url + '/#/transfers');
  assert.match(await mgr.textContent(row), /省级已决定/);
  assert.match(await mgr.textContent(`#transfers tr:has-text("${env.accepted}")`), /已接收/);
  await mgr.click(`#transfers a:text-is("${env.declined}")`);
  await mgr.locator('#transfer ul.messages li').first().waitFor();
}

async function settings(admin, code, threshold, overflow) {
  const form = `form[data-action=balancing][data-node="${code}"]`;
  await act(admin, 'balancing', async f => {
    await f.locator('input[name=queue_threshold]').fill(String(threshold));
    await f.locator('input[name=takes_overflow]').setChecked(overflow);
    await f.locator('select[name=region]').selectOption('cantonese');
  }, `#balancing tr:has(${form})`);
}

run(async browser => {
  const mgr = await person(browser, env.manager);
  await dashboard(mgr);
  await decide(mgr);

  // 广州 overflows with no centre to take its appeal: the map shows it.
  const admin = await person(browser, env.admin);
  await admin.goto(env.url + '/#/balancing');
  await settings(admin, '440100', 0, false);
  await mgr.goto(env.url + '/#/province');
  await until(mgr, async () => (await mapStates(mgr))['440100'] === '排队超限（溢出）', '广州 over its threshold');
  assert.match(await mgr.textContent('#centres tr.centre-overflow'), /广州 440100/);
  await shot(mgr, 'province');
  await admin.goto(env.url + '/#/balancing?node=440100');
  await until(admin, async () => /留在本节点/.test(await admin.textContent('#overflow')), 'the item sent home');
  await admin.selectOption('#route-form select', '440100');
  await admin.click('#route-form button');
  await admin.locator('#route-out .notice.ok').waitFor();

  // 深圳 takes overflow; its operator triages the appeal.
  await settings(admin, '440300', 10, true);
  const op = await person(browser, env.operator, null, env.shenzhen);
  await op.goto(env.shenzhen + '/#/assists');
  const item = `.assist[data-ticket="${env.online}"]`;
  await until(op, async () => (await op.locator(item).count()) === 1, 'the appeal given to 深圳');
  assert.match(await op.textContent(item), /广州[\s\S]*路灯坏了一周/);
  await shot(op, 'assists');
  await act(op, 'assist', async f => {
    await f.locator('select[name=decision]').selectOption('accept');
    await f.locator('select[name=category]').selectOption('public_service');
  }, item);
  await admin.goto(env.url + '/#/balancing?node=440100');
  await until(admin, async () => /已分拣/.test(await admin.textContent('#overflow')), 'the item triaged');
  await shot(admin, 'balancing');
  return { ok: true };
});
