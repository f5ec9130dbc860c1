// Greedy continuation of three token ids, on WebGPU or the CPU:  node generate.mjs ~/models/Qwen3-0.6B [cpu]
import { generate, loadCausalLM } from '@qwen3-webgpu/qwen3';

const [dir = '.', backend = 'webgpu'] = process.argv.slice(2);
const lm = await loadCausalLM(dir, { backend: backend === 'cpu' ? 'cpu' : 'webgpu', maxContext: 256 });
const ids = [];
for await (const id of generate(lm, [785, 6722, 374], { temperature: 0, maxTokens: 16, stopIds: lm.stopIds })) ids.push(id);
console.log(`${lm.backend}: ${ids.join(' ')}`);
lm.destroy();
