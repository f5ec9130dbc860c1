import { config } from '../../tools/tsdown.shared.mjs';

export default config({ entry: ['src/main.ts'], dts: false, platform: 'node', bundleWorkspace: true });
