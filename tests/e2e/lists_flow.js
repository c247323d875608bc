// SPDX-License-Identifier: Apache-2.0
// lists_flow.js - the office's lists and back room in headless Chromium,
// run by test_console.py, which set up 25 orders in handling at the unit
// water, 30 consultations waiting, an order rated dissatisfied (its
// follow-up open) and two published knowledge-base entries, and checks
// the result through the API.  The manager pages through the tickets and
// filters them; the unit pages through its inbox; the operator records a
// follow-up's outcome; the manager files a correction, which the unit
// answers with a new version the manager publishes, and withdraws the other
// entry, which the operator then no longer finds.  Prints the ids of the
// first two pages and the inbox's count.
'use strict';

const assert = require('assert');
const { env, person, shot, act, run } = require('./browser');

async function ids(page, table) {
  return (await page.locator(`#${table} tbody tr td:first-child`).allTextContents()).map(x => x.trim());
}

async function pageInfo(page) {
  return (await page.textContent('nav.pager .page-info')).trim();
}

/* The manager's ticket list, 20 a page: two pages of different orders,
 * then the consultations only. */
async function ticketPages(mgr) {
  await mgr.goto(env.url + '/#/tickets');
  await mgr.selectOption('form[data-list=tickets] select[name=page_size]', '20');
  await mgr.click('form[data-list=tickets] button[type=submit]');
  await mgr.waitForFunction(() => location.hash === '#/tickets?page_size=20');
  await mgr.locator('nav.pager >> text=第 1 / 3 页 · 共 56 条').waitFor();
  const page1 = await ids(mgr, 'tickets');
  await shot(mgr, 'tickets');
  await mgr.click('#lang');
  await mgr.locator('nav.pager >> text=Page 1 of 3 · 56 in all').waitFor();
  await mgr.locator('form[data-list=tickets] label >> text=Per page').waitFor();
  await mgr.click('#lang');
  await mgr.click('nav.pager a.next');
  await mgr.locator('nav.pager >> text=第 2 / 3 页 · 共 56 条').waitFor();
  const page2 = await ids(mgr, 'tickets');
  assert.strictEqual(page1.length, 20);
  assert.strictEqual(page2.length, 20);
  assert.ok(page1.every(id => !page2.includes(id)), `${page1} / ${page2}`);

  await mgr.selectOption('form[data-list=tickets] select[name=kind]', 'consultation');
  await mgr.click('form[data-list=tickets] button[type=submit]');
  await mgr.locator('nav.pager >> text=第 1 / 2 页 · 共 30 条').waitFor();
  const kinds = await mgr.locator('#tickets tbody tr td:nth-child(3)').allTextContents();
  assert.ok(kinds.length === 20 && kinds.every(k => k === '咨询'), kinds);
  return { page1, page2 };
}

/* The unit's inbox: its 25 orders in handling, 20 on the first page. */
async function inboxPages(unit) {
  await unit.goto(env.url + '/#/inbox?status=handling&page_size=20');
  await unit.locator('nav.pager >> text=第 1 / 2 页 · 共 25 条').waitFor();
  const first = await ids(unit, 'inbox');
  await unit.click('nav.pager a.next');
  await unit.locator('nav.pager >> text=第 2 / 2 页 · 共 25 条').waitFor();
  const second = await ids(unit, 'inbox');
  assert.deepStrictEqual([first.length, second.length], [20, 5]);
  assert.strictEqual(new Set([...first, ...second]).size, 25);
  return 25;
}

async function followUp(op) {
  await op.goto(env.url + '/#/followups');
  const item = `.followup[data-ticket="${env.followup}"]`;
  await op.locator(item).waitFor();
  assert.match(await op.textContent(item), /不满意/);
  await act(op, 'followup', async f => {
    await f.locator('select[name=channel]').selectOption('phone');
    await f.locator('textarea[name=outcome]').fill('已电话回访，诉求人同意再等三个工作日。');
  }, item);
  await op.selectOption('form[data-list=followups] select[name=state]', 'done');
  await op.click('form[data-list=followups] button[type=submit]');
  await op.locator(`#followups-done >> text=已电话回访`).waitFor();
  await shot(op, 'followups');
}

/* The manager files a correction and withdraws the other entry. */
async function correctAndWithdraw(mgr) {
  await mgr.goto(env.url + '/#/kb');
  const corrected = `#kb-entries li[data-entry="${env.corrected}"]`;
  await mgr.click(`${corrected} summary`);
  await act(mgr, 'kb-correction', f => f.locator('textarea[name=note]').fill('热线号码应为96116。'), corrected);
  await mgr.locator(`#kb-corrections li[data-entry="${env.corrected}"]`).waitFor();
  const withdrawn = `#kb-entries li[data-entry="${env.withdrawn}"]`;
  await mgr.click(`${withdrawn} summary`);
  await act(mgr, 'kb-withdraw', f => f.locator('input[name=reason]').fill('水价已调整，旧标准停止使用。'), withdrawn);
  assert.strictEqual(await mgr.locator(withdrawn).count(), 0);
}

/* The unit answers the correction; the manager publishes the new version. */
async function answerCorrection(unit, mgr) {
  await unit.goto(env.url + '/#/kb');
  const item = `#kb-corrections li[data-entry="${env.corrected}"]`;
  await unit.locator(item).waitFor();
  assert.match(await unit.textContent(item), /96116/);
  await act(unit, 'kb-version', f => f.locator('textarea[name=text]').fill('停水请拨打供水服务热线96116。'), item);
  await shot(unit, 'kb-corrections');
  await mgr.goto(env.url + '/#/');
  await mgr.goto(env.url + '/#/kb');
  await mgr.locator(`#kb-pending li[data-entry="${env.corrected}"] button.primary:text-is("同意")`).click();
  await mgr.locator(`#kb-entries li[data-entry="${env.corrected}"] >> text=96116`).waitFor();
  assert.strictEqual(await mgr.locator('#kb-corrections').count(), 0);
}

run(async browser => {
  const mgr = await person(browser, env.manager);
  const unit = await person(browser, env.water);
  const op = await person(browser, env.operator);
  const pages = await ticketPages(mgr);
  const inboxTotal = await inboxPages(unit);
  await followUp(op);
  await correctAndWithdraw(mgr);
  await answerCorrection(unit, mgr);
  // The operator no longer finds the withdrawn entry.
  await op.goto(`${env.url}/#/kb?q=${encodeURIComponent('水费标准')}`);
  await op.locator('#kb-count').waitFor();
  assert.strictEqual(await op.locator(`li[data-entry="${env.withdrawn}"]`).count(), 0);
  return { ...pages, inbox_total: inboxTotal };
});
