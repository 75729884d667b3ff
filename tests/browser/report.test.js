'use strict';
// Loads report.html from file:// in headless chromium with every non-file request aborted and
// recorded, then checks: the page renders, sorting and filtering work, no console errors or CSP
// violations, no request leaves the page. Usage: node report.test.js REPORT_HTML
const { pageUrl, check, assert, run } = require('./harness');

const url = pageUrl('node report.test.js REPORT_HTML');

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

run(async ({ page, blocked, fileRequests, consoleErrors }) => {
  await page.goto(url, { waitUntil: 'load' });

  await check('page loads with a title and the main heading', async () => {
    const title = await page.title();
    assert(/IAM access review/.test(title), `title is ${JSON.stringify(title)}`);
    const h1 = await page.textContent('h1');
    assert(h1 && h1.includes('IAM access review'), `h1 is ${JSON.stringify(h1)}`);
  });

  await check('script ran under the CSP (html.js class set)', async () => {
    const js = await page.evaluate(() => document.documentElement.classList.contains('js'));
    assert(js, 'the inline script did not run: is the CSP hash right?');
  });

  await check('summary renders with numbers', async () => {
    const cards = await page.$$eval('#summary .card .n', (els) => els.map((e) => e.textContent.trim()));
    assert(cards.length >= 6, `expected >= 6 summary cards, got ${cards.length}`);
    assert(cards.every((t) => /^[0-9,]+$/.test(t)), `non-numeric summary values: ${cards.join(' | ')}`);
    const granted = Number((await page.$$eval('#summary .card', (els) => {
      const c = els.find((e) => /granted permissions/i.test(e.querySelector('.l').textContent));
      return c ? c.querySelector('.n').textContent : '0';
    })).replace(/,/g, ''));
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
    // Sort by "Principal" (text, column 1) ascending then descending; the order must change.
    const header = page.locator(`#${table} thead th`).nth(1).locator('button.sort');
    await header.click();
    const asc = await column(page, table, 1);
    assert(isSorted(asc, 'ascending'), `not ascending after one click: ${asc.slice(0, 5).join(' | ')}`);
    assert((await page.getAttribute(`#${table} thead th:nth-child(2)`, 'aria-sort')) === 'ascending', 'aria-sort not set');
    await header.click();
    const desc = await column(page, table, 1);
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
    const closed = await page.$$eval('details:not([open]):not(.fold)', (d) => d.length);
    assert(closed === 0, `${closed} <details> still closed for printing`);
    const filtersShown = await page.$$eval('form.filters', (f) => f.filter((x) => getComputedStyle(x).display !== 'none').length);
    assert(filtersShown === 0, 'filter controls are printed');
    await page.evaluate(() => window.dispatchEvent(new Event('afterprint')));
    await page.emulateMedia({ media: 'screen' });
  });

  // --- The review on the sample (tests/html.rs runs this file on sample-data/2026-q4). ---
  await check('the first 1280x800 screen shows the top decisions: the root key and ExampleCorpQA', async () => {
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.evaluate(() => window.scrollTo(0, 0));
    const seen = await page.$$eval('#decisions ol.glance li', (items) => items
      .filter((li) => li.getBoundingClientRect().bottom <= window.innerHeight)
      .map((li) => li.textContent.replace(/\s+/g, ' ').trim()));
    assert(seen.length >= 4, `only ${seen.length} decisions on the first screen`);
    assert(/root user's access key/.test(seen[0]), `first decision is not the root access key: ${seen[0]}`);
    assert(seen.some((t) => /ExampleCorpQA/.test(t) && /AmazonEC2FullAccess/.test(t)),
      `ExampleCorpQA's policy decision is not on the first screen:\n${seen.join('\n')}`);
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  await check('intentional roles appear once each, in their own group only', async () => {
    const names = await page.$$eval('#intentional-table tbody tr', (r) => r.map((x) => x.querySelector('.title').textContent));
    // The sample's two admin roles and the AdministratorAccess permission set (its two
    // AWSReservedSSO_ roles are confirmed through the set, not one by one).
    assert(names.length === 3, `expected 3 intentional decisions, got ${names.length}: ${names.join(' | ')}`);
    assert(names.some((n) => n.includes('role BreakGlassAdmin')) && names.some((n) => n.includes('role OrganizationAccountAccessRole'))
      && names.some((n) => n.includes('permission set AdministratorAccess')),
      `intentional decisions: ${names.join(' | ')}`);
    assert(!names.some((n) => n.includes('AWSReservedSSO_')), `an Identity Center role is confirmed on its own: ${names.join(' | ')}`);
    const elsewhere = await page.$$eval('#top-decisions tbody tr, #more-decisions tbody tr, #top-table tbody tr',
      (r) => r.map((x) => x.cells[1].textContent).filter((t) => /BreakGlassAdmin|OrganizationAccountAccessRole/.test(t)));
    assert(elsewhere.length === 0, `intentional roles ranked with the rest: ${elsewhere.join(' | ')}`);
  });

  // Rows of the findings table whose principal matches `who` and that are visible.
  const visibleFindings = (who) => page.$$eval('#top-table tbody tr:not([hidden])', (rows, w) => rows
    .filter((r) => r.cells[1].textContent.includes(w)).map((r) => r.dataset.actions), who);
  const search = (q) => page.fill('form.filters[data-for="top-table"] input[type="search"]', q);

  await check('search matches the member actions of grouped findings', async () => {
    await search('ec2:CreateFleet');
    const qa = await visibleFindings('ExampleCorpQA');
    assert(qa.length >= 1, 'searching ec2:CreateFleet does not show ExampleCorpQA\'s ec2 row');
    const shown = await page.$$eval('#top-table tbody tr:not([hidden])', (r) => r.map((x) => x.dataset.actions));
    assert(shown.every((a) => /^ec2:/i.test(a) || a === '*'), `rows of other services shown: ${shown.filter((a) => !/^ec2:/i.test(a)).join(' | ')}`);
    // Case does not matter, as in IAM.
    await search('EC2:createfleet');
    assert((await visibleFindings('ExampleCorpQA')).length === qa.length, 'search is case-sensitive');
    // A row that takes ec2:CreateTags out ("ec2:* except ec2:CreateTags …") does not match it; one that holds it does.
    await search('ec2:CreateTags');
    const qaTags = await visibleFindings('ExampleCorpQA');
    assert(qaTags.every((a) => !/except.*ec2:CreateTags/i.test(a)), `a row that excludes ec2:CreateTags is shown: ${qaTags.join(' | ')}`);
    const ops = await visibleFindings('platform-ops');
    assert(ops.some((a) => /^ec2:\*/.test(a)), 'platform-ops\' ec2:* row is hidden for ec2:CreateTags');
    // Globs match rows whose patterns can match them.
    await search('codebuild:Start*');
    const globbed = await page.$$eval('#top-table tbody tr:not([hidden])', (r) => r.map((x) => x.dataset.actions));
    assert(globbed.length >= 1 && globbed.every((a) => /^codebuild:/i.test(a)), `codebuild:Start* shows: ${globbed.join(' | ')}`);
    // Plain words still match the text.
    await search('ExampleCorpQA');
    assert((await visibleFindings('ExampleCorpQA')).length >= 1, 'a plain-text search no longer matches');
    await page.click('form.filters[data-for="top-table"] button[type="reset"]');
  });

  await check('principal sections can be searched by action', async () => {
    const box = 'form.filters[data-sections="sections"] input[type="search"]';
    const visible = () => page.$$eval('#sections details.principal:not([hidden]) h3', (h) => h.map((x) => x.textContent));
    const all = (await visible()).length;
    await page.fill(box, 'iam:PassRole');
    const pass = await visible();
    assert(!pass.includes('BreakGlassAdmin') && !pass.includes('OrganizationAccountAccessRole'),
      `sections whose iam row excludes iam:PassRole are shown: ${pass.join(', ')}`);
    await page.fill(box, 'ec2:CreateFleet');
    const fleet = await visible();
    assert(fleet.includes('ExampleCorpQA'), `ExampleCorpQA not found by ec2:CreateFleet: ${fleet.join(', ')}`);
    assert(fleet.length < all, 'searching ec2:CreateFleet hid no section');
    await page.click('form.filters[data-sections="sections"] button[type="reset"]');
    assert((await visible()).length === all, 'clear did not restore every section');
  });

  await check('no table overflows a 1280 px window', async () => {
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.evaluate(() => document.querySelectorAll('details').forEach((d) => { d.open = true; }));
    const over = await page.$$eval('.tw', (ws) => ws
      .filter((w) => w.scrollWidth > w.clientWidth + 1)
      .map((w) => `${(w.querySelector('table') || w).id || w.getAttribute('aria-labelledby') || w.getAttribute('aria-label')}: ${w.scrollWidth} > ${w.clientWidth}`));
    assert(over.length === 0, `tables wider than their box:\n${over.join('\n')}`);
    const docWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    assert(docWidth <= 1280, `the page is ${docWidth} px wide`);
  });

  // Printable width of a page: A4 portrait is 210 mm, US Letter landscape 279.4 mm; the page
  // margins are 12 mm each side (report.css @page); 96 px per inch.
  for (const [name, mm] of [['A4 portrait', 210], ['Letter landscape', 279.4]]) {
    await check(`printed on ${name}, every table keeps every column on the page`, async () => {
      const width = Math.floor(((mm - 24) / 25.4) * 96);
      await page.setViewportSize({ width, height: 1000 });
      await page.emulateMedia({ media: 'print' });
      await page.evaluate(() => window.dispatchEvent(new Event('beforeprint')));
      const over = await page.$$eval('table', (ts, w) => ts
        .filter((t) => t.getBoundingClientRect().width > 0 && t.getBoundingClientRect().right > w + 1)
        .map((t) => `${t.id || (t.caption && t.caption.textContent.slice(0, 50))}: right edge ${Math.round(t.getBoundingClientRect().right)} > ${w}`), width);
      const headers = await page.$$eval('#top-decisions thead th', (ths) => ths.map((th) => getComputedStyle(th).backgroundColor));
      await page.evaluate(() => window.dispatchEvent(new Event('afterprint')));
      await page.emulateMedia({ media: 'screen' });
      await page.setViewportSize({ width: 1280, height: 900 });
      assert(over.length === 0, `tables wider than the printed page:\n${over.join('\n')}`);
      assert(headers.length === 4 && headers.every((c) => c === 'rgb(255, 255, 255)'), `printed headers are not white: ${headers.join(', ')}`);
      const signoff = await page.$eval('#signoff', (e) => e !== null);
      assert(signoff, 'no sign-off block');
    });
  }

  await check('the sign-off block prints and is hidden on screen', async () => {
    assert(!(await page.isVisible('#signoff')), 'sign-off shown on screen');
    await page.emulateMedia({ media: 'print' });
    const shown = await page.isVisible('#signoff');
    const rows = await page.$$eval('#signoff table.signoff tbody tr', (r) => r.length);
    await page.emulateMedia({ media: 'screen' });
    assert(shown, 'sign-off not printed');
    assert(rows >= 10, `sign-off lists ${rows} decisions`);
  });

  await check('no console errors or CSP violations', async () => {
    assert(consoleErrors.length === 0, consoleErrors.join('\n'));
  });

  await check('no request leaves the page', async () => {
    const others = fileRequests.filter((u) => u.split('#')[0] !== url);
    assert(blocked.length === 0, `blocked requests: ${blocked.join(', ')}`);
    assert(others.length === 0, `other files requested: ${others.join(', ')}`);
  });
});
