// Headless Debian chromium driven by playwright-core (no browser download).

import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { repoRoot } from './irene-server.mjs';

export const screenshotDir = path.join(repoRoot, 'build', 'screenshots');

export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

// A laptop-sized page that fails the test on any uncaught script error.
export async function openPage(browser, baseUrl) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true, baseURL: baseUrl });
  const page = await context.newPage();
  page.setDefaultTimeout(60_000);
  page.scriptErrors = [];
  page.on('pageerror', (error) => page.scriptErrors.push(error.message));
  return page;
}

export async function screenshot(page, name) {
  fs.mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: path.join(screenshotDir, `${name}.png`) });
}
