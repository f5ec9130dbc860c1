// Each kernel package as a user gets it: packed (`pnpm pack`, publishConfig applied), unpacked into a clean
// node_modules outside the workspace, bundled for the browser by Vite with no flags, and run in headless Chromium
// (WebGPU through SwiftShader when there is no GPU) against its float64 reference in the page. The weights package
// goes the same way and streams the demonstration model from a URL into GPU buffers.
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, launchChromium, openPage } from './browser.ts';
import type { PageResult } from './kernel-pages/report.ts';

const PACKAGES = fileURLToPath(new URL('../../../packages/', import.meta.url));
const PAGES = fileURLToPath(new URL('./kernel-pages/', import.meta.url));
const KERNELS = ['tensor', 'rmsnorm-f32', 'qkv-rope'] as const;
const PAGES_OF = [...KERNELS, 'weights'] as const;
const DEMO_MODEL = fileURLToPath(new URL('../../generate/model/', import.meta.url));

let root: string;
let server: PreviewServer;
let browser: Browser;
let base: string;

/** `pnpm pack` of a workspace package (its dist must be built: turbo builds dependencies before this test). */
function packInto(name: string, tarballs: string): string {
  const dir = join(PACKAGES, name);
  if (!existsSync(join(dir, 'dist', 'index.js'))) throw new Error(`${dir}/dist is not built: run \`pnpm build\` (turbo builds it before \`pnpm test\`)`);
  const before = new Set(readdirSync(tarballs));
  execFileSync('pnpm', ['pack', '--pack-destination', tarballs], { cwd: dir, stdio: 'pipe' });
  const made = readdirSync(tarballs).filter((f) => !before.has(f));
  if (made.length !== 1) throw new Error(`pnpm pack in ${dir} made ${made.length} tarballs`);
  return join(tarballs, made[0]!);
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'qwen3-browser-kernels-'));
  const tarballs = join(root, 'tarballs');
  mkdirSync(tarballs);
  const app = join(root, 'app');
  for (const name of PAGES_OF) {
    const into = join(app, 'node_modules', '@qwen3-webgpu', name);
    mkdirSync(into, { recursive: true });
    execFileSync('tar', ['-xzf', packInto(name, tarballs), '-C', into, '--strip-components=1']);
  }
  // The weights package's one dependency, zod, comes from the workspace's store (no registry in a test).
  const zod = dirname(createRequire(join(PACKAGES, 'weights', 'package.json')).resolve('zod/package.json'));
  cpSync(zod, join(app, 'node_modules', 'zod'), { recursive: true, dereference: true });
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'kernel-pages', private: true, type: 'module' }));
  copyFileSync(join(PAGES, 'report.ts'), join(app, 'report.ts'));
  // One page, one bundle per kernel package: each must bundle on its own.
  for (const name of PAGES_OF) {
    copyFileSync(join(PAGES, `${name}.ts`), join(app, `${name}.ts`));
    const html = join(app, `${name}.html`);
    writeFileSync(html, `<!doctype html><meta charset="utf-8"><title>${name}</title><body>running…<script type="module" src="./${name}.ts"></script></body>`);
    await build({
      root: app,
      configFile: false,
      logLevel: 'warn',
      base: './',
      build: { outDir: join(app, 'dist', name), emptyOutDir: true, rollupOptions: { input: html } },
    });
  }
  cpSync(DEMO_MODEL, join(app, 'dist', 'weights', 'model'), { recursive: true });
  server = await preview({
    root: app,
    configFile: false,
    logLevel: 'warn',
    appType: 'mpa',
    build: { outDir: join(app, 'dist') },
    preview: { host: '127.0.0.1', port: 20000 + Math.floor(Math.random() * 20000) },
  });
  base = server.resolvedUrls!.local[0]!;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('packages from their tarballs, bundled by Vite, in headless Chromium', () => {
  for (const name of PAGES_OF) {
    it(
      name === 'weights'
        ? 'weights streams a checkpoint from a URL into GPU buffers byte for byte, with its Node error messages'
        : `${name} matches its float64 reference in the page`,
      async () => {
        const page = await openPage(browser, name);
        await page.goto(`${base}${name}/${name}.html`);
        await page.waitForFunction(() => (window as unknown as { __result?: unknown }).__result !== undefined, null, { timeout: 180_000 });
        const result = (await page.evaluate(() => (window as unknown as { __result: unknown }).__result)) as PageResult;
        await page.screenshot({ path: join(ARTIFACTS, `kernel-${name}.png`), fullPage: true });
        await page.close();
        console.log(
          `${name} in Chromium on ${result.adapter} (seed ${result.seed}):\n${result.checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: rel L2 ${c.relL2.toExponential(2)}, max err ${c.maxAbsError.toExponential(2)} of max |ref| ${c.maxAbsRef.toExponential(2)}`).join('\n')}`,
        );
        expect(result.error, `${name} page threw`).toBeUndefined();
        expect(result.checks.length).toBeGreaterThan(0);
        for (const c of result.checks) expect(c.ok, `${name}: ${c.name} (seed ${result.seed}): ${JSON.stringify(c)}`).toBe(true);
      },
    );
  }
});
