'use strict';
// What the browser tests share: the page to test (the one argument), `check` and `assert`, the
// "N passed, N failed" line and exit code, and a headless chromium in a 1,280 × 900 window whose
// every request other than file:// is aborted and recorded.
const path = require('path');
const { pathToFileURL } = require('url');
const { chromium } = require('playwright-core');

// The file:// URL of the page named by the first argument; `usage` when there is none.
function pageUrl(usage) {
  const file = process.argv[2];
  if (!file) {
    console.error(`usage: ${usage}`);
    process.exit(2);
  }
  return pathToFileURL(path.resolve(file)).href;
}

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

// A browser and page, offline: `blocked` collects every request that is not file:// or data:
// (aborted), `fileRequests` every file:// request, `consoleErrors` console errors and warnings
// (CSP violations among them) and uncaught page errors.
async function open() {
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
  return { browser, page, blocked, fileRequests, consoleErrors };
}

// Runs `body` with an opened browser (see `open`), then prints the summary line and exits 0 when
// every check passed. An exception outside a check is a failed "harness" check.
function run(body) {
  (async () => {
    const session = await open();
    try {
      await body(session);
    } catch (e) {
      results.push({ name: 'harness', ok: false });
      console.log(`FAIL  harness: ${e && e.stack ? e.stack : e}`);
    } finally {
      await session.browser.close();
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
}

module.exports = { pageUrl, check, assert, run };
