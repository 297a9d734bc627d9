// Follows a connect link in a real headless Chromium (Debian's package), as the
// user an MCP client sends there: the gateway's start link, the provider's consent,
// the gateway's callback, and the redirect to the platform's own site (not served
// here: its request ends the flow). Prints where the browser landed as JSON.
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
  const page = context.pages()[0] ?? await context.newPage();
  // The platform's site is not on this machine: the browser's request for it is
  // where the flow ends (a route cannot answer the target of a redirect).
  const landing = page.waitForRequest((r) => r.url().startsWith(landingOrigin), { timeout: 15000 });
  await page.goto(link).catch(() => {});
  console.log(JSON.stringify({ landed: (await landing).url() }));
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
