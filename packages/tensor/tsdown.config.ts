import { config } from '../../tools/tsdown.shared.mjs';

export default config({ entry: ['src/index.ts', 'src/testing.ts', 'src/platform-node.ts', 'src/platform-browser.ts'] });
