// `pnpm generate …` / `pnpm parity …`: builds the app quietly, then runs it so that an error is one line on stderr.
//
// - The build is turbo's (cached: it rebuilds only what changed); its banner and logs are shown only when it fails.
// - Dawn, the native WebGPU library, writes its own warnings straight to file descriptor 2 ("Warning: max…
//   artificially reduced" on lavapipe; Vulkan loader warnings and an "at CheckVkSuccessImpl (…)" frame when there is
//   no driver). Node cannot filter what native code writes to its own stderr, so the app runs as a child whose stderr
//   passes through a filter that drops those lines and nothing else. With --debug, nothing is filtered.
// - `pnpm generate` reaches this file through tools/cli's bins, not a script, so pnpm adds no `$ cmd` echo and no
//   `[ELIFECYCLE]` line of its own.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const APPS = { generate: '@qwen3-webgpu/generate', parity: '@qwen3-webgpu/parity' };
const [app, ...args] = process.argv.slice(2);
if (!(app in APPS)) {
  process.stderr.write(`run-cli: the first argument must be one of ${Object.keys(APPS).join(', ')}, got '${app}'\n`);
  process.exit(2);
}
const root = fileURLToPath(new URL('..', import.meta.url));
const turbo = fileURLToPath(new URL('../node_modules/turbo/bin/turbo', import.meta.url));

// QWEN3_RUN_CLI_NO_BUILD=1: the caller has just built (the CLI's own tests, which run many cases in a row).
const build =
  process.env.QWEN3_RUN_CLI_NO_BUILD === '1'
    ? { status: 0 }
    : spawnSync(process.execPath, [turbo, 'run', 'build', `--filter=${APPS[app]}...`, '--output-logs=errors-only'], { cwd: root, encoding: 'utf8' });
if (build.status !== 0) {
  process.stderr.write(`${build.stdout ?? ''}${build.stderr ?? ''}${build.error ? `${build.error.message}\n` : ''}`);
  process.stderr.write(`run-cli: building ${APPS[app]} failed (output above)\n`);
  process.exit(build.status || 1);
}

/** Lines Dawn (and the Vulkan loader through it) print on their own: "Warning: …" and native stack frames. */
const NATIVE_NOISE = /^(Warning: |\s+at \S+ \(.*\/dawn\/src\/.*\)$)/;

const debug = args.includes('--debug');
const child = spawn(process.execPath, [fileURLToPath(new URL(`../apps/${app}/dist/main.mjs`, import.meta.url)), ...args], {
  stdio: ['inherit', 'inherit', 'pipe'],
  // The app's stderr is a pipe now; tell it whether ours is a terminal (its progress bar draws only there).
  env: { ...process.env, QWEN3_STDERR_IS_TTY: process.stderr.isTTY ? '1' : '0' },
});
// Ctrl-C reaches the app directly (same process group): wait for it to finish its line and exit.
process.on('SIGINT', () => {});
let pending = '';
let afterNoise = false;
const couldBeNoise = (p) => !debug && ('Warning: '.startsWith(p) || p.startsWith('Warning: ') || /^\s+(a|at|at .*)?$/.test(p));
child.stderr.on('data', (chunk) => {
  pending += chunk.toString('utf8');
  const lines = pending.split('\n');
  pending = lines.pop();
  const keep = [];
  for (const l of lines) {
    // Dawn ends a multi-line message (warning, native frame) with an empty line: it goes with the message.
    const noise = !debug && (NATIVE_NOISE.test(l) || (l === '' && afterNoise));
    if (!noise) keep.push(l);
    afterNoise = noise;
  }
  if (keep.length) process.stderr.write(`${keep.join('\n')}\n`);
  // A partial line that cannot become noise (a progress bar redrawn with \r) goes out at once.
  if (pending && !couldBeNoise(pending)) {
    process.stderr.write(pending);
    pending = '';
  }
});
child.on('close', (code, signal) => {
  if (pending && (debug || !NATIVE_NOISE.test(pending))) process.stderr.write(pending);
  if (signal) {
    process.removeAllListeners('SIGINT');
    process.kill(process.pid, signal);
  } else process.exit(code ?? 1);
});
