import { config } from '../../tools/tsdown.shared.mjs';

// '#directory' stays an import (package.json "imports" picks node:fs in Node, a refusal in browsers), so both of its
// variants are entries of their own.
export default config({ entry: ['src/index.ts', 'src/node/index.ts', 'src/node/directory.ts', 'src/sources/no-directory.ts'] });
