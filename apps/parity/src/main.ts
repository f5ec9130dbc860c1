#!/usr/bin/env node
// qwen3-parity: our Qwen3 against HF transformers' float32 forward (a golden from tools/reference/hf_golden.py), layer
// by layer, or the WebGPU backend against the float64 CPU backend (--compare-backends).
import type { CpuModelFault } from '@qwen3-webgpu/qwen3';
import { openCheckpoint } from '@qwen3-webgpu/weights';
import { runCommand, UsageError } from '@qwen3-webgpu/cli-kit/errors';
import { idsFlag, numberFlag, parseFlags, requireDirectory } from '@qwen3-webgpu/cli-kit/flags';
import { compareRuns, compareToGolden, type ParityReport } from './compare.ts';
import { checkContext, checkGoldenFits, readGolden } from './golden.ts';
import { runModel, type Backend } from './run-model.ts';
import { formatReport } from './table.ts';

const HELP = `Usage: qwen3-parity --model DIR --golden FILE [--backend webgpu|cpu] [--json]
       qwen3-parity --model DIR --compare-backends [--golden FILE | --prompt-ids 1,2,3] [--json]

Checks our Qwen3 against HF transformers' float32 forward over the same weights (the golden, from
tools/reference/hf_golden.py): each decoder layer's output at the last prompt position (rms and first 8 values),
the top-20 logits there, and the greedy continuation. A greedy divergence right after a step whose reference
top-2 margin is below 1e-3 is a near-tie, not a failure.

  --model DIR            HF-layout Qwen3 directory
  --golden FILE          golden JSON (prompt_ids, greedy_ids, greedy_margins, last_logits_top, layers, …)
  --backend webgpu|cpu   which backend is checked (default webgpu)
  --compare-backends     webgpu against the float64 CPU backend: every layer, all logits, greedy ids
  --prompt-ids 1,2,3     prompt for --compare-backends without a golden (default: 8 ids spread over the vocabulary)
  --tokens N             greedy steps to check (default: all the golden has; 8 with --compare-backends)
  --tolerance X          relative error bound for hidden states and logits (default 1e-4)
  --fault KIND           a deliberately wrong CPU model, to see parity fail: k-norm-sign, interleaved-rope, no-qk-norm
  --fault-layer L        the layer the fault starts at (default 0)
  --json                 the report as one JSON object on stdout
  --debug                stack traces on errors

Exit codes: 0 within bounds; 1 out of bounds (the table says where; non-finite values fail too) or a runtime error
(checkpoint, GPU); 2 usage error (flags, a golden that is malformed or not this model's, a prompt that does not fit
the context or the vocabulary), found before any weight is loaded.`;

const FAULTS = ['k-norm-sign', 'interleaved-rope', 'no-qk-norm'] as const;

interface Options {
  model: string;
  golden?: string;
  backend: Backend;
  compareBackends: boolean;
  promptIds?: number[];
  tokens?: number;
  tolerance: number;
  fault?: CpuModelFault;
  json: boolean;
  debug: boolean;
  help: boolean;
}

function parse(argv: string[]): Options {
  const { values: v, positionals } = parseFlags(argv, {
    model: { type: 'string' },
    golden: { type: 'string' },
    backend: { type: 'string', default: 'webgpu' },
    'compare-backends': { type: 'boolean', default: false },
    'prompt-ids': { type: 'string' },
    tokens: { type: 'string' },
    tolerance: { type: 'string', default: '1e-4' },
    fault: { type: 'string' },
    'fault-layer': { type: 'string', default: '0' },
    json: { type: 'boolean', default: false },
    debug: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}' (see --help)`);
  const opts = { help: v.help === true, debug: v.debug === true, json: v.json === true, compareBackends: v['compare-backends'] === true } as Options;
  if (opts.help) return opts;
  if (typeof v.model !== 'string') throw new UsageError('--model DIR is required (see --help)');
  requireDirectory(`--model ${v.model}`, v.model);
  opts.model = v.model;
  if (typeof v.golden === 'string') opts.golden = v.golden;
  if (!opts.golden && !opts.compareBackends) throw new UsageError('--golden FILE is required (or --compare-backends)');
  if (v.backend !== 'webgpu' && v.backend !== 'cpu') throw new UsageError(`--backend must be webgpu or cpu, got '${v.backend}'`);
  opts.backend = v.backend;
  const tokens = numberFlag('tokens', v.tokens as string | undefined, 'an integer ≥ 0', (n) => n >= 0, true);
  if (tokens !== undefined) opts.tokens = tokens;
  opts.tolerance = numberFlag('tolerance', v.tolerance as string, 'a positive number', (x) => x > 0)!;
  const promptIds = idsFlag('prompt-ids', v['prompt-ids'] as string | undefined);
  if (promptIds) opts.promptIds = promptIds;
  if (typeof v.fault === 'string') {
    if (!(FAULTS as readonly string[]).includes(v.fault)) throw new UsageError(`--fault must be one of ${FAULTS.join(', ')}, got '${v.fault}'`);
    opts.fault = {
      kind: v.fault as CpuModelFault['kind'],
      fromLayer: numberFlag('fault-layer', v['fault-layer'] as string, 'an integer ≥ 0', (n) => n >= 0, true)!,
    };
  }
  return opts;
}

async function main(opts: Options): Promise<void> {
  if (opts.help) return void process.stdout.write(`${HELP}\n`);
  const golden = opts.golden ? readGolden(opts.golden) : undefined;
  const checkpoint = await openCheckpoint(opts.model);
  const config = checkpoint.config;
  for (const w of checkpoint.warnings) process.stderr.write(`qwen3-parity: warning: ${w}\n`);
  let report: ParityReport;
  if (opts.compareBackends) {
    const prompt = golden?.prompt_ids ?? opts.promptIds ?? defaultPrompt(config.vocabSize);
    const tokens = opts.tokens ?? 8;
    if (golden) checkGoldenFits(golden, opts.golden!, config, tokens);
    else checkContext(prompt.length, tokens, config);
    const cpu = await runModel(opts.model, 'cpu', prompt, tokens, opts.fault);
    const gpu = await runModel(opts.model, 'webgpu', prompt, tokens);
    report = compareRuns(cpu, gpu, opts.model, opts.tolerance);
  } else {
    const g = golden!;
    const tokens = Math.min(opts.tokens ?? g.greedy_ids.length, g.greedy_ids.length);
    checkGoldenFits(g, opts.golden!, config, tokens);
    const run = await runModel(opts.model, opts.backend, g.prompt_ids, tokens, opts.fault);
    report = compareToGolden(run, g, opts.tolerance, tokens);
  }
  process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : `${formatReport(report)}\n`);
  if (!report.pass) process.exitCode = 1;
}

/** Eight ids spread over the vocabulary (for --compare-backends without a prompt). */
function defaultPrompt(vocab: number): number[] {
  return Array.from({ length: 8 }, (_, i) => (i * 7919 + 13) % vocab);
}

let opts: Options | undefined;
await runCommand(
  'qwen3-parity',
  async () => main((opts = parse(process.argv.slice(2)))),
  () => opts?.debug === true,
);
