import { config } from '../../tools/tsdown.shared.mjs';

export default config({ entry: ['src/index.ts'] });
