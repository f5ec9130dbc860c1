// The packaging check (part of `pnpm test`): what a user gets from npm, tried as a user would, outside the workspace.
//  1. every publishable package is built and packed; each tarball has LICENSE, README, package.json with repository,
//     engines and typed exports, bins with a shebang and the execute bit; `pnpm publish --dry-run` accepts it;
//     publint (strict) and attw (profile esm-only: the packages are ESM-only, see their READMEs) pass on it;
//  2. the tarballs are installed with npm in a clean folder under the OS temp dir (registry packages from npm's cache
//     when it has them), and each kernel package's README example (packages/*/examples/*.mjs, the very file the
//     README shows) runs in Node on the machine's WebGPU adapter and checks itself against a CPU loop;
//  3. the same examples, as .mts, pass a strict `tsc` with Node-only libs (no DOM: WebGPU types come from the
//     packages' own reference to @webgpu/types), and esbuild, Vite and webpack bundle them for the browser with no
//     flags, leaving Dawn (`webgpu`) and node: modules out;
//  4. a folder without the optional `webgpu` peer gets NoAdapterError saying what to install.
// Every README code block in TypeScript/JavaScript must be one of these example files, verbatim (checked first).
//   node tools/pack-check/run.mjs [--keep]   (--keep leaves the temp folder and prints its path)
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = (name) => join(root, 'node_modules', '.bin', name);
const started = Date.now();
const failures = [];
const log = (line) => console.log(`pack-check: ${line}`);
const check = (ok, what, detail = '') => {
  log(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? ` — ${detail}` : ''}`);
  if (!ok) failures.push(what);
};
/** Runs a command, returns { ok, out } with stdout + stderr; never throws. */
const run = (cmd, args, cwd, env = {}) => {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`.trim() };
};
const indent = (s) =>
  s
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
const json = (file) => JSON.parse(readFileSync(file, 'utf8'));

// The kernel packages whose examples run in Node and are bundled for the browser.
const KERNEL_EXAMPLES = [
  'packages/tensor/examples/scale.mjs',
  'packages/rmsnorm-f32/examples/rmsnorm.mjs',
  'packages/qkv-rope/examples/qkv-rope.mjs',
  'packages/matmul/examples/gemm.mjs',
];
// The libraries bundled whole for the browser. weights reads directories only behind '#directory' (node:fs under the
// "node" condition, a refusal elsewhere) and in its ./node entry, which stays out of this list.
const BROWSER_PACKAGES = [
  '@qwen3-webgpu/tensor',
  '@qwen3-webgpu/tensor/testing',
  '@qwen3-webgpu/rmsnorm-f32',
  '@qwen3-webgpu/qkv-rope',
  '@qwen3-webgpu/matmul',
  '@qwen3-webgpu/weights',
  '@qwen3-webgpu/qwen3',
];
// Examples for a page (they use the DOM): bundled for the browser with the kernel examples, not run in Node.
const BROWSER_EXAMPLES = ['packages/qwen3/examples/browser.mjs'];
// Examples that read a Hugging Face directory (argv[2]): run on the demonstration model the generate tarball ships.
const MODEL_EXAMPLES = [
  'packages/weights/examples/load.mjs',
  'packages/qwen3/examples/generate.mjs',
  'packages/qwen3/examples/cpu-forward.mjs',
  'packages/qwen3/examples/webgpu-model.mjs',
];

// 0. README code blocks are the checked-in examples, verbatim.
const readmes = ['README.md', ...['packages', 'apps'].flatMap((d) => readdirSync(join(root, d)).map((p) => `${d}/${p}/README.md`))].filter((f) =>
  existsSync(join(root, f)),
);
const examplesInReadmes = new Set();
for (const readme of readmes) {
  const lines = readFileSync(join(root, readme), 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(ts|js|mjs|mts|typescript|javascript)\s*$/.exec(lines[i]);
    if (!fence) continue;
    const end = lines.indexOf('```', i + 1);
    const body = `${lines.slice(i + 1, end).join('\n')}\n`;
    const marker = /^<!-- example: (\S+) -->$/.exec(lines[i - 1] ?? '');
    const where = `${readme}:${i + 1}`;
    if (!marker) {
      check(false, `${where}: a ${fence[1]} block must be a checked-in example`, 'put `<!-- example: examples/NAME.mjs -->` above it');
    } else {
      const file = join(dirname(readme), marker[1]);
      const same = existsSync(join(root, file)) && readFileSync(join(root, file), 'utf8') === body;
      check(same, `${where} shows ${file} verbatim`);
      examplesInReadmes.add(file);
    }
    i = end;
  }
}
for (const file of [...KERNEL_EXAMPLES, ...MODEL_EXAMPLES, ...BROWSER_EXAMPLES]) check(examplesInReadmes.has(file), `${file} is shown in its README`);

// 1. Build, pack, inspect, lint.
const build = run('pnpm', ['exec', 'turbo', 'run', 'build', '--output-logs=errors-only'], root);
check(build.ok, 'turbo run build', build.ok ? '' : `\n${indent(build.out)}`);
const work = mkdtempSync(join(tmpdir(), 'qwen3-webgpu-pack-check-'));
const tarballs = join(work, 'tarballs');
mkdirSync(tarballs);
const license = readFileSync(join(root, 'LICENSE'), 'utf8');
const packages = ['packages', 'apps']
  .flatMap((d) => readdirSync(join(root, d)).map((p) => join(d, p)))
  .filter((d) => existsSync(join(root, d, 'package.json')) && !json(join(root, d, 'package.json')).private);
const packed = {}; // name → tarball path
for (const dir of packages) {
  const manifest = json(join(root, dir, 'package.json'));
  const name = manifest.name;
  const p = run('pnpm', ['pack', '--pack-destination', tarballs], join(root, dir));
  const tgz = readdirSync(tarballs).find((f) => f.startsWith(name.replace('@', '').replace('/', '-')) && f.endsWith('.tgz'));
  check(p.ok && !!tgz, `${name}: pnpm pack`, p.ok ? tgz : `\n${indent(p.out)}`);
  if (!tgz) continue;
  packed[name] = join(tarballs, tgz);
  const unpacked = join(work, 'unpacked', basename(dir));
  mkdirSync(unpacked, { recursive: true });
  execFileSync('tar', ['xzf', packed[name], '-C', unpacked]);
  const pkg = join(unpacked, 'package');
  const m = json(join(pkg, 'package.json'));
  const problems = [];
  if (!existsSync(join(pkg, 'LICENSE')) || readFileSync(join(pkg, 'LICENSE'), 'utf8') !== license)
    problems.push('LICENSE missing or not the Apache-2.0 text of the repository');
  if (!existsSync(join(pkg, 'README.md'))) problems.push('README.md missing');
  if (m.license !== 'Apache-2.0' || !m.repository?.url || !m.engines?.node) problems.push('license, repository or engines missing');
  if (!m.files?.includes('CHANGELOG.md')) problems.push('CHANGELOG.md not in files');
  if (JSON.stringify(m).includes('workspace:')) problems.push('a workspace: range survived packing');
  for (const [key, target] of Object.entries(m.exports ?? {})) {
    if (key !== './package.json' && (typeof target !== 'object' || !target.types || !target.default)) problems.push(`exports["${key}"] lacks types/default`);
  }
  for (const file of Object.values(m.bin ?? {})) {
    const f = join(pkg, file);
    if (!existsSync(f)) problems.push(`bin ${file} missing`);
    else {
      if (!readFileSync(f, 'utf8').startsWith('#!/usr/bin/env node\n')) problems.push(`bin ${file} has no shebang`);
      if ((statSync(f).mode & 0o111) === 0) problems.push(`bin ${file} is not executable in the tarball`);
    }
  }
  check(problems.length === 0, `${name}: tarball contents and manifest`, problems.join('; '));
  const dry = run('pnpm', ['publish', '--dry-run', '--no-git-checks'], join(root, dir));
  check(dry.ok, `${name}: pnpm publish --dry-run`, dry.ok ? '' : `\n${indent(dry.out)}`);
  const lint = run(bin('publint'), ['run', packed[name], '--strict'], root);
  check(lint.ok, `${name}: publint --strict`, `\n${indent(lint.out)}`);
  if (m.exports && Object.keys(m.exports).some((k) => k !== './package.json')) {
    const attw = run(bin('attw'), [packed[name], '--profile', 'esm-only', '--no-definitely-typed', '--format', 'table', '--no-color', '--no-emoji'], root);
    check(attw.ok, `${name}: attw --profile esm-only`, `\n${indent(attw.out)}`);
  }
}

// 2. Install the tarballs with npm in a clean folder, outside the workspace, and run the examples in Node.
const consumer = join(work, 'consumer');
mkdirSync(consumer);
const fileDeps = Object.fromEntries(Object.entries(packed).map(([name, tgz]) => [name, `file:${tgz}`]));
const rootManifest = json(join(root, 'package.json'));
writeFileSync(
  join(consumer, 'package.json'),
  JSON.stringify(
    {
      name: 'consumer',
      private: true,
      type: 'module',
      dependencies: { ...fileDeps, webgpu: '0.6.2', '@types/node': rootManifest.devDependencies['@types/node'] },
    },
    null,
    2,
  ),
);
const npmArgs = ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];
const install = run('npm', npmArgs, consumer);
check(install.ok, 'npm install of the tarballs in a clean folder', install.ok ? consumer : `\n${indent(install.out)}`);
const demoModel = join(consumer, 'node_modules', '@qwen3-webgpu', 'generate', 'model');
const withoutDawnNoise = (out) =>
  out
    .split('\n')
    .filter((l) => !l.startsWith('Warning: max'))
    .join('\n');
for (const example of [...KERNEL_EXAMPLES, ...MODEL_EXAMPLES]) {
  copyFileSync(join(root, example), join(consumer, basename(example)));
  const args = MODEL_EXAMPLES.includes(example) ? [demoModel] : [];
  const r = run(process.execPath, [basename(example), ...args], consumer);
  check(
    r.ok,
    `node ${basename(example)}${args.length ? ' <demonstration model>' : ''} (${example}) against the installed tarballs`,
    `\n${indent(withoutDawnNoise(r.out))}`,
  );
}
const cli = run(
  join(consumer, 'node_modules', '.bin', 'qwen3-generate'),
  ['--prompt', 'def ', '--max-tokens', '8', '--temperature', '0', '--json', '--quiet'],
  consumer,
);
check(
  cli.ok && /"token_ids"/.test(cli.out),
  'node_modules/.bin/qwen3-generate (the demonstration model, 8 greedy tokens)',
  `\n${indent(cli.out.split('\n').at(-1) ?? '')}`,
);

// 3. Strict TypeScript without lib DOM, and browser bundles with no flags.
const ts = join(consumer, 'ts');
mkdirSync(ts);
for (const example of [...KERNEL_EXAMPLES, ...MODEL_EXAMPLES]) copyFileSync(join(root, example), join(ts, basename(example).replace(/\.mjs$/, '.mts')));
// skipLibCheck on, as `tsc --init` writes it: @webgpu/types itself names a few DOM types (BufferSource, ImageBitmap…)
// that a Node-only lib lacks. A second pass with it off must find errors nowhere else (our .d.ts included).
const tsconfig = (skipLibCheck) => ({
  compilerOptions: {
    strict: true,
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['ES2023'],
    types: ['node'],
    noEmit: true,
    skipLibCheck,
  },
  include: ['*.mts'],
});
writeFileSync(join(ts, 'tsconfig.json'), JSON.stringify(tsconfig(true), null, 2));
const tsc = run(bin('tsc'), ['-p', ts], consumer);
check(tsc.ok, 'strict tsc of the examples as .mts (lib ES2023 + @types/node, no DOM)', tsc.ok ? '' : `\n${indent(tsc.out)}`);
writeFileSync(join(ts, 'tsconfig.libcheck.json'), JSON.stringify(tsconfig(false), null, 2));
const libErrors = run(bin('tsc'), ['-p', join(ts, 'tsconfig.libcheck.json')], consumer)
  .out.split('\n')
  .filter((l) => l !== '');
const elsewhere = libErrors.filter((l) => !/^node_modules\/@webgpu\/types\/\S+: error TS/.test(l));
check(
  elsewhere.length === 0,
  'the same with skipLibCheck off: errors only inside @webgpu/types (its DOM names)',
  `${libErrors.length - elsewhere.length} there${elsewhere.length ? `\n${indent(elsewhere.join('\n'))}` : ''}`,
);

const browserChecks = (tool, files) => {
  const code = files.map((f) => readFileSync(f, 'utf8')).join('\n');
  const problems = [];
  if (/import\(\s*["']webgpu["']\s*\)|from\s*["']webgpu["']/.test(code)) problems.push('Dawn (webgpu) is imported');
  if (/["']node:/.test(code)) problems.push('a node: module is imported');
  if (code.includes('npm install webgpu')) problems.push("tensor's Node branch (#platform → platform-node) was bundled");
  if (!code.includes('navigator.gpu is missing')) problems.push("tensor's browser branch (#platform → platform-browser) is absent");
  check(
    problems.length === 0,
    `${tool}: browser bundles of the kernel examples and of ${BROWSER_PACKAGES.join(', ')}, no flags`,
    problems.join('; ') || files.map((f) => relative(work, f)).join(' '),
  );
};
// Besides the examples, one entry per library keeps its whole public surface (the namespace escapes to globalThis, so
// no bundler can tree-shake any of it away), so nothing it exports can pull in Node-only code unnoticed.
const browserEntries = BROWSER_PACKAGES.map((name) => {
  const slug = name.slice('@qwen3-webgpu/'.length).replaceAll('/', '-');
  const file = join(consumer, `all-of-${slug}.mjs`);
  writeFileSync(file, `import * as all from '${name}';\nglobalThis['${name}'] = all;\n`);
  return file;
});
for (const example of BROWSER_EXAMPLES) copyFileSync(join(root, example), join(consumer, basename(example)));
const entries = [...[...KERNEL_EXAMPLES, ...BROWSER_EXAMPLES].map((e) => join(consumer, basename(e))), ...browserEntries];
const listFiles = (dir) =>
  readdirSync(dir, { recursive: true })
    .map((f) => join(dir, f))
    .filter((f) => f.endsWith('.js'));
try {
  const esbuild = await import('esbuild');
  await esbuild.build({
    entryPoints: entries,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    outdir: join(work, 'esbuild'),
    absWorkingDir: consumer,
    logLevel: 'error',
  });
  browserChecks('esbuild', listFiles(join(work, 'esbuild')));
} catch (err) {
  check(false, 'esbuild: browser bundles of the examples, no flags', err.message);
}
try {
  const { build } = await import('vite');
  const site = join(consumer, 'site');
  mkdirSync(site);
  const scripts = entries.map((e) => `<script type="module" src="../${basename(e)}"></script>`).join('\n');
  writeFileSync(join(site, 'index.html'), `<!doctype html>\n<title>pack-check</title>\n${scripts}\n`);
  await build({
    root: site,
    configFile: false,
    logLevel: 'error',
    build: { outDir: join(work, 'vite'), emptyOutDir: true },
    server: { fs: { allow: [consumer] } },
  });
  browserChecks('vite build', listFiles(join(work, 'vite')));
} catch (err) {
  check(false, 'vite build: browser bundles of the examples, no flags', err.message);
}
try {
  const { default: webpack } = await import('webpack');
  const entry = Object.fromEntries(entries.map((e) => [basename(e, '.mjs'), e]));
  const stats = await new Promise((resolve, reject) =>
    webpack({ mode: 'production', context: consumer, entry, output: { path: join(work, 'webpack') } }, (err, s) => (err ? reject(err) : resolve(s))),
  );
  if (stats.hasErrors()) throw new Error(stats.toString({ all: false, errors: true }));
  browserChecks('webpack', listFiles(join(work, 'webpack')));
} catch (err) {
  check(false, 'webpack: browser bundles of the examples, no flags', err.message);
}

// 4. Without the optional peer `webgpu`, Node says what to install.
const bare = join(work, 'no-dawn');
mkdirSync(bare);
writeFileSync(
  join(bare, 'package.json'),
  JSON.stringify({ name: 'no-dawn', private: true, type: 'module', dependencies: { '@qwen3-webgpu/tensor': fileDeps['@qwen3-webgpu/tensor'] } }),
);
const bareInstall = run('npm', npmArgs, bare);
writeFileSync(
  join(bare, 'probe.mjs'),
  "import { createGpuContext } from '@qwen3-webgpu/tensor';\nawait createGpuContext().catch((e) => { console.log(`${e.name}: ${e.message}`); });\n",
);
const probe = run(process.execPath, ['probe.mjs'], bare);
check(
  bareInstall.ok && !existsSync(join(bare, 'node_modules', 'webgpu')) && /^NoAdapterError: .*npm install webgpu@/.test(probe.out),
  'without the optional peer webgpu: NoAdapterError naming it',
  `\n${indent(probe.out || bareInstall.out)}`,
);

if (process.argv.includes('--keep')) log(`kept ${work}`);
else rmSync(work, { recursive: true, force: true });
log(`${failures.length === 0 ? 'PASS' : `FAIL (${failures.length}): ${failures.join(', ')}`} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
process.exitCode = failures.length === 0 ? 0 : 1;
