// The web console in a real browser: headless Chromium (the system's, Debian's `chromium`)
// driven by playwright-core. Run by tests/serve_console.rs against a fresh `sluice serve`, with:
//   SLUICE_URL, OWNER_PUBLIC_KEY, OWNER_PRIVATE_KEY, RO_PUBLIC_KEY, RO_PRIVATE_KEY,
//   CHROMIUM (the browser binary), PLAYWRIGHT_CORE (the package's folder), SCREENSHOTS (a folder).
// Any failed check throws and the script exits non-zero; screenshots are kept either way.

import path from 'node:path';
import { pathToFileURL } from 'node:url';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const BASE = env('SLUICE_URL');
const SHOTS = env('SCREENSHOTS');
const { chromium } = await import(pathToFileURL(path.join(env('PLAYWRIGHT_CORE'), 'index.mjs')).href);

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
  console.log(`ok - ${what}`);
}

const browser = await chromium.launch({
  executablePath: env('CHROMIUM'),
  headless: true,
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
});
const problems = [];

async function newPage(width, height) {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  // Every CSP violation and every script error fails the run.
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  return { context, page };
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: false });
  await page.screenshot({ path: path.join(SHOTS, `${name}-full.png`), fullPage: true });
}

async function signIn(page, publicKey, privateKey) {
  await page.goto(`${BASE}/console/`);
  await page.getByLabel('Public key').fill(publicKey);
  await page.locator('input[name="privateKey"]').fill(privateKey);
  // The keyboard signs in: Enter submits the form.
  await page.locator('input[name="privateKey"]').press('Enter');
  await page.getByRole('heading', { name: /^Project / }).waitFor();
}

async function stateIs(page, name, state) {
  await page.locator(`h1 [data-state="${state}"]`).waitFor({ timeout: 20000 });
  check(true, `${name} is ${state}`);
}

try {
  // --- Sign-in, and what the browser keeps ---------------------------------------------------
  const owner = await newPage(1280, 800);
  const page = owner.page;
  await page.goto(`${BASE}/console/`);
  await page.getByRole('heading', { name: 'Sign in to Sluice' }).waitFor();
  await shot(page, '01-sign-in');
  await page.getByLabel('Public key').fill(env('OWNER_PUBLIC_KEY'));
  await page.locator('input[name="privateKey"]').fill('wrong');
  await page.locator('input[name="privateKey"]').press('Enter');
  await page.getByText('Those credentials are not valid.').waitFor();
  check(true, 'a wrong private key is refused');
  await signIn(page, env('OWNER_PUBLIC_KEY'), env('OWNER_PRIVATE_KEY'));
  const cookies = await owner.context.cookies();
  const session = cookies.find((c) => c.name === 'sluice_session');
  check(session && session.httpOnly && session.sameSite === 'Strict', 'the session cookie is HttpOnly and SameSite=Strict');
  const kept = await page.evaluate(() => [document.cookie, JSON.stringify(localStorage), JSON.stringify(sessionStorage)].join(' '));
  check(!kept.includes(env_private()) && !kept.includes('sluice_session'), 'the page keeps neither the private key nor the session token');
  function env_private() {
    return process.env.OWNER_PRIVATE_KEY;
  }

  // --- A workspace with the sample stream ----------------------------------------------------
  await page.getByLabel('Workspace name').fill('demo');
  await page.getByLabel(/Add the sample stream/).check();
  await page.getByRole('button', { name: 'Create workspace' }).click();
  await page.getByRole('heading', { name: 'Workspace demo' }).waitFor();
  await page.locator('[data-connection="sample_stream_solar"]').waitFor();
  check(true, 'the workspace lists its sample connection');

  // --- A connection whose secret is never shown again ------------------------------------------
  await page.getByLabel('Connection name').fill('api');
  await page.getByLabel('Type', { exact: true }).selectOption('Https');
  await page.getByLabel('Settings (JSON)').fill(
    JSON.stringify({ url: 'https://example.internal/api', headers: { Authorization: 'Bearer sekrit-token-123' } }),
  );
  await page.getByRole('button', { name: 'Create connection' }).click();
  await page.locator('[data-connection="api"]').waitFor();
  await page.locator('[data-connection="api"] summary').click();
  const shown = await page.locator('[data-connection="api"]').textContent();
  check(shown.includes('example.internal') && !shown.includes('sekrit'), 'a new connection is listed without its secret');

  // --- An invalid pipeline shows the server's message next to its stage ----------------------
  await page.getByLabel('Processor name').fill('broken');
  const stage1 = page.locator('textarea[data-stage="1"]');
  await stage1.fill(JSON.stringify({ $tumblingWindow: { pipeline: [{ $group: { _id: null, n: { $sum: 1 } } }] } }, null, 2));
  await page.getByRole('button', { name: 'Create processor' }).click();
  const stageError = page.locator('[data-stage-error="1"]');
  await stageError.waitFor({ state: 'visible' });
  const message = await stageError.textContent();
  check(/had a problem occur: stage 1 \(\$tumblingWindow\)/.test(message), `the server's message is shown at stage 1: ${message}`);
  check((await stage1.getAttribute('aria-invalid')) === 'true', 'the stage is marked invalid');
  await stageError.scrollIntoViewIfNeeded();
  await shot(page, '02-invalid-pipeline');

  // --- A windowed processor on the sample stream ---------------------------------------------
  await page.reload();
  await page.getByRole('heading', { name: 'Workspace demo' }).waitFor();
  await page.getByLabel('Processor name').fill('solar');
  await page.getByRole('button', { name: 'Create processor' }).click();
  await page.getByRole('heading', { name: /^Processor solar/ }).waitFor();
  await stateIs(page, 'solar', 'CREATED');
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await stateIs(page, 'solar', 'STARTED');
  // The chart changes: points arrive every second and the input rate goes above zero.
  await page.waitForFunction(() => {
    const c = document.querySelector('[data-chart="events"]');
    return c && Number(c.dataset.points) >= 4 && Number(c.dataset.last) > 0;
  }, null, { timeout: 30000 });
  const before = await page.locator('[data-chart="events"] polyline.s0').getAttribute('points');
  await page.waitForTimeout(1500);
  const after = await page.locator('[data-chart="events"] polyline.s0').getAttribute('points');
  check(before !== after, 'the events chart changes over time');
  for (const key of ['events', 'latency', 'watermark-lag', 'dlq']) {
    check((await page.locator(`[data-chart="${key}"]`).count()) === 1, `the ${key} chart is there`);
  }
  await page.locator('[data-sample] [data-doc]').first().waitFor({ timeout: 30000 });
  const doc = await page.locator('[data-sample] [data-doc]').first().textContent();
  check(doc.includes('max_watts') && doc.includes('_stream_meta'), 'sample documents are the window output');
  // A few more seconds of figures, so that the screenshot shows lines rather than dots
  // (CHART_POINTS=50 for the README's screenshot).
  const points = Number(process.env.CHART_POINTS || 8);
  await page.waitForFunction((n) => Number(document.querySelector('[data-chart="latency"]').dataset.points) >= n, points, {
    timeout: 20000 + points * 1500,
  });
  const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(wide <= 0, `nothing is wider than 1280 pixels (${wide}px over)`);
  await shot(page, '03-processor-running');

  // --- Pause and resume, from the keyboard -----------------------------------------------------
  await page.getByRole('button', { name: 'Pause', exact: true }).focus();
  await page.keyboard.press('Enter');
  await stateIs(page, 'solar', 'PAUSED');
  check(await page.getByRole('button', { name: 'Resume', exact: true }).isEnabled(), 'Resume is offered when paused');
  check(await page.getByRole('button', { name: 'Pause', exact: true }).isDisabled(), 'Pause is not offered when paused');
  await page.getByRole('button', { name: 'Resume', exact: true }).focus();
  await page.keyboard.press('Space');
  await stateIs(page, 'solar', 'STARTED');

  // --- A read-only key sees everything and can change nothing --------------------------------
  const ro = await newPage(1280, 800);
  await signIn(ro.page, env('RO_PUBLIC_KEY'), env('RO_PRIVATE_KEY'));
  check(await ro.page.getByRole('button', { name: 'Create workspace' }).isDisabled(), 'read-only: Create workspace is disabled');
  await ro.page.getByRole('link', { name: 'demo' }).click();
  await ro.page.locator('[data-processor="solar"] [data-state="STARTED"]').waitFor();
  check(true, 'read-only: the processor list shows solar STARTED');
  await ro.page.locator('[data-processor="solar"] a').click();
  await stateIs(ro.page, 'solar (read-only)', 'STARTED');
  for (const b of ['Start', 'Stop', 'Pause', 'Resume']) {
    check(await ro.page.getByRole('button', { name: b, exact: true }).isDisabled(), `read-only: ${b} is disabled`);
  }
  await ro.page.locator('[data-sample] [data-doc]').first().waitFor({ timeout: 30000 });
  // And the server refuses anyway, even with the session's own CSRF token.
  const refused = await ro.page.evaluate(async () => {
    const me = await (await fetch('/console/api/session')).json();
    const r = await fetch(`/api/atlas/v2/groups/${me.projectId}/streams/demo/processor/solar:stop`, {
      method: 'POST',
      headers: { Accept: 'application/vnd.atlas.2024-05-30+json', 'X-CSRF-Token': me.csrfToken },
    });
    return { status: r.status, body: await r.json() };
  });
  check(refused.status === 403 && refused.body.errorCode === 'USER_UNAUTHORIZED', `read-only: the server refuses :stop (${refused.status})`);
  await shot(ro.page, '04-read-only');
  await ro.context.close();
  await stateIs(page, 'solar (still)', 'STARTED');

  // --- Without the CSRF token a write is refused ---------------------------------------------
  const noCsrf = await page.evaluate(async () => {
    const me = await (await fetch('/console/api/session')).json();
    const r = await fetch(`/api/atlas/v2/groups/${me.projectId}/streams/demo/processor/solar:stop`, {
      method: 'POST',
      headers: { Accept: 'application/vnd.atlas.2024-05-30+json' },
    });
    return r.status;
  });
  check(noCsrf === 403, 'a write without the CSRF token is refused');

  // --- A narrow screen -----------------------------------------------------------------------
  const narrow = await newPage(390, 844);
  await signIn(narrow.page, env('OWNER_PUBLIC_KEY'), env('OWNER_PRIVATE_KEY'));
  await narrow.page.goto(`${BASE}/console/#/w/demo/p/solar`);
  await stateIs(narrow.page, 'solar (narrow)', 'STARTED');
  await narrow.page.waitForFunction(() => Number(document.querySelector('[data-chart="events"]').dataset.points) >= 3);
  const overflow = await narrow.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `nothing is wider than a narrow screen (${overflow}px over)`);
  await shot(narrow.page, '05-processor-narrow');
  await narrow.page.goto(`${BASE}/console/#/w/demo`);
  await narrow.page.locator('[data-processor="solar"]').waitFor();
  await narrow.page.locator('[data-logs] tbody tr').first().waitFor();
  const wsOverflow = await narrow.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(wsOverflow <= 0, `the workspace page fits a narrow screen (${wsOverflow}px over)`);
  await shot(narrow.page, '06-workspace-narrow');
  await narrow.context.close();

  // --- Stop, then the logs say what happened -------------------------------------------------
  await page.getByRole('button', { name: 'Stop', exact: true }).click();
  await stateIs(page, 'solar', 'STOPPED');
  check(await page.getByRole('button', { name: 'Start', exact: true }).isEnabled(), 'Start is offered again');
  await page.getByRole('link', { name: 'demo' }).click();
  await page.locator('[data-processor="solar"] [data-state="STOPPED"]').waitFor();
  await page.getByRole('button', { name: 'Refresh logs' }).click();
  await page.locator('[data-logs] tbody tr').first().waitFor();
  const logText = await page.locator('[data-logs]').textContent();
  check(/solar/.test(logText), 'the operational logs name the processor');
  await shot(page, '07-workspace');

  // --- Every control has a label --------------------------------------------------------------
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll('input, select, textarea, button')]
      .filter((el) => {
        if (el.type === 'hidden') return false;
        const byLabel = el.labels && el.labels.length > 0;
        const text = (el.getAttribute('aria-label') || el.textContent || '').trim();
        return !byLabel && !(el.tagName === 'BUTTON' && text);
      })
      .map((el) => el.outerHTML.slice(0, 80)),
  );
  check(unlabelled.length === 0, `every control has a label ${JSON.stringify(unlabelled)}`);

  // --- Sign-out ends the session ---------------------------------------------------------------
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in to Sluice' }).waitFor();
  const after401 = await page.evaluate(async () => (await fetch('/console/api/session')).status);
  check(after401 === 401, 'after sign-out the session is gone');
  await owner.context.close();

  check(problems.length === 0, `no script errors or CSP violations: ${JSON.stringify(problems)}`);
  console.log('console test passed');
} finally {
  await browser.close();
}
