// Shared setup for the browser tests: launches Debian's Chromium through playwright-core
// (no browser download) against the page `cargo xtask test` serves.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BASE_URL = process.env.RDPFIX_URL ?? 'http://127.0.0.1:8080/';
export const ARTIFACTS = process.env.RDPFIX_ARTIFACTS ?? join(tmpdir(), 'rdpfix-artifacts');
mkdirSync(ARTIFACTS, { recursive: true });

/**
 * Starts a fresh headless Chromium (playwright gives it a new empty profile) with no
 * network chatter of its own.
 */
export async function launch() {
  return chromium.launch({
    executablePath: process.env.RDPFIX_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * Opens the page and collects what went wrong in it: uncaught errors, console errors and
 * CSP violations, so a test can assert there were none.
 */
export async function openPage(browser, path = '') {
  const page = await browser.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  await page.goto(new URL(path, BASE_URL).href);
  return { page, problems };
}
