// The web app as `pnpm web` serves it (vite build + vite preview on 127.0.0.1), in headless Chromium: it loads the
// demonstration model over HTTP (Range requests) and its greedy ids equal the Node WebGPU backend's for the same
// prompt; a folder picked with the file input gives the same; without WebGPU the page says so.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePrompt, generate, loadCausalLM, loadTokenizer } from '@qwen3-webgpu/qwen3';
import { ARTIFACTS, launchChromium, openPage } from './browser.ts';

const WEB = fileURLToPath(new URL('..', import.meta.url));
const DEMO_MODEL = fileURLToPath(new URL('../../generate/model/', import.meta.url));
const PROMPT = 'import os\n\ndef read_lines(path):';
// SwiftShader decodes a few tokens per second: enough tokens to compare, few enough to stay quick.
const TOKENS = 10;

let server: PreviewServer;
let browser: Browser;
let url: string;
let node: { promptIds: number[]; ids: number[] };

/** Greedy ids of the Node backend (Dawn: lavapipe here, a GPU elsewhere) for the same prompt and model files. */
async function nodeGreedy(maxTokens: number) {
  const tokenizer = await loadTokenizer(DEMO_MODEL);
  const promptIds = encodePrompt(tokenizer, PROMPT);
  const lm = await loadCausalLM(DEMO_MODEL, { backend: 'webgpu' });
  try {
    const ids: number[] = [];
    for await (const id of generate(lm, promptIds, { temperature: 0, maxTokens, stopIds: lm.stopIds })) ids.push(id);
    return { promptIds, ids };
  } finally {
    lm.destroy();
  }
}

const stateOf = (page: Page) => page.evaluate(() => document.body.dataset.state);
const waitState = (page: Page, states: string[], timeout: number) =>
  page.waitForFunction((s) => s.includes(document.body.dataset.state ?? ''), states, { timeout });

/** Fills the form for a greedy run, clicks Generate, waits, and returns what the page shows. */
async function greedyRun(page: Page, maxTokens: number) {
  await page.fill('#prompt', PROMPT);
  await page.fill('#temperature', '0');
  await page.fill('#max-tokens', String(maxTokens));
  await page.fill('#seed', '1');
  await page.click('#run');
  await waitState(page, ['done', 'run-error'], 300_000);
  expect(await page.textContent('#run-error')).toBe('');
  return {
    promptIds: JSON.parse((await page.getAttribute('#output', 'data-prompt-ids')) ?? 'null') as number[],
    ids: JSON.parse((await page.getAttribute('#output', 'data-ids')) ?? 'null') as number[],
    text: (await page.textContent('#output')) ?? '',
    speed: (await page.textContent('#speed')) ?? '',
  };
}

beforeAll(async () => {
  node = await nodeGreedy(TOKENS);
  await build({ root: WEB, logLevel: 'warn' });
  server = await preview({ root: WEB, logLevel: 'warn', preview: { host: '127.0.0.1', port: 20000 + Math.floor(Math.random() * 20000) } });
  url = server.resolvedUrls!.local[0]!;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('apps/web in headless Chromium', () => {
  it('loads the demonstration model over HTTP and writes the Node backend’s greedy ids', async () => {
    const page = await openPage(browser, 'web');
    const ranges: string[] = [];
    page.on('request', (r) => {
      if (r.url().endsWith('model.safetensors')) ranges.push(r.headers().range ?? 'none');
    });
    await page.goto(url);
    await waitState(page, ['ready', 'load-error', 'no-webgpu'], 120_000);
    expect(await page.textContent('#load-error')).toBe('');
    expect(await stateOf(page)).toBe('ready');
    expect(await page.getAttribute('#progress', 'value')).toBe('1');
    // Header, then tensors streamed in pieces: every request for the weights is a Range request.
    expect(ranges.length).toBeGreaterThan(2);
    expect(ranges.every((r) => r.startsWith('bytes='))).toBe(true);
    const web = await greedyRun(page, TOKENS);
    await page.screenshot({ path: join(ARTIFACTS, 'web-app.png'), fullPage: true });
    console.log(`web app: ${web.speed}\n  page ids ${JSON.stringify(web.ids)}\n  node ids ${JSON.stringify(node.ids)}\n  text ${JSON.stringify(web.text)}`);
    expect(web.promptIds).toEqual(node.promptIds);
    expect(node.ids.length).toBe(TOKENS);
    expect(web.ids).toEqual(node.ids);
    expect(web.text.startsWith(PROMPT)).toBe(true);
    expect(web.text.length).toBeGreaterThan(PROMPT.length);
    expect(web.speed).toMatch(/tok\/s decode/);
    await page.close();
  });

  it('loads a folder picked with the file input (File objects) and generates the same ids', async () => {
    const page = await openPage(browser, 'web-folder');
    await page.goto(`${url}?model=none`);
    await waitState(page, ['ready'], 30_000);
    expect(readdirSync(DEMO_MODEL)).toContain('model.safetensors');
    await page.setInputFiles('#pick-folder', DEMO_MODEL);
    // The page was already 'ready' (nothing loaded): wait for this load's outcome, the model line or an error.
    await page.waitForFunction(
      () => /^model:/.test(document.getElementById('model-info')?.textContent ?? '') || document.body.dataset.state === 'load-error',
      null,
      { timeout: 120_000 },
    );
    expect(await page.textContent('#load-error')).toBe('');
    expect(await page.textContent('#model-info')).toMatch(/^model: 6 layers/);
    const web = await greedyRun(page, 4);
    expect(web.ids).toEqual(node.ids.slice(0, 4));
    await page.close();
  });

  it('says clearly that the browser has no WebGPU', async () => {
    const page = await openPage(browser, 'web-no-webgpu');
    await page.addInitScript(() => {
      Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined });
    });
    await page.goto(url);
    await waitState(page, ['no-webgpu'], 30_000);
    const message = await page.textContent('#no-webgpu');
    expect(await page.isVisible('#no-webgpu')).toBe(true);
    expect(message).toMatch(/^This browser has no WebGPU/);
    expect(await page.isDisabled('#run')).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'web-no-webgpu.png') });
    await page.close();
  });
});
