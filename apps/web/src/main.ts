// The page: pick a model (the demonstration model by default, a picked Hugging Face folder, or a URL), watch it load,
// then generate with streamed text and live tok/s. <body data-state> and #output's data-ids let tests follow along.
import type { LoadProgress, ModelSource } from '@qwen3-webgpu/weights';
import { missingWebGpu, openSession, run, type RunSettings, type Session } from './session.ts';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const input = (id: string) => $<HTMLInputElement>(id);
const output = $<HTMLPreElement>('output');
const state = (s: 'no-webgpu' | 'loading' | 'ready' | 'load-error' | 'generating' | 'done' | 'run-error') => (document.body.dataset.state = s);

function showError(id: 'load-error' | 'run-error' | 'no-webgpu', message: string | undefined) {
  const el = $(id);
  el.hidden = message === undefined;
  el.textContent = message ?? '';
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
let session: Session | undefined;
let stopRequested = false;

function setBusy(busy: boolean) {
  for (const id of ['load-demo', 'load-url', 'pick-folder', 'model-url']) input(id).disabled = busy;
  input('run').disabled = busy || !session;
}

async function load(source: ModelSource, label: string) {
  state('loading');
  setBusy(true);
  showError('load-error', undefined);
  session?.destroy();
  session = undefined;
  const progress = $<HTMLProgressElement>('progress');
  progress.value = 0;
  $('progress-text').textContent = `opening ${label}…`;
  $('model-info').textContent = '';
  const start = performance.now();
  try {
    session = await openSession(source, (p: LoadProgress) => {
      progress.value = p.bytesTotal ? p.bytesDone / p.bytesTotal : 1;
      $('progress-text').textContent = `${mb(p.bytesDone)} / ${mb(p.bytesTotal)} · ${p.tensor}`;
    });
    const { config, totalBytes } = session.checkpoint;
    progress.value = 1;
    $('progress-text').textContent = `${mb(totalBytes)} in ${((performance.now() - start) / 1000).toFixed(1)} s`;
    $('model-info').textContent =
      `${label}: ${config.numHiddenLayers} layers, hidden ${config.hiddenSize}, vocab ${config.vocabSize}, ${config.dtype ?? 'dtype ?'}, context ${session.lm.maxContext} · ${session.device}` +
      (session.warnings.length ? ` · ${session.warnings.join('; ')}` : '');
    const d = session.defaults;
    input('temperature').value = String(d.temperature ?? 1);
    input('top-k').value = String(d.topK ?? 0);
    input('top-p').value = String(d.topP ?? 1);
    input('chat').checked = false;
    state('ready');
  } catch (err) {
    $('progress-text').textContent = '';
    showError('load-error', (err as Error).message.split('\n')[0]);
    state('load-error');
  } finally {
    setBusy(false);
  }
}

function settings(): RunSettings {
  const num = (id: string, what: string, ok: (v: number) => boolean) => {
    const v = Number(input(id).value);
    if (input(id).value.trim() === '' || !ok(v)) throw new RangeError(`${what}: ${JSON.stringify(input(id).value)} is not allowed`);
    return v;
  };
  const seedText = input('seed').value.trim();
  return {
    temperature: num('temperature', 'temperature (≥ 0)', (v) => v >= 0),
    topK: num('top-k', 'top-k (an integer ≥ 0; 0 = off)', (v) => Number.isInteger(v) && v >= 0),
    topP: num('top-p', 'top-p (in (0, 1])', (v) => v > 0 && v <= 1),
    maxTokens: num('max-tokens', 'max tokens (an integer ≥ 1)', (v) => Number.isInteger(v) && v >= 1),
    ...(seedText !== '' ? { seed: num('seed', 'seed (an integer ≥ 0)', (v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32) } : {}),
    chat: input('chat').checked,
  };
}

async function generateText() {
  if (!session) return;
  showError('run-error', undefined);
  let s: RunSettings;
  try {
    s = settings();
  } catch (err) {
    showError('run-error', (err as Error).message);
    return;
  }
  state('generating');
  setBusy(true);
  input('stop').disabled = false;
  stopRequested = false;
  delete output.dataset.ids;
  delete output.dataset.promptIds;
  const prompt = $<HTMLTextAreaElement>('prompt').value;
  output.replaceChildren(Object.assign(document.createElement('span'), { className: 'prompt', textContent: s.chat ? '' : prompt }));
  const generated = output.appendChild(document.createElement('span'));
  const speed = $('speed');
  speed.textContent = 'prefill…';
  let tokens = 0;
  let firstAt = 0;
  try {
    const it = run(session, prompt, s, () => stopRequested);
    for (let r = await it.next(); ; r = await it.next()) {
      if (r.done) {
        const { stats, ids, promptIds } = r.value;
        output.dataset.ids = JSON.stringify(ids);
        output.dataset.promptIds = JSON.stringify(promptIds);
        speed.textContent = stats
          ? `${stats.generatedTokens} tokens · ${stats.decodeTokensPerSecond.toFixed(1)} tok/s decode · prefill ${stats.promptTokens} tokens in ${stats.prefillMs.toFixed(0)} ms · ${stats.finishReason}`
          : `${ids.length} tokens · stopped`;
        break;
      }
      generated.textContent += r.value;
      tokens++;
      const now = performance.now();
      if (tokens === 1) firstAt = now;
      else speed.textContent = `${tokens} · ${((tokens - 1) / ((now - firstAt) / 1000)).toFixed(1)} tok/s`;
    }
    state('done');
  } catch (err) {
    showError('run-error', (err as Error).message.split('\n')[0]);
    state('run-error');
  } finally {
    input('stop').disabled = true;
    setBusy(false);
  }
}

function start() {
  const missing = missingWebGpu();
  if (missing) {
    showError('no-webgpu', missing);
    for (const id of ['load-demo', 'load-url', 'pick-folder', 'model-url', 'run', 'stop']) input(id).disabled = true;
    state('no-webgpu');
    return;
  }
  const demo = new URL(`${import.meta.env.BASE_URL}model/`, location.href);
  input('load-demo').addEventListener('click', () => void load(demo, 'demonstration model'));
  input('pick-folder').addEventListener('change', () => {
    const files = input('pick-folder').files;
    if (files && files.length) void load(files, (files[0]!.webkitRelativePath || files[0]!.name).split('/')[0]!);
  });
  input('load-url').addEventListener('click', () => {
    const url = input('model-url').value.trim();
    if (url) void load(new URL(url, location.href), url);
  });
  input('run').addEventListener('click', () => void generateText());
  input('stop').addEventListener('click', () => (stopRequested = true));
  // ?model=<url> loads that folder; ?model=none loads nothing; otherwise the demonstration model.
  const asked = new URLSearchParams(location.search).get('model');
  if (asked === 'none') return state('ready');
  if (asked) {
    input('model-url').value = asked;
    return void load(new URL(asked, location.href), asked);
  }
  void load(demo, 'demonstration model');
}

start();
