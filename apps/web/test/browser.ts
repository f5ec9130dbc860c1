// Headless Chromium for the browser tests: Debian's /usr/bin/chromium (installed by .ci/run with apt, never
// downloaded), driven by playwright-core, with WebGPU on (SwiftShader when there is no GPU; DESIGN.md §4).
// A missing browser fails the tests, naming what to install.
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.QWEN3_CHROMIUM ?? '/usr/bin/chromium';

/** Screenshots of the browser tests: CI keeps this folder as an artifact (README, "Browser tests"). */
export const ARTIFACTS = fileURLToPath(new URL('../../../artifacts/browser/', import.meta.url));

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} not found: the browser tests need Debian's chromium (apt-get install -y chromium, as .ci/run does), or QWEN3_CHROMIUM=/path/to/chromium`,
    );
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--enable-unsafe-webgpu', '--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A page that forwards the browser's console and errors to the test log (a failure in the page is then visible). */
export async function openPage(browser: Browser, label: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  page.on('console', (m) => console.log(`[${label} console.${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => console.log(`[${label} pageerror] ${e.message}`));
  return page;
}
