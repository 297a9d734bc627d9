// Follows a connect link in a real headless Chromium (Debian's package), as the
// user an MCP client sends there: the gateway's start link, the provider's consent,
// the gateway's callback, and the platform's landing page, which is stubbed here
// (it is the platform's own site). Prints where the browser landed as JSON.
// Usage: node follow_link.mjs LINK LANDING_ORIGIN
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [link, landingOrigin] = process.argv.slice(2);
if (!link || !landingOrigin) {
  console.error('usage: follow_link.mjs LINK LANDING_ORIGIN');
  process.exit(2);
}
const profile = mkdtempSync(join(tmpdir(), 'assistiv-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
});
try {
  await context.route(`${landingOrigin}/**`, (route) =>
    route.fulfill({ status: 200, contentType: 'text/html', body: '<p>Back at the platform</p>' }));
  const page = context.pages()[0] ?? await context.newPage();
  await page.goto(link);
  await page.waitForURL((url) => url.href.startsWith(landingOrigin), { timeout: 15000 });
  console.log(JSON.stringify({ landed: page.url() }));
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
