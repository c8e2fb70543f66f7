// Drives the policy playground in headless Chromium (Debian's /usr/bin/chromium, never a downloaded browser):
// a wrong token first (the page must show the 401), then the right one; picks TARGET, types PROMPT and SEED, clicks
// Compare, waits for both images, and prints what the page shows as one JSON line on stdout.
//   node playground-browser.cjs URL TOKEN TENANT APP PROMPT SEED
'use strict';
const { chromium } = require('playwright-core');

async function main() {
  const [url, token, tenant, app, prompt, seed] = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  try {
    const page = await browser.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push('page error: ' + e.message));
    // the deliberate wrong token's 401 is logged by Chromium as a failed load; anything else is a problem
    page.on('console', (m) => { if (m.type() === 'error' && !m.text().includes('status of 401')) problems.push('console: ' + m.text()); });
    await page.goto(url + '/playground');

    await page.fill('#token', 'not-the-token');
    await page.click('#connect');
    await page.waitForFunction(() => document.getElementById('error').textContent.includes('401'), null, { timeout: 30000 });
    const refused = await page.textContent('#error');

    await page.fill('#token', token);
    await page.click('#connect');
    await page.waitForSelector('#target:not([disabled])', { timeout: 30000 });
    const choices = await page.$$eval('#target option', (os) => os.map((o) => ({ value: o.value, policy: o.dataset.policy })));
    await page.selectOption('#target', JSON.stringify({ tenant, app }));
    await page.fill('#prompt', prompt);
    await page.fill('#seed', seed);
    await page.click('#compare');
    await page.waitForFunction(() => ['done', 'failed'].includes(document.body.dataset.state), null, { timeout: 120000 });
    await page.waitForFunction(() => ['base-image', 'moderated-image'].every((id) => {
      const img = document.getElementById(id);
      return img.complete && img.naturalWidth > 0;
    }), null, { timeout: 30000 });
    const shown = await page.evaluate(() => ({
      state: document.body.dataset.state,
      error: document.getElementById('error').textContent,
      status: document.getElementById('status').textContent,
      base: document.getElementById('base-image').src,
      moderated: document.getElementById('moderated-image').src,
      baseWidth: document.getElementById('base-image').naturalWidth,
      gammas: [...document.querySelectorAll('.gamma-bar')].map((b) => ({ concept: b.dataset.concept, gamma: Number(b.dataset.gamma),
        widthPx: b.getBoundingClientRect().width })),
      scoreRows: document.querySelectorAll('#scores tr').length,
      audit: document.getElementById('audit').textContent,
    }));
    if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });
    process.stdout.write(JSON.stringify({ refused, choices, problems, ...shown }) + '\n');
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack || e) + '\n');
  process.exit(1);
});
