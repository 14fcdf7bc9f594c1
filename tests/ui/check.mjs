// Headless Chromium check of the zhongtai web UI. See README.md beside this file.
//
//   ZT_BASE=http://127.0.0.1:18080 ZT_USER=admin ZT_PASS=... ZT_SHOTS=/tmp/shots node tests/ui/check.mjs
//
// Logs in through the form, opens every dashboard, checks every panel drew a non-empty chart
// (or says "no data" for zero rows) and none shows an error, filters the sales dashboard by one
// shop and a period, switches to Chinese, opens the other pages, and screenshots each step.
// Progress goes to stderr; the LAST line of stdout is one JSON object:
//   {"ok", "failures", "console_errors", "dashboards": {id: {panel: {rows, values, ...}}},
//    "filtered": {"dashboard", "shop", "from", "to", "panels"}, "pages": [...]}
// The exit code is 0 whenever that JSON was printed: callers assert on it.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const BASE = (process.env.ZT_BASE || 'http://127.0.0.1:18080').replace(/\/+$/, '');
const USER = process.env.ZT_USER || 'admin';
const PASS = process.env.ZT_PASS || '';
const SHOTS = process.env.ZT_SHOTS || path.join(os.tmpdir(), 'zhongtai-ui-shots');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const STEP_MS = Number(process.env.ZT_STEP_TIMEOUT_MS || 60000);
const TOTAL_MS = Number(process.env.ZT_TOTAL_TIMEOUT_MS || 600000);

const out = {
  ok: false,
  failures: [],
  console_errors: [],
  dashboards: {},
  filtered: null,
  pages: [],
  screenshots: [],
};

const log = (...a) => process.stderr.write(`[ui-check] ${a.join(' ')}\n`);
const fail = (msg) => {
  log('FAIL', msg);
  out.failures.push(msg);
};

// Prints the JSON once and exits 0 after it is written (stdout to a pipe is asynchronous:
// exiting at once would cut a long line).
let printed = false;
function finish() {
  if (printed) return;
  printed = true;
  out.ok = out.failures.length === 0 && out.console_errors.length === 0;
  process.stdout.write('\n' + JSON.stringify(out) + '\n', () => process.exit(0));
}

// Responses that are expected to fail: before logging in the app asks who it is (401), and
// the forms step submits an empty form on purpose (422).
const phase = { preLogin: true, emptySubmit: false };
const expectedUrls = new Set();
function expectedFailure(method, url, status) {
  const p = new URL(url).pathname;
  if (phase.preLogin && status === 401 && method === 'GET' && p === '/api/v1/me') return true;
  if (phase.emptySubmit && status === 422 && method === 'POST' && p.startsWith('/api/v1/forms/')) return true;
  return false;
}
const resourceErrors = []; // "Failed to load resource" console lines, judged at the end

async function main() {
  fs.mkdirSync(SHOTS, { recursive: true });
  const require = createRequire(import.meta.url);
  let puppeteer;
  try {
    puppeteer = require('puppeteer-core');
  } catch (e) {
    fail(`puppeteer-core is not installed (cd tests/ui && PUPPETEER_SKIP_DOWNLOAD=1 npm ci): ${e.message}`);
    return;
  }
  if (!fs.existsSync(CHROMIUM)) {
    fail(`no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM)`);
    return;
  }
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--lang=en-US', '--no-first-run',
      '--no-default-browser-check', '--disable-extensions', '--disable-background-networking'],
    defaultViewport: { width: 1366, height: 900 },
  });
  try {
    await run(browser);
  } finally {
    await browser.close().catch(() => {});
  }
}

async function run(browser) {
  const page = await browser.newPage();
  page.setDefaultTimeout(STEP_MS);
  await page.setExtraHTTPHeaders({ 'Accept-Language': 'en-US,en;q=0.9' });

  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const loc = msg.location() || {};
    const text = msg.text();
    if (text.startsWith('Failed to load resource')) resourceErrors.push({ text, url: loc.url || '' });
    else out.console_errors.push(`console: ${text}${loc.url ? ` @ ${loc.url}:${loc.lineNumber ?? ''}` : ''}`);
  });
  page.on('pageerror', (err) => out.console_errors.push(`pageerror: ${err && err.message ? err.message : err}`));
  page.on('response', (r) => {
    const status = r.status();
    if (status < 400) return;
    const method = r.request().method();
    if (expectedFailure(method, r.url(), status)) {
      expectedUrls.add(r.url());
      return;
    }
    out.console_errors.push(`HTTP ${status} ${method} ${r.url()}`);
  });
  page.on('requestfailed', (r) => {
    const f = r.failure();
    if (f && /ERR_ABORTED/.test(f.errorText)) return; // navigation away, cancelled downloads
    out.console_errors.push(`request failed: ${r.method()} ${r.url()}: ${f ? f.errorText : '?'}`);
  });

  // 1. Log in through the form.
  log('open', BASE);
  await page.goto(BASE + '/', { waitUntil: 'domcontentloaded' });
  await waitView(page, 'login');
  await shot(page, 'login');
  await page.type('#login-user', USER);
  await page.type('#login-pass', PASS);
  await page.click('#login-submit');
  try {
    await waitView(page, ['dashboards/', 'dashboards']);
  } catch (e) {
    const msg = await page.$eval('#login-error', (el) => el.textContent).catch(() => '');
    fail(`login failed: ${msg || e.message}`);
    return;
  }
  phase.preLogin = false;
  log('logged in');
  const missing = await page.evaluate(() => window.__zt.missing());
  if (missing.length) fail(`strings missing from the dictionary: ${missing.join(', ')}`);

  // 2. Every dashboard.
  const ids = await page.$$eval('#dash-tabs a[data-dashboard]', (as) => as.map((a) => a.dataset.dashboard));
  if (!ids.length) {
    const text = await page.$eval('#main', (m) => m.innerText).catch(() => '');
    fail(`no dashboards in the navigation: ${text.slice(0, 300)}`);
  }
  for (const id of ids) {
    try {
      await openDashboard(page, id);
      const panels = await inspectPanels(page, id);
      out.dashboards[id] = panels;
      judgePanels(id, panels);
      await shot(page, id);
      log(`dashboard ${id}: ${Object.keys(panels).length} panels`);
    } catch (e) {
      fail(`dashboard ${id}: ${e.message}`);
    }
  }

  // 3. The sales dashboard for one shop and a period.
  const salesId = ids.includes('sales') ? 'sales' : ids[0];
  if (salesId && out.dashboards[salesId]) {
    try {
      await filterSales(page, salesId);
    } catch (e) {
      fail(`filtering ${salesId}: ${e.message}`);
    }
  }

  // 4. Chinese, then the other pages.
  try {
    if (salesId) await openDashboard(page, salesId);
    await page.click('#lang');
    await page.waitForFunction(() => document.documentElement.lang === 'zh-CN', { timeout: STEP_MS });
    await waitView(page, `dashboards/${salesId}`);
    const zh = await page.evaluate(async (id) => {
      const r = await fetch('/api/v1/dashboards', { headers: { Accept: 'application/json' } });
      const list = r.ok ? await r.json() : { dashboards: [] };
      const d = (list.dashboards || []).find((x) => x.id === id) || {};
      const tab = document.querySelector(`#dash-tabs a[data-dashboard="${CSS.escape(id)}"]`);
      const heads = [...document.querySelectorAll('[data-panel] .panel-head h2')].map((x) => x.textContent);
      const want = (d.panels || []).map((p) => p.title_zh || p.title);
      return {
        nav: document.querySelector('#nav a[data-nav="dashboards"]').textContent,
        tab: tab ? tab.textContent : null,
        want_tab: d.title_zh || d.title || null,
        heads,
        want_heads: want,
        stored: localStorage.getItem('zhongtai.lang'),
      };
    }, salesId);
    if (zh.nav !== '看板') fail(`Chinese: the navigation says ${JSON.stringify(zh.nav)}`);
    if (zh.want_tab && zh.tab !== zh.want_tab) fail(`Chinese: dashboard tab ${JSON.stringify(zh.tab)}, want ${JSON.stringify(zh.want_tab)}`);
    if (zh.want_heads.length && JSON.stringify(zh.heads) !== JSON.stringify(zh.want_heads)) {
      fail(`Chinese: panel titles ${JSON.stringify(zh.heads)}, want ${JSON.stringify(zh.want_heads)}`);
    }
    if (zh.stored !== 'zh') fail('the language choice is not remembered in localStorage');
    const panels = await inspectPanels(page, salesId);
    judgePanels(`${salesId} (中文)`, panels);
    await shot(page, `${salesId}-zh`);
  } catch (e) {
    fail(`switching to Chinese: ${e.message}`);
  }

  for (const [name, check] of [
    ['exceptions', checkExceptions],
    ['forms', checkForms],
    ['sql', checkSql],
    ['ops', checkOps],
    ['reports', checkReports],
  ]) {
    const entry = { name, ok: true };
    const before = out.failures.length + out.console_errors.length;
    try {
      await page.click(`#nav a[data-nav="${name}"]`);
      await waitView(page, [name, name + '/']);
      const forbidden = await page.$('#main .msg.forbidden');
      if (forbidden) entry.forbidden = await page.evaluate((el) => el.textContent, forbidden);
      const err = await page.$('#main .msg.error');
      if (err) fail(`${name}: shows an error: ${await page.evaluate((el) => el.innerText, err)}`);
      Object.assign(entry, await check(page));
      await shot(page, name);
    } catch (e) {
      fail(`${name}: ${e.message}`);
    }
    entry.ok = out.failures.length + out.console_errors.length === before;
    out.pages.push(entry);
    log(`page ${name}: ${entry.ok ? 'ok' : 'FAILED'}`);
  }

  // Console lines about failed loads: only those of expected responses are allowed.
  for (const r of resourceErrors) {
    if (!expectedUrls.has(r.url)) out.console_errors.push(`console: ${r.text} @ ${r.url}`);
  }
}

// Waits until the page named by body[data-view] has finished loading: `want` is the view
// ("sql", "dashboards/sales") or a list of views; a view ending in "/" matches as a prefix.
async function waitView(page, want) {
  const views = Array.isArray(want) ? want : [want];
  await page.waitForFunction((views) => {
    const b = document.body;
    const v = b.dataset.view || '';
    return b.dataset.ready === '1' && views.some((w) => (w.endsWith('/') ? v.startsWith(w) : v === w));
  }, { timeout: STEP_MS }, views);
}

async function shot(page, name) {
  const file = path.join(SHOTS, `${name}.png`);
  await page.evaluate(() => window.scrollTo(0, 0)); // the sticky header stays on top
  await page.screenshot({ path: file, fullPage: true });
  out.screenshots.push(file);
}

async function openDashboard(page, id) {
  const view = await page.evaluate(() => document.body.dataset.view);
  if (view !== `dashboards/${id}`) {
    const sel = `#dash-tabs a[data-dashboard="${id.replace(/"/g, '\\"')}"]`;
    if (await page.$(sel)) await page.click(sel);
    else await page.evaluate((h) => { location.hash = h; }, `#/dashboards/${encodeURIComponent(id)}`);
  }
  await waitView(page, `dashboards/${id}`);
}

// Every panel of the dashboard shown: rows, values (spec.data.values), what it drew.
async function inspectPanels(page, id) {
  return page.evaluate((id) => {
    const data = (window.__zt.panels || {})[id] || {};
    const res = {};
    for (const el of document.querySelectorAll('#panels [data-panel]')) {
      const pid = el.dataset.panel;
      const svg = el.querySelector('.chart svg');
      // Vega draws each data mark as a path (rect, line, area, arc, symbol) or line (rule)
      // inside a group of class role-mark; axes, grid and legends are other roles.
      let marks = 0;
      if (svg) {
        for (const m of svg.querySelectorAll('g.role-mark path, g.role-mark line, g.role-mark rect, g.role-mark circle')) {
          const d = m.getAttribute('d');
          if (m.tagName.toLowerCase() !== 'path' || (d && d.length > 1)) marks += 1;
        }
      }
      const err = el.querySelector('.panel-error');
      const nodata = el.querySelector('.no-data');
      const p = data[pid] || {};
      res[pid] = {
        rows: Number(el.dataset.rows),
        values: Array.isArray(p.values) ? p.values : [],
        marks,
        state: el.dataset.state || null,
        no_data: nodata ? nodata.textContent : null,
        error: err ? err.textContent : (p.error || null),
      };
    }
    return res;
  }, id);
}

function judgePanels(id, panels) {
  const names = Object.keys(panels);
  if (!names.length) fail(`${id}: no panels`);
  for (const pid of names) {
    const p = panels[pid];
    if (p.error) fail(`${id}/${pid}: shows an error: ${p.error}`);
    else if (p.rows > 0 && p.marks === 0) fail(`${id}/${pid}: ${p.rows} rows but an empty chart`);
    else if (p.rows === 0 && !p.no_data) fail(`${id}/${pid}: no rows and no "no data" message`);
    if (p.values.length !== p.rows) fail(`${id}/${pid}: rows=${p.rows} but ${p.values.length} values`);
  }
}

const DAY = /^\d{4}-\d{2}-\d{2}/;

async function filterSales(page, id) {
  await openDashboard(page, id);
  const base = out.dashboards[id];
  // A period: the later half of the days the dashboard shows.
  const days = new Set();
  for (const p of Object.values(base)) {
    for (const r of p.values) for (const v of Object.values(r)) if (typeof v === 'string' && DAY.test(v)) days.add(v.slice(0, 10));
  }
  const sorted = [...days].sort();
  let from;
  let to;
  if (sorted.length >= 2) {
    from = sorted[Math.floor(sorted.length / 2)];
    to = sorted[sorted.length - 1];
  } else {
    const d = new Date();
    to = d.toISOString().slice(0, 10);
    from = new Date(d.getTime() - 30 * 86400e3).toISOString().slice(0, 10);
  }
  // A shop with sales in that period, else the first in the filter.
  const offered = await page.$$eval('#filters input[data-shop]', (xs) => xs.map((x) => x.dataset.shop));
  if (!offered.length) throw new Error('the shop filter offers no shops');
  let shop = null;
  for (const p of Object.values(base)) {
    for (const r of p.values) {
      const day = Object.values(r).find((v) => typeof v === 'string' && DAY.test(v));
      if (r.shop_id && offered.includes(r.shop_id) && day && day >= from && day <= to) { shop = r.shop_id; break; }
    }
    if (shop) break;
  }
  shop = shop || offered[0];
  log(`filter ${id}: shop ${shop}, ${from} .. ${to}`);

  // Through the UI: open the shop menu, tick the shop, set the dates.
  await page.click('#f-shops');
  await page.click(`#filters input[data-shop="${shop.replace(/"/g, '\\"')}"]`);
  await page.click('#panels');
  for (const [sel, value] of [['#f-from', from], ['#f-to', to]]) {
    await page.$eval(sel, (el, v) => {
      el.value = v;
      el.dispatchEvent(new Event('input', { bubbles: true }));
      el.dispatchEvent(new Event('change', { bubbles: true }));
    }, value);
  }
  await page.waitForFunction((from, to, shop) => {
    const c = window.__zt.current;
    return document.body.dataset.ready === '1' && c && c.requested && c.requested.from === from &&
      c.requested.to === to && c.requested.shops.length === 1 && c.requested.shops[0] === shop;
  }, { timeout: STEP_MS }, from, to, shop);
  const panels = await inspectPanels(page, id);
  judgePanels(`${id} (filtered)`, panels);
  const echo = await page.evaluate(() => window.__zt.current);
  out.filtered = { dashboard: id, shop, from, to, server: { from: echo.from, to: echo.to, shops: echo.shops }, panels };
  await shot(page, `${id}-filtered`);

  let changed = false;
  for (const [pid, p] of Object.entries(panels)) {
    const b = base[pid];
    if (!b || JSON.stringify(b.values) !== JSON.stringify(p.values)) changed = true;
    for (const r of p.values) {
      if ('shop_id' in r && r.shop_id !== shop) { fail(`${id}/${pid} filtered: a row of shop ${r.shop_id}`); break; }
      const day = ['day', 'date', 'order_date'].map((k) => r[k]).find((v) => typeof v === 'string' && DAY.test(v));
      if (day && (day.slice(0, 10) < from || day.slice(0, 10) > to)) { fail(`${id}/${pid} filtered: a row of ${day} outside ${from}..${to}`); break; }
    }
  }
  if (!changed) fail(`${id}: the numbers did not change with the shop and period filter`);
  const excel = await page.$eval('#excel', (a) => a.getAttribute('href'));
  if (!excel.includes(`shop=${encodeURIComponent(shop)}`) || !excel.includes(`from=${from}`)) fail(`the Excel link ignores the filters: ${excel}`);
}

async function checkExceptions(page) {
  const rows = await page.$$eval('#exc-box table tbody tr', (trs) => trs.length);
  const empty = await page.$('#exc-box .msg.info');
  if (!rows && !empty && !(await page.$('#main .msg.forbidden'))) fail('exceptions: neither a table nor a message');
  return { rows };
}

async function checkForms(page) {
  if (await page.$('#main .msg.forbidden')) return {};
  const form = await page.$('#entry-form');
  if (!form) { fail('forms: no form rendered'); return {}; }
  const info = await page.$eval('#entry-form', (f) => ({
    form: f.dataset.form,
    inputs: f.querySelectorAll('input, select, textarea').length,
    required: f.querySelectorAll('.req').length,
    forms: document.querySelectorAll('#form-list a[data-form]').length,
    lang: document.documentElement.lang,
    // Field labels come from the schema's titles, in the page's language.
    labels: [...f.querySelectorAll('.field > label')].map((l) => l.textContent.replace(/\*$/, '').trim()),
  }));
  if (!info.inputs) fail(`forms: ${info.form} has no inputs`);
  if (!info.labels.length) fail(`forms: ${info.form} has no field labels`);
  if (info.lang === 'zh-CN') {
    const latin = info.labels.filter((l) => !/[\u4e00-\u9fff]/.test(l));
    if (latin.length) fail(`forms: ${info.form} has fields without a Chinese label: ${JSON.stringify(latin)}`);
  }
  // An empty submission of a form with required fields is refused (nothing is written) and
  // the refusal is shown next to the fields.
  if (info.required) {
    phase.emptySubmit = true;
    await page.click('#form-submit');
    await page.waitForFunction(() => document.querySelector('#form-msg').childElementCount > 0, { timeout: STEP_MS });
    phase.emptySubmit = false;
    const errors = await page.$$eval('#entry-form .field-error', (es) => es.map((e) => e.textContent.trim()).filter(Boolean));
    info.field_errors = errors.length;
    if (!info.field_errors) fail(`forms: an empty ${info.form} shows no field errors`);
    // The server says "is required"; a Chinese page says it in Chinese.
    if (info.lang === 'zh-CN' && !errors.every((e) => e.includes('必填'))) {
      fail(`forms: the missing-field errors are not in Chinese: ${JSON.stringify(errors)}`);
    }
  }
  return info;
}

async function checkSql(page) {
  if (await page.$('#main .msg.forbidden')) return {};
  await page.$eval('#sql', (el) => { el.value = ''; });
  await page.type('#sql', 'SELECT 1 AS one');
  const seq = await page.evaluate(() => Number(document.body.dataset.seq || 0));
  await page.click('#sql-run');
  await page.waitForFunction((s) => document.body.dataset.ready === '1' && Number(document.body.dataset.seq) > s, { timeout: STEP_MS }, seq);
  const res = await page.evaluate(() => ({
    head: [...document.querySelectorAll('#sql-result th')].map((x) => x.textContent),
    cells: [...document.querySelectorAll('#sql-result td')].map((x) => x.textContent),
    error: (document.querySelector('#sql-result .msg') || {}).innerText || null,
  }));
  if (res.error) fail(`sql: ${res.error}`);
  else if (res.head[0] !== 'one' || res.cells[0] !== '1') fail(`sql: SELECT 1 AS one gave ${JSON.stringify(res)}`);
  return { sql: 'SELECT 1 AS one', result: res };
}

async function checkOps(page) {
  return page.evaluate(() => ({
    connectors: document.querySelectorAll('#connectors tbody tr').length,
    jobs: document.querySelectorAll('#jobs tbody tr').length,
  }));
}

async function checkReports(page) {
  if (await page.$('#main .msg.forbidden')) return {};
  const links = await page.$$eval('#reports a[data-format]', (as) => as.map((a) => a.getAttribute('href')));
  const info = { reports: new Set(links.map((l) => l.split('.')[0])).size, links: links.length };
  const html = links.find((l) => /\.html(\?|$)/.test(l));
  if (html) {
    info.html = await page.evaluate(async (u) => {
      const r = await fetch(u);
      return { url: u, status: r.status, type: r.headers.get('content-type') };
    }, html);
    if (info.html.status !== 200) fail(`reports: ${html} answered ${info.html.status}`);
  }
  return info;
}

const watchdog = setTimeout(() => {
  fail(`the check did not finish in ${TOTAL_MS / 1000} s`);
  finish();
}, TOTAL_MS);

try {
  await main();
} catch (e) {
  fail(`unexpected: ${e && e.stack ? e.stack : e}`);
}
clearTimeout(watchdog);
finish();
