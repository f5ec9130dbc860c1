// Flags of qwen3-generate (a contract: other tools and tests call it). Parsing and validation only; no I/O.
import { UsageError } from '@qwen3-webgpu/cli-kit/errors';
import { idsFlag, numberFlag, parseFlags } from '@qwen3-webgpu/cli-kit/flags';

export interface CliOptions {
  model?: string;
  prompt?: string;
  promptIds?: number[];
  chat: boolean;
  system?: string;
  noThink: boolean;
  maxTokens: number;
  /** Sampling flags given on the command line; the rest come from generation_config.json, else greedy. */
  sampling: { temperature?: number; topK?: number; topP?: number; minP?: number; repetitionPenalty?: number; presencePenalty?: number };
  seed?: number;
  maxContext?: number;
  /** Undefined: webgpu, falling back to cpu with a notice when there is no adapter. */
  backend?: 'webgpu' | 'cpu';
  json: boolean;
  quiet: boolean;
  debug: boolean;
  help: boolean;
  version: boolean;
}

export const HELP = `Usage: qwen3-generate [--model DIR] (--prompt TEXT | --prompt-ids 1,2,3 | text on stdin | --chat) [flags]

Runs a Qwen3 checkpoint (a Hugging Face model directory) on WebGPU, or on the CPU, and streams the continuation.

Input
  --model DIR              HF-layout directory: config.json, *.safetensors, tokenizer.json, tokenizer_config.json
                           (default: the embedded demonstration model)
  --prompt TEXT            text to continue (or to answer, with --chat)
  --prompt-ids 1,2,3       token ids instead of text (no tokenizer needed to read them)
  --chat                   wrap the prompt in the model's chat template; with no prompt on a terminal, an
                           interactive chat (history kept; /exit or Ctrl-C leaves)
  --system TEXT            system message (with --chat)
  --no-think               Qwen3's thinking switch off (enable_thinking=false in the template; with --chat)
Generation
  --max-tokens N           tokens to generate at most (default 256)
  --temperature T          0 = greedy; default from generation_config.json, else 0
  --top-k K                keep the K most likely tokens (0 = off)
  --top-p P                nucleus sampling, P in (0, 1]
  --min-p P                drop tokens below P x the top probability, P in [0, 1)
  --repetition-penalty R   > 0; 1 = off
  --presence-penalty X     subtracted from the logits of tokens already seen
  --seed N                 seed of the sampler, 0 … 4294967295 (same seed, same backend: same text)
  --max-context N          KV-cache positions (default min(4096, the model's max_position_embeddings))
  --backend webgpu|cpu     default webgpu; without a WebGPU adapter, cpu with a notice
Output
  --json                   one JSON object on stdout's last line: prompt_ids, token_ids, text, finish_reason, stats
  --quiet                  no progress bar, notices or stats on stderr
  --debug                  stack traces on errors
  --help, --version

Exit codes: 0 done, 2 usage error (flags, prompt, model path), 1 runtime error (checkpoint, GPU).`;

const FLAGS = {
  model: { type: 'string' },
  prompt: { type: 'string' },
  'prompt-ids': { type: 'string' },
  chat: { type: 'boolean', default: false },
  system: { type: 'string' },
  'no-think': { type: 'boolean', default: false },
  'max-tokens': { type: 'string' },
  temperature: { type: 'string' },
  'top-k': { type: 'string' },
  'top-p': { type: 'string' },
  'min-p': { type: 'string' },
  'repetition-penalty': { type: 'string' },
  'presence-penalty': { type: 'string' },
  seed: { type: 'string' },
  'max-context': { type: 'string' },
  backend: { type: 'string' },
  json: { type: 'boolean', default: false },
  quiet: { type: 'boolean', default: false },
  debug: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  version: { type: 'boolean', default: false },
} as const;

export function parseCli(argv: readonly string[]): CliOptions {
  const { values, positionals } = parseFlags(argv, FLAGS);
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}': text goes after --prompt (see --help)`);
  const str = (k: string) => values[k] as string | undefined;
  const promptIds = idsFlag('prompt-ids', str('prompt-ids'));
  if (str('prompt') !== undefined && promptIds) throw new UsageError('give either --prompt or --prompt-ids, not both');
  const chat = values.chat === true;
  if (chat && promptIds) throw new UsageError('--chat renders text through the chat template: use --prompt, not --prompt-ids');
  if (!chat && str('system') !== undefined) throw new UsageError('--system needs --chat');
  if (!chat && values['no-think']) throw new UsageError('--no-think needs --chat');
  const backend = str('backend');
  if (backend !== undefined && backend !== 'webgpu' && backend !== 'cpu') throw new UsageError(`--backend must be webgpu or cpu, got '${backend}'`);
  const sampling: CliOptions['sampling'] = {};
  const put = <K extends keyof CliOptions['sampling']>(k: K, v: number | undefined) => {
    if (v !== undefined) sampling[k] = v;
  };
  put(
    'temperature',
    numberFlag('temperature', str('temperature'), 'a number ≥ 0', (v) => v >= 0),
  );
  put(
    'topK',
    numberFlag('top-k', str('top-k'), 'an integer ≥ 0', (v) => v >= 0, true),
  );
  put(
    'topP',
    numberFlag('top-p', str('top-p'), 'in (0, 1]', (v) => v > 0 && v <= 1),
  );
  put(
    'minP',
    numberFlag('min-p', str('min-p'), 'in [0, 1)', (v) => v >= 0 && v < 1),
  );
  put(
    'repetitionPenalty',
    numberFlag('repetition-penalty', str('repetition-penalty'), 'a number > 0', (v) => v > 0),
  );
  put(
    'presencePenalty',
    numberFlag('presence-penalty', str('presence-penalty'), 'a finite number', () => true),
  );
  const opts: CliOptions = {
    chat,
    noThink: values['no-think'] === true,
    maxTokens: numberFlag('max-tokens', str('max-tokens'), 'a positive integer', (v) => v >= 1, true) ?? 256,
    sampling,
    json: values.json === true,
    quiet: values.quiet === true,
    debug: values.debug === true,
    help: values.help === true,
    version: values.version === true,
  };
  // The sampler's generator has 32 bits of state: a larger seed would silently equal a smaller one.
  const seed = numberFlag('seed', str('seed'), 'an integer in [0, 4294967295]', (v) => v >= 0 && v <= 0xffffffff, true);
  const maxContext = numberFlag('max-context', str('max-context'), 'a positive integer', (v) => v >= 1, true);
  if (str('model') !== undefined) opts.model = str('model')!;
  if (str('prompt') !== undefined) opts.prompt = str('prompt')!;
  if (str('system') !== undefined) opts.system = str('system')!;
  if (promptIds) opts.promptIds = promptIds;
  if (seed !== undefined) opts.seed = seed;
  if (maxContext !== undefined) opts.maxContext = maxContext;
  if (backend !== undefined) opts.backend = backend as 'webgpu' | 'cpu';
  return opts;
}
