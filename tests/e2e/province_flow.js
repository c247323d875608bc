// SPDX-License-Identifier: Apache-2.0
// province_flow.js - the province's dashboard in headless Chromium, run by
// test_console.py with E2E holding the province's address, a manager's
// token and the ticket transferred from 广州 to 深圳: the cities are shown
// connected, the transfer accepted, and the month's figures by city drawn
// from the master dataset (广州 received one).  Prints {"ok": true}.
'use strict';

const { chromium } = require('playwright-core');
const assert = require('assert');
const path = require('path');

const env = JSON.parse(process.env.E2E);
const DEADLINE = 30000;

async function main() {
  const browser = await chromium.launch({ executablePath: env.chromium, args: ['--no-sandbox'] });
  const errors = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1366, height: 768 },
      locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    const page = await context.newPage();
    page.setDefaultTimeout(DEADLINE);
    page.on('pageerror', e => errors.push(e.message));
    await page.goto(env.url + '/');
    await page.fill('#token', env.manager);
    await page.click('form.signin button[type=submit]');
    await page.locator('#node-map').waitFor();
    assert.strictEqual((await page.locator('#menu a.active').textContent()), '全省联网');
    const tiles = await page.locator('#node-map .node-tile.up').allTextContents();
    assert.ok(tiles.some(x => x.includes('广州 440100')) && tiles.some(x => x.includes('深圳 440300')), tiles);
    const row = page.locator(`#transfers tr:has-text("${env.ticket}")`);
    assert.match(await row.textContent(), /440100[\s\S]*440300[\s\S]*已受理/);
    const end = Date.now() + DEADLINE;
    for (;;) {
      const figures = await page.evaluate(() => {
        const o = echarts.getInstanceByDom(document.getElementById('chart-cities')).getOption();
        return Object.fromEntries(o.xAxis[0].data.map((city, i) => [city, o.series[0].data[i]]));
      });
      if (figures['广州'] === 1)
        break;
      assert.ok(Date.now() < end, `the figures by city: ${JSON.stringify(figures)}`);
      await page.waitForTimeout(300);
      await page.evaluate(() => window.dispatchEvent(new HashChangeEvent('hashchange')));
      await page.locator('#chart-cities canvas').waitFor();
    }
    await page.screenshot({ path: path.join(env.shots, 'province.png') });
    assert.deepStrictEqual(errors, []);
    process.stdout.write(JSON.stringify({ ok: true }) + '\n');
  } finally {
    await browser.close();
  }
}

main().catch(e => {
  process.stderr.write(`${e.stack || e}\n`);
  process.exit(1);
});
