// SPDX-License-Identifier: Apache-2.0
// console_flow.js - drives the web console in headless Chromium through a
// ticket's whole life, each person in a browser of their own; run by
// test_console.py, which sets E2E (the node's address, the tokens, where the
// screenshots go) and checks the result through the API.  Prints one JSON
// line, {"ticket": id}; any failure exits 1 with the reason.
'use strict';

const assert = require('assert');
const { env, person, shot, act, until, run } = require('./browser');

async function chartData(page, id) {
  return page.evaluate(id => {
    const c = echarts.getInstanceByDom(document.getElementById(id));
    const o = c.getOption();
    return { x: o.xAxis && o.xAxis[0] ? o.xAxis[0].data : null,
      y: o.yAxis && o.yAxis[0] ? o.yAxis[0].data : null, series: o.series.map(s => s.data) };
  }, id);
}

run(async browser => {
  // The manager publishes an answer to the knowledge base.
  const mgr = await person(browser, env.manager);
  await mgr.goto(env.url + '/#/kb');
  await mgr.locator('#kb-form').waitFor();
  await mgr.selectOption('#kb-form select[name=type]', 'answer_script');
  await mgr.fill('#kb-form input[name=title]', '小区停水怎么办');
  await mgr.fill('#kb-form textarea[name=text]', '停水请先拨打供水服务热线查询片区停水通知，超过24小时未恢复可转水务部门。');
  await mgr.selectOption('#kb-form select[name=unit]', 'water');
  await mgr.click('#kb-form button.primary');
  await mgr.locator('#kb-pending button.primary:text-is("同意")').click();
  await mgr.locator('#kb-entries >> text=小区停水怎么办').waitFor();
  await shot(mgr, 'kb');

  // The operator: the emergency banner while she types of gas, then a
  // complaint registered by keyboard, a likely repeat, and dispatch.
  const op = await person(browser, env.operator);
  assert.strictEqual(await page0Menu(op), '坐席受理,网上诉求分拣,协助分拣,工单查询,差评回访,知识库,限制来电,进度查询（公众）');
  await op.selectOption('#presence', 'online');
  await op.reload();
  await op.waitForFunction(() => (document.getElementById('presence') || {}).value === 'online');
  await op.goto(env.url + '/#/desk');
  await op.waitForSelector('#intake');
  await op.fill('textarea[name=content]', '楼道里有很浓的煤气味');
  await op.locator('#emergency').waitFor();
  assert.match(await op.textContent('#emergency'), /119/);
  await op.focus('select[name=kind]');
  await op.selectOption('select[name=kind]', 'complaint');
  await op.selectOption('select[name=category]', 'public_service');
  await op.fill('input[name=name]', '陈小明');
  await op.fill('input[name=phone]', '13800138000');
  await op.fill('input[name=division]', '440106');
  await op.fill('input[name=address]', '天河区体育西路1号');
  await op.fill('textarea[name=content]', '小区停水三天了，一直没有任何通知。');
  await op.waitForFunction(() => !document.querySelector('#emergency'));
  await op.locator(`#repeat-list >> text=${env.earlier}`).waitFor();
  await op.locator('#kb-list >> text=小区停水怎么办').waitFor();
  await shot(op, 'desk-typing');
  await op.press('textarea[name=content]', 'Control+Enter');
  await op.locator('.intake-done').waitFor();
  const id = (await op.textContent('.intake-done h3 .ticket-link')).trim();
  assert.match(id, /^440100-\d{8}-\d{6}$/);
  assert.match(await op.textContent('.intake-done .repeats'), new RegExp(env.earlier));
  const suggested = await op.locator('form[data-action=dispatch] select[name=unit] option').first().textContent();
  assert.match(suggested, /广州市水务局/);
  await shot(op, 'desk');
  await act(op, 'dispatch');
  assert.match(await op.textContent('.after'), /办理中/);

  // A caller kept off the line for 30 days.
  await op.goto(env.url + '/#/restrictions');
  await op.fill('#restriction-form input[name=phone]', '13900139000');
  await op.fill('#restriction-form input[name=reason]', '多次恶意骚扰坐席');
  await op.click('#restriction-form button.primary');
  await op.locator('#restrictions >> text=139****9000').waitFor();
  await shot(op, 'restrictions');

  // The triage queue holds the online appeal with its waiting time.
  await op.goto(env.url + '/#/triage');
  await op.locator('#triage').waitFor();
  assert.match(await op.textContent('#triage'), new RegExp(env.online));
  assert.doesNotMatch(await op.textContent('#triage'), new RegExp(id));
  await shot(op, 'triage');

  // The unit: its inbox, then an extension asked on the ticket page.
  const unit = await person(browser, env.water);
  await unit.goto(env.url + '/#/inbox');
  await unit.locator('#inbox').waitFor();
  assert.match(await unit.textContent('#inbox'), new RegExp(id));
  await shot(unit, 'inbox');
  await unit.goto(`${env.url}/#/ticket/${id}`);
  await act(unit, 'extension', f => f.locator('textarea[name=reason]').fill('需要现场联合勘查管网'));
  await unit.locator('#timeline >> text=申请延期').first().waitFor();
  assert.match(await unit.textContent('.rules'), /值班长审核/);

  // The manager approves the extension from the reviews.
  await mgr.goto(env.url + '/#/reviews');
  await mgr.locator(`.review[data-ticket="${id}"]`).waitFor();
  assert.match(await mgr.textContent(`.review[data-ticket="${id}"]`), /需要现场联合勘查管网/);
  await shot(mgr, 'reviews');
  await act(mgr, 'extension/review');

  // The unit completes with the four parts; the manager approves.
  await unit.goto(`${env.url}/#/ticket/${id}`);
  await unit.reload();
  await act(unit, 'completion', async f => {
    await f.locator('textarea[name=process]').fill('派员到现场核查供水管网');
    await f.locator('textarea[name=result]').fill('已抢修恢复供水');
    await f.locator('input[name=basis]').fill('《广州市供水用水管理办法》');
  });
  await unit.locator('#timeline >> text=申请办结').first().waitFor();
  await shot(unit, 'ticket');
  await mgr.goto(env.url + '/#/');
  await mgr.goto(env.url + '/#/reviews');
  await mgr.locator(`.review[data-ticket="${id}"] form[data-action="completion/review"]`).waitFor();
  await act(mgr, 'completion/review');

  // Another unit sees nothing of it.
  const other = await person(browser, env.market);
  await other.goto(env.url + '/#/inbox');
  await other.locator('#inbox, .card p').first().waitFor();
  assert.doesNotMatch(await other.textContent('#main'), new RegExp(id));
  await other.goto(`${env.url}/#/ticket/${id}`);
  await other.locator('.notice.error').waitFor();
  assert.doesNotMatch(await other.textContent('#main'), /13800138000|陈小明/);

  // The citizen, on a phone: the progress and the rating, with the token
  // of the SMS the gateway sends.
  const res = await fetch(`${env.url}/api/v1/tickets/${id}/rating-token`,
    { method: 'POST', headers: { Authorization: `Bearer ${env.service}` } });
  const issued = await res.text();
  assert.strictEqual(res.status, 201, issued);
  const rt = JSON.parse(issued).token;
  const citizen = await person(browser, null, { width: 390, height: 844 });
  await citizen.goto(`${env.url}/progress.html?id=${id}&token=${rt}`);
  await citizen.fill('#last4', '8000');
  await citizen.click('#progress-form button[type=submit]');
  await citizen.locator('#public-status').waitFor();
  assert.strictEqual(await citizen.textContent('#public-status'), '已办结');
  assert.match(await citizen.textContent('#public-timeline'), /已派交广州市水务局[\s\S]*办理期限已延长[\s\S]*已办结/);
  await citizen.selectOption('#rate-intake', 'very_satisfied');
  await citizen.selectOption('#rate-handling', 'satisfied');
  await citizen.click('#rating button[type=submit]');
  await citizen.locator('#rate-out .notice.ok').waitFor();
  await shot(citizen, 'progress');

  // The statistics: the charts carry the figures of today.
  await mgr.goto(env.url + '/#/stats');
  await until(mgr, async () => {
    await mgr.locator('#chart-units canvas').waitFor({ timeout: 2000 });
    const kinds = await chartData(mgr, 'chart-kind');
    const byKind = Object.fromEntries(kinds.series[0].map(d => [d.kind, d.value]));
    const units = await chartData(mgr, 'chart-units');
    const w = units.x.indexOf('广州市水务局');
    return byKind.complaint === 2 && byKind.consultation === 1 && byKind.help === 1 &&
      w >= 0 && units.series[0][w] === 100 && units.series[1][w] === 100;
  }, 'the charts to show the figures of today');
  const daily = await chartData(mgr, 'chart-daily');
  assert.strictEqual(daily.series[0][daily.series[0].length - 1], 4);
  assert.match(await mgr.textContent('#assessment-table'), /广州市水务局[\s\S]*100\.0%/);
  await shot(mgr, 'stats');
  await mgr.click('#lang');
  await mgr.locator('#menu >> text=Statistics').waitFor();
  await mgr.click('#lang');

  // The administrator: units and principals.
  const admin = await person(browser, env.admin);
  await admin.locator('#principal-form').waitFor();
  await admin.fill('#unit-form input[name=code]', 'gz-housing');
  await admin.fill('#unit-form input[name=name]', '广州市住房和城乡建设局');
  await admin.selectOption('#unit-form select[name=categories]', ['public_service', 'social_management']);
  await admin.click('#unit-form button');
  await admin.locator('#units >> text=广州市住房和城乡建设局').waitFor();
  await admin.fill('#principal-form input[name=name]', '坐席刘洋');
  await admin.click('#principal-form button');
  await admin.locator('#new-token').waitFor();
  await shot(admin, 'admin');
  await admin.click('.token-once button');
  await admin.locator('#whoami >> text=坐席刘洋').waitFor();
  await admin.click('#switch');
  await admin.locator('#known button >> text=坐席刘洋').waitFor();
  await admin.click('#known button >> text=管理员');
  await admin.locator('#principal-form').waitFor();
  // Signing out forgets the session's principals: the next person at the
  // desk finds only the sign-in form.
  await admin.click('#signout');
  await admin.locator('#token').waitFor();
  assert.strictEqual(await admin.locator('#known').count(), 0);

  return { ticket: id };
});

async function page0Menu(page) {
  return (await page.locator('#menu a').allTextContents()).join(',');
}
