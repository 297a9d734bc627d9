// Drives the hosted connect page in a real headless Chromium (Debian's package):
// opens the link, clicks "Connect Slack", lets the OAuth round trip run, and prints
// what the page shows afterwards as JSON. Usage: node connect_page.mjs LINK SCREENSHOT
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [link, screenshot] = process.argv.slice(2);
const profile = mkdtempSync(join(tmpdir(), 'assistiv-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
  viewport: { width: 390, height: 844 },
  isMobile: true,
});
try {
  const page = context.pages()[0] ?? await context.newPage();
  await page.goto(link);
  const before = await page.getAttribute('section[data-app="slack"]', 'data-status');
  const landedAt = page.url();
  await page.click('section[data-app="slack"] button:has-text("Connect Slack")');
  await page.waitForURL(/\/connect\?app=slack&status=/, { timeout: 15000 });
  const after = await page.getAttribute('section[data-app="slack"]', 'data-status');
  const state = await page.textContent('section[data-app="slack"] .state');
  const banner = await page.textContent('.banner');
  const overflows = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(JSON.stringify({ before, landedAt, after, state, banner, url: page.url(), overflows }));
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
