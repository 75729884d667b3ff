'use strict';
// Loads report.html from file:// in headless chromium with every non-file request aborted and
// recorded, then checks: the page renders, sorting and filtering work, no console errors or CSP
// violations, no request leaves the page. Usage: node report.test.js REPORT_HTML
const path = require('path');
const { pathToFileURL } = require('url');
const { chromium } = require('playwright-core');

const report = process.argv[2];
if (!report) {
  console.error('usage: node report.test.js REPORT_HTML');
  process.exit(2);
}
const url = pathToFileURL(path.resolve(report)).href;
const results = [];

async function check(name, fn) {
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`ok    ${name}`);
  } catch (e) {
    results.push({ name, ok: false });
    console.log(`FAIL  ${name}\n      ${String((e && e.message) || e).split('\n').join('\n      ')}`);
  }
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

// Text of the cells of one column of a table's body, visible rows only.
async function column(page, tableId, col) {
  return page.$$eval(`#${tableId} tbody tr:not([hidden])`, (rows, c) =>
    rows.map((r) => {
      const cell = r.cells[c];
      if (!cell) return '';
      const v = cell.getAttribute('data-v');
      if (v !== null) return v;
      const t = cell.textContent.trim();
      return /^-?[0-9][0-9,]*$/.test(t) ? t.replace(/,/g, '') : t;
    }), col);
}

function isSorted(values, dir) {
  const num = values.every((v) => v !== '' && isFinite(v));
  for (let i = 1; i < values.length; i++) {
    const a = num ? Number(values[i - 1]) : values[i - 1].toLowerCase();
    const b = num ? Number(values[i]) : values[i].toLowerCase();
    if (dir === 'ascending' ? a > b : a < b) return false;
  }
  return true;
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-default-apps',
      '--disable-extensions', '--allow-file-access-from-files',
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, javaScriptEnabled: true });
  const blocked = [];
  const fileRequests = [];
  await context.route('**/*', (route) => {
    const u = route.request().url();
    if (u.startsWith('file://')) {
      fileRequests.push(u);
      return route.continue();
    }
    blocked.push(u);
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  const consoleErrors = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith('file://') && !u.startsWith('data:') && !blocked.includes(u)) blocked.push(u);
  });

  try {
    await page.goto(url, { waitUntil: 'load' });

    await check('page loads with a title and the main heading', async () => {
      const title = await page.title();
      assert(/IAM unused permissions report/.test(title), `title is ${JSON.stringify(title)}`);
      const h1 = await page.textContent('h1');
      assert(h1 && h1.includes('IAM unused permissions report'), `h1 is ${JSON.stringify(h1)}`);
    });

    await check('script ran under the CSP (html.js class set)', async () => {
      const js = await page.evaluate(() => document.documentElement.classList.contains('js'));
      assert(js, 'the inline script did not run: is the CSP hash right?');
    });

    await check('summary renders with numbers', async () => {
      const cards = await page.$$eval('#summary .card .n', (els) => els.map((e) => e.textContent.trim()));
      assert(cards.length >= 6, `expected >= 6 summary cards, got ${cards.length}`);
      assert(cards.every((t) => /^[0-9,]+$/.test(t)), `non-numeric summary values: ${cards.join(' | ')}`);
      const granted = Number(cards[1].replace(/,/g, ''));
      assert(granted > 0, 'no granted permissions: the report is empty');
      const visible = await page.isVisible('#summary');
      assert(visible, '#summary not visible');
    });

    await check('scope lists accounts and input-file hashes', async () => {
      const rows = await page.$$eval('#scope table tbody tr', (r) => r.length);
      assert(rows > 0, 'no account rows');
      const hashes = await page.$$eval('#scope td.hash', (c) => c.map((e) => e.textContent.trim()));
      assert(hashes.length > 0 && hashes.every((h) => /^[0-9a-f]{64}$/.test(h)), 'SHA-256 values missing or malformed');
    });

    await check('chart is drawn as inline SVG', async () => {
      const n = await page.$$eval('svg.chart rect', (r) => r.length);
      assert(n > 0, 'no bars in the chart');
    });

    await check('clicking a column header re-orders rows (top findings)', async () => {
      const table = 'top-table';
      const rows = await page.$$eval(`#${table} tbody tr`, (r) => r.length);
      assert(rows >= 2, `need >= 2 rows in #${table}, got ${rows}`);
      // Sort by "Granted by" (text, column 7) ascending then descending; the order must change.
      const header = page.locator(`#${table} thead th`).nth(7).locator('button.sort');
      await header.click();
      const asc = await column(page, table, 7);
      assert(isSorted(asc, 'ascending'), `not ascending after one click: ${asc.slice(0, 5).join(' | ')}`);
      assert((await page.getAttribute(`#${table} thead th:nth-child(8)`, 'aria-sort')) === 'ascending', 'aria-sort not set');
      await header.click();
      const desc = await column(page, table, 7);
      assert(isSorted(desc, 'descending'), 'not descending after two clicks');
      // Rank column (numeric): first click ascending restores the ranking.
      await page.locator(`#${table} thead th`).nth(0).locator('button.sort').click();
      const ranks = (await column(page, table, 0)).map(Number);
      assert(isSorted(ranks.map(String), 'ascending'), 'ranks not ascending');
    });

    await check('clicking a column header re-orders rows (all principals, numeric)', async () => {
      const table = 'principals-table';
      const before = await column(page, table, 0);
      await page.locator(`#${table} thead th`).nth(5).locator('button.sort').click(); // Granted, desc first
      const granted = await column(page, table, 5);
      assert(isSorted(granted, 'descending'), `granted not descending: ${granted.slice(0, 5).join(' | ')}`);
      await page.locator(`#${table} thead th`).nth(0).locator('button.sort').click();
      const names = await column(page, table, 0);
      assert(isSorted(names, 'ascending'), 'names not ascending');
      assert(names.length === before.length, 'rows lost while sorting');
    });

    await check('typing in the filter hides rows', async () => {
      const table = 'principals-table';
      const total = await page.$$eval(`#${table} tbody tr`, (r) => r.length);
      const first = (await column(page, table, 0))[0];
      const term = first.slice(0, Math.max(3, Math.min(first.length, 12)));
      await page.fill(`form.filters[data-for="${table}"] input[type="search"]`, term);
      const shown = await page.$$eval(`#${table} tbody tr:not([hidden])`, (r) => r.map((x) => x.textContent.toLowerCase()));
      assert(shown.length >= 1, 'filter hid every row');
      assert(shown.every((t) => t.includes(term.toLowerCase())), 'a shown row does not match the filter');
      await page.fill(`form.filters[data-for="${table}"] input[type="search"]`, 'zz-no-such-principal-zz');
      const none = await page.$$eval(`#${table} tbody tr:not([hidden])`, (r) => r.length);
      assert(none === 0, `non-matching filter still shows ${none} of ${total} rows`);
      const out = await page.textContent(`form.filters[data-for="${table}"] output`);
      assert(/Showing 0 of/.test(out || ''), `count not announced: ${out}`);
      await page.click(`form.filters[data-for="${table}"] button[type="reset"]`);
      const back = await page.$$eval(`#${table} tbody tr:not([hidden])`, (r) => r.length);
      assert(back === total, `clear restored ${back} of ${total} rows`);
    });

    await check('select filters hide rows (sensitivity on top findings)', async () => {
      const table = 'top-table';
      const total = await page.$$eval(`#${table} tbody tr`, (r) => r.length);
      const values = await page.$$eval(`#${table} tbody tr`, (r) => [...new Set(r.map((x) => x.dataset.sensitivity))]);
      await page.selectOption(`form.filters[data-for="${table}"] select[name="sensitivity"]`, values[0]);
      const shown = await page.$$eval(`#${table} tbody tr:not([hidden])`, (r) => r.map((x) => x.dataset.sensitivity));
      assert(shown.length > 0 && shown.every((s) => s === values[0]), 'sensitivity filter shows other rows');
      assert(values.length === 1 || shown.length < total, 'sensitivity filter hid nothing');
      await page.click(`form.filters[data-for="${table}"] button[type="reset"]`);
    });

    await check('principal sections open from a link and expand for printing', async () => {
      const link = await page.$('#principals-table tbody a[href^="#p"]');
      if (link) {
        const id = (await link.getAttribute('href')).slice(1);
        await link.click();
        await page.waitForFunction((i) => document.getElementById(i).open, id, { timeout: 2000 });
      }
      await page.emulateMedia({ media: 'print' });
      await page.evaluate(() => window.dispatchEvent(new Event('beforeprint')));
      const closed = await page.$$eval('details:not([open])', (d) => d.length);
      assert(closed === 0, `${closed} <details> still closed for printing`);
      const filtersShown = await page.$$eval('form.filters', (f) => f.filter((x) => getComputedStyle(x).display !== 'none').length);
      assert(filtersShown === 0, 'filter controls are printed');
      await page.evaluate(() => window.dispatchEvent(new Event('afterprint')));
      await page.emulateMedia({ media: 'screen' });
    });

    await check('no console errors or CSP violations', async () => {
      assert(consoleErrors.length === 0, consoleErrors.join('\n'));
    });

    await check('no request leaves the page', async () => {
      const others = fileRequests.filter((u) => u.split('#')[0] !== url);
      assert(blocked.length === 0, `blocked requests: ${blocked.join(', ')}`);
      assert(others.length === 0, `other files requested: ${others.join(', ')}`);
    });
  } catch (e) {
    results.push({ name: 'harness', ok: false });
    console.log(`FAIL  harness: ${e && e.stack ? e.stack : e}`);
  } finally {
    await browser.close();
  }
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
})().catch((e) => {
  console.log(`FAIL  harness: ${e && e.stack ? e.stack : e}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
});
