// SPDX-License-Identifier: Apache-2.0
// browser.js - what the console's flows share: the environment
// test_console.py gives them (E2E: the nodes' addresses, the tokens, where
// screenshots go), a person in a browser of their own, signed in; forms
// sent and their answer checked; screenshots; polling a view until it shows
// what the API has come to hold.
'use strict';

const { chromium } = require('playwright-core');
const assert = require('assert');
const path = require('path');

const env = JSON.parse(process.env.E2E);
const DEADLINE = 30000;
const errors = [];

async function launch() {
  return chromium.launch({ executablePath: env.chromium, args: ['--no-sandbox'] });
}

/* A person at a desk of 1366x768 (or 'viewport'), signed in at 'url' (the
 * node of the flow unless named) with 'token', or not signed in. */
async function person(browser, token, viewport, url) {
  const context = await browser.newContext({ viewport: viewport || { width: 1366, height: 768 },
    locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  const page = await context.newPage();
  page.setDefaultTimeout(DEADLINE);
  page.on('pageerror', e => errors.push(`page error: ${e.message}`));
  // A refusal the console shows (404 for another unit's order) is logged by
  // the browser too: only the script's own errors count.
  page.on('console', m => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource'))
      errors.push(`console: ${m.text()}`);
  });
  if (token) {
    await page.goto((url || env.url) + '/');
    await page.fill('#token', token);
    await page.click('form.signin button[type=submit]');
    await page.waitForSelector('#whoami');
  }
  return page;
}

/* Keeps a screenshot of the page, which must show no value left unwritten. */
async function shot(page, name) {
  const text = await page.textContent('body');
  assert.doesNotMatch(text, /\bnull\b|\bundefined\b|NaN|\[object |\{\d\}/, `${name}: ${text}`);
  await page.screenshot({ path: path.join(env.shots, `${name}.png`), fullPage: false });
}

/* Sends the form of 'action' (within 'scope', a selector) after 'fill';
 * the API must have done it. */
async function act(page, action, fill, scope) {
  const form = page.locator(`${scope || ''} form[data-action="${action}"]`.trim()).first();
  await form.waitFor();
  if (fill)
    await fill(form);
  await page.evaluate(() => document.getElementById('flash')?.remove());
  await form.locator('button[type=submit]').click();
  // The form answers in place, or the view is drawn again with the news;
  // the page is busy until then.
  await page.locator('#main:not([aria-busy])').waitFor();
  const said = page.locator(`form[data-action="${action}"] .out .notice, #flash`).first();
  await said.waitFor();
  const text = await said.textContent();
  assert.ok(await said.evaluate(n => n.classList.contains('ok')), `${action}: ${text}`);
}

/* Draws the view again until 'check' holds: what the clock thread or the
 * federation does arrives later. */
async function until(page, check, what) {
  const end = Date.now() + DEADLINE;
  for (;;) {
    try {
      if (await check())
        return;
    } catch (e) {
      if (Date.now() > end)
        throw e;
    }
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${what}`);
    await page.waitForTimeout(300);
    await page.evaluate(() => window.dispatchEvent(new HashChangeEvent('hashchange')));
  }
}

/* Runs a flow: prints its result as one JSON line, or the failure and exits 1. */
function run(flow) {
  (async () => {
    const browser = await launch();
    try {
      const result = await flow(browser);
      assert.deepStrictEqual(errors, []);
      process.stdout.write(JSON.stringify(result) + '\n');
    } finally {
      await browser.close();
    }
  })().catch(e => {
    process.stderr.write(`${e.stack || e}\n${errors.join('\n')}\n`);
    process.exit(1);
  });
}

module.exports = { env, person, shot, act, until, run };
