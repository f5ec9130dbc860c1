// Run before the test suites: makes sure a WebGPU adapter exists, installing software Vulkan (Mesa lavapipe)
// through tools/setup-software-vulkan.sh when there is none (Linux, root or sudo). Prints the adapter's name.
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const probe = `
import('webgpu').then(async ({ create, globals }) => {
  Object.assign(globalThis, globals);
  const gpu = create([]);
  const adapter = await gpu.requestAdapter();
  globalThis.keep = gpu;
  if (!adapter) { console.log('none'); process.exit(0); }
  console.log(adapter.info.description || adapter.info.device || adapter.info.vendor);
  process.exit(0);
}).catch((e) => { console.log('none: ' + e.message); process.exit(0); });`;

function findAdapter() {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe], {
    encoding: 'utf8',
    cwd: fileURLToPath(new URL('../packages/tensor', import.meta.url)),
  });
  const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  return line && !line.startsWith('none') ? line : null;
}

let adapter = findAdapter();
if (!adapter) {
  const script = fileURLToPath(new URL('./setup-software-vulkan.sh', import.meta.url));
  if (process.platform !== 'linux') {
    console.error('ensure-adapter: no WebGPU adapter found, and automatic set-up only exists for Linux (software Vulkan).');
    process.exit(1);
  }
  console.log(`ensure-adapter: no WebGPU adapter found; installing software Vulkan with ${script}`);
  try {
    execFileSync('bash', [script], { stdio: 'inherit' });
  } catch {
    console.error('ensure-adapter: the set-up script failed; GPU tests need an adapter (see README: Requirements).');
    process.exit(1);
  }
  adapter = findAdapter();
  if (!adapter) {
    console.error('ensure-adapter: still no WebGPU adapter after installing lavapipe; GPU tests cannot run.');
    process.exit(1);
  }
}
console.log(`ensure-adapter: GPU tests run on: ${adapter}`);
