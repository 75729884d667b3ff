'use strict';
// Loads diff.html from file:// in headless chromium with every non-file request aborted and
// recorded, then checks: the page renders without script, a policy detach is one row whose
// actions unfold, no table overflows a 1,280 px window (folded or unfolded), and an emulated
// print on A4 portrait and US Letter landscape keeps every column within the page width; the
// grants one side's data cannot settle (grant_unknown) are counted in the headline area and
// listed with their reason.
// Usage: node diff.test.js DIFF_HTML [PRINCIPAL]
// Without PRINCIPAL the page is the sample's q3 → q4 diff (which has no grant_unknown row); with
// it, a diff whose grant_unknown rows are all PRINCIPAL's (the sample's policy checks are left
// out).
const { pageUrl, check, assert, run } = require('./harness');

const url = pageUrl('node diff.test.js DIFF_HTML [PRINCIPAL]');
const unsettled = process.argv[3];

// Millimetres to CSS pixels (96 per inch).
const mm = (x) => (x * 96) / 25.4;
// The printable width of a page: its width minus the stylesheet's 12 mm side margins
// (`@page { margin: 14mm 12mm }` in report.css).
const PAGES = [
  { name: 'A4 portrait', width: mm(210 - 24), height: mm(297 - 28) },
  { name: 'US Letter landscape', width: mm(279.4 - 24), height: mm(215.9 - 28) },
];

// Everything wider than the window: tables whose container scrolls, cells past the right edge,
// the document itself. Returns a list of descriptions (empty when all fits).
async function overflows(page) {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const out = [];
    if (document.documentElement.scrollWidth > width + 1) {
      out.push(`document is ${document.documentElement.scrollWidth}px wide in a ${width}px window`);
    }
    for (const t of document.querySelectorAll('table')) {
      const id = t.id || (t.caption && t.caption.textContent.slice(0, 40)) || 'a table';
      const box = t.parentElement;
      if (box && box.classList.contains('tw') && box.scrollWidth > box.clientWidth + 1) {
        out.push(`${id}: scrolls (${box.scrollWidth}px in ${box.clientWidth}px)`);
      }
      const right = t.getBoundingClientRect().right;
      if (right > width + 1) out.push(`${id}: ends at ${Math.round(right)}px of ${width}px`);
      for (const c of t.querySelectorAll('th, td')) {
        const r = c.getBoundingClientRect();
        if (r.width > 0 && r.right > width + 1) {
          out.push(`${id}: a cell ends at ${Math.round(r.right)}px (${c.textContent.trim().slice(0, 40)})`);
          break;
        }
      }
    }
    return out;
  });
}

run(async ({ page, blocked, consoleErrors }) => {
  await page.goto(url, { waitUntil: 'load' });

  await check('page loads with its title, headline and tables', async () => {
    const title = await page.title();
    assert(/IAM permissions diff/.test(title), `title is ${JSON.stringify(title)}`);
    const n = await page.textContent('#progress .card.big .n');
    assert(/[0-9,]+ → [0-9,]+/.test(n || ''), `headline is ${JSON.stringify(n)}`);
    const tables = await page.$$eval('table', (t) => t.length);
    assert(tables >= 8, `only ${tables} tables`);
  });

  await check('what is not settled is counted in the headline area and listed with its reason', async () => {
    const n = (await page.textContent('#not-settled-card .n')).trim();
    const rows = await page.$$eval('#not-settled-table tbody > tr', (r) => r.map((x) => ({
      text: x.textContent,
      empty: x.querySelector('td.empty') !== null,
      why: [...x.querySelectorAll('.why')].map((w) => w.getBoundingClientRect().height > 0 && w.textContent),
    })));
    if (!unsettled) {
      assert(n === '0', `the sample's card says ${n}`);
      assert(rows.length === 1 && rows[0].empty, `${rows.length} rows in the sample's table`);
      return;
    }
    assert(/^[1-9][0-9,]*$/.test(n), `the card says ${JSON.stringify(n)}`);
    assert(rows.length > 0 && !rows[0].empty, 'no row in the not-settled table');
    for (const r of rows) {
      assert(r.text.includes(unsettled), r.text.slice(0, 200));
      assert(r.why.length > 0 && r.why.every((w) => w && w.startsWith('Not comparable: ')),
        `a row without a visible reason: ${r.text.slice(0, 200)}`);
      assert(!r.text.includes('not granted'), r.text.slice(0, 200));
    }
  });

  if (!unsettled) await check('a policy detach is one row of the Revoked table', async () => {
    const rows = await page.$$eval('#revoked-table tbody > tr', (r) =>
      r.filter((x) => x.textContent.includes('dev-sandbox')).map((x) => x.textContent));
    assert(rows.length === 1, `${rows.length} rows for dev-sandbox`);
    assert(rows[0].includes('206 actions') && rows[0].includes('aws:AmazonS3FullAccess'), rows[0].slice(0, 200));
  });

  if (!unsettled) await check('its actions unfold from the row', async () => {
    const row = page.locator('#revoked-table tbody > tr', { hasText: 'dev-sandbox' });
    const names = row.locator('p.names');
    assert(!(await names.isVisible()), 'the action list is shown before it is asked for');
    await row.locator('details > summary').click();
    assert(await names.isVisible(), 'the action list did not unfold');
    const text = await names.textContent();
    assert(text.includes('s3:AbortMultipartUpload'), text.slice(0, 200));
  });

  await check('no table overflows a 1,280 px window', async () => {
    const over = await overflows(page);
    assert(over.length === 0, over.join('\n'));
  });

  await check('no table overflows a 1,280 px window with every list unfolded', async () => {
    await page.evaluate(() => document.querySelectorAll('details').forEach((d) => { d.open = true; }));
    const over = await overflows(page);
    assert(over.length === 0, over.join('\n'));
  });

  for (const p of PAGES) {
    await check(`printed on ${p.name}, every column is within the page width`, async () => {
      await page.emulateMedia({ media: 'print' });
      await page.setViewportSize({ width: Math.floor(p.width), height: Math.floor(p.height) });
      const over = await overflows(page);
      assert(over.length === 0, over.join('\n'));
      const pdf = await page.pdf({ width: `${p.name.startsWith('A4') ? 210 : 279.4}mm`, height: `${p.name.startsWith('A4') ? 297 : 215.9}mm`, preferCSSPageSize: true });
      assert(pdf.length > 10000, `the PDF has ${pdf.length} bytes`);
      await page.emulateMedia({ media: 'screen' });
      await page.setViewportSize({ width: 1280, height: 900 });
    });
  }

  await check('no script, no console errors or CSP violations', async () => {
    const scripts = await page.$$eval('script', (s) => s.length);
    assert(scripts === 0, `${scripts} script elements`);
    assert(consoleErrors.length === 0, consoleErrors.join('\n'));
  });

  await check('no request leaves the page', async () => {
    assert(blocked.length === 0, `blocked requests: ${blocked.join(', ')}`);
  });
});
