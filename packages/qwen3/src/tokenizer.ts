// A checkpoint's tokenizer (tokenizer.json + tokenizer_config.json through @huggingface/tokenizers) and chat template
// (tokenizer_config.json's chat_template, chat_template.jinja or chat_template.json, rendered with @huggingface/jinja
// as HF's apply_chat_template does), read from any checkpoint source: a directory, a URL, picked Files, ArrayBuffers.
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import { isCheckpoint, modelFiles, readJsonFile, WeightsError, type Checkpoint, type CheckpointFiles, type ModelSource } from '@qwen3-webgpu/weights';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface TextTokenizer {
  /** Text → ids; special-token strings in the text become their ids. addSpecial: the post-processor's BOS/EOS. */
  encode(text: string, addSpecial?: boolean): number[];
  decode(ids: readonly number[]): string;
  /** Id of a token string (special or not), if the vocabulary has it. */
  idOf(token: string): number | undefined;
  /** The tokenizer.json it was read from, as errors name it (path or URL). */
  readonly file: string;
  /** tokenizer_config.json's eos_token id, if any. */
  readonly eosId: number | undefined;
  /** Whether the folder has a chat template (renderChat throws otherwise). */
  readonly hasChatTemplate: boolean;
  /** The rendered chat (add_generation_prompt = true). noThink: Qwen3's enable_thinking = false. */
  renderChat(messages: readonly ChatMessage[], options?: { noThink?: boolean }): string;
}

/** A special token as tokenizer_config.json writes it: a string or an AddedToken object. */
const tokenText = (t: unknown): string | undefined =>
  typeof t === 'string'
    ? t
    : t && typeof t === 'object' && typeof (t as { content?: unknown }).content === 'string'
      ? (t as { content: string }).content
      : undefined;

async function chatTemplateOf(files: CheckpointFiles, config: Record<string, unknown>): Promise<string | undefined> {
  const t = config.chat_template;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const named = t as { name?: string; template?: string }[];
    return (named.find((x) => x.name === 'default') ?? named[0])?.template;
  }
  // Newer HF saves keep the template beside the config: chat_template.jinja, or chat_template.json's "chat_template".
  const jinja = await files.text('chat_template.jinja');
  if (jinja !== undefined) return jinja;
  const inJson = ((await readJsonFile(files, 'chat_template.json')) as Record<string, unknown> | undefined)?.chat_template;
  return typeof inJson === 'string' ? inJson : undefined;
}

const filesOf = (source: ModelSource | Checkpoint): CheckpointFiles => (isCheckpoint(source) ? source.files : modelFiles(source));

/** Whether the checkpoint folder has a tokenizer.json (text prompts need one). */
export async function hasTokenizer(source: ModelSource | Checkpoint): Promise<boolean> {
  return (await filesOf(source).open('tokenizer.json')) !== undefined;
}

/** Loads the folder's tokenizer and chat template. Throws WeightsError naming the file when one is missing or unreadable. */
export async function loadTokenizer(source: ModelSource | Checkpoint): Promise<TextTokenizer> {
  const files = filesOf(source);
  const json = (await readJsonFile(files, 'tokenizer.json')) as Record<string, unknown> | undefined;
  if (json === undefined) throw new WeightsError(files.path('tokenizer.json'), "not found; text needs the model's tokenizer");
  const config = ((await readJsonFile(files, 'tokenizer_config.json')) ?? {}) as Record<string, unknown>;
  let tk: Tokenizer;
  try {
    tk = new Tokenizer(json, config);
  } catch (err) {
    throw new WeightsError(files.path('tokenizer.json'), `not a tokenizer @huggingface/tokenizers can read (${(err as Error).message})`);
  }
  const specials: Record<string, unknown> = {};
  for (const key of ['bos_token', 'eos_token', 'pad_token', 'unk_token']) specials[key] = tokenText(config[key]) ?? null;
  specials.additional_special_tokens = Array.isArray(config.additional_special_tokens) ? config.additional_special_tokens.map(tokenText) : [];
  const eos = tokenText(config.eos_token);
  const templateSource = await chatTemplateOf(files, config);
  let template: Template | undefined;
  const file = files.path('tokenizer.json');
  return {
    file,
    encode(text, addSpecial = true) {
      const ids = tk.encode(text, { add_special_tokens: addSpecial }).ids;
      // A word-level model without an unknown token maps unknown words to null instead of failing.
      if (!ids.every((id) => Number.isInteger(id))) throw new WeightsError(file, 'the tokenizer has no id for part of the prompt (its model has no unk_token)');
      return ids;
    },
    decode: (ids) => (ids.length === 0 ? '' : tk.decode([...ids], { skip_special_tokens: true })),
    idOf: (token) => tk.token_to_id(token),
    eosId: eos === undefined ? undefined : tk.token_to_id(eos),
    hasChatTemplate: templateSource !== undefined,
    renderChat(messages, options = {}) {
      if (templateSource === undefined)
        throw new WeightsError(files.location, 'has no chat template (tokenizer_config.json chat_template, chat_template.jinja or chat_template.json)');
      try {
        template ??= new Template(templateSource);
        return template.render({
          ...specials,
          messages,
          add_generation_prompt: true,
          ...(options.noThink ? { enable_thinking: false } : {}),
        });
      } catch (err) {
        throw new WeightsError(files.path('tokenizer_config.json'), `the chat template failed (${(err as Error).message})`);
      }
    },
  };
}

export interface PromptOptions {
  /** Render the conversation with the chat template (else the text is tokenized as it is). */
  chat?: boolean;
  system?: string;
  /** Earlier turns, before this user message. */
  history?: readonly ChatMessage[];
  noThink?: boolean;
}

/** Prompt ids of a text: plain (with the post-processor's special tokens), or as the user's turn of a chat. */
export function encodePrompt(tokenizer: TextTokenizer, text: string, options: PromptOptions = {}): number[] {
  if (!options.chat) return tokenizer.encode(text);
  const messages: ChatMessage[] = [
    ...(options.system !== undefined ? [{ role: 'system' as const, content: options.system }] : []),
    ...(options.history ?? []),
    { role: 'user', content: text },
  ];
  return tokenizer.encode(tokenizer.renderChat(messages, { noThink: options.noThink ?? false }), false);
}

/**
 * Ids that end a generation: the model's own (config.json and generation_config.json eos ids), the tokenizer's eos
 * token, and in a chat the end-of-turn token `<|im_end|>` when the vocabulary has it.
 */
export function stopIdsWith(modelStopIds: readonly number[], tokenizer: TextTokenizer | undefined, chat: boolean): number[] {
  const ids = new Set(modelStopIds);
  if (tokenizer?.eosId !== undefined) ids.add(tokenizer.eosId);
  const imEnd = chat ? tokenizer?.idOf('<|im_end|>') : undefined;
  if (imEnd !== undefined) ids.add(imEnd);
  return [...ids];
}

/**
 * Incremental detokenization: text appears as soon as it is final. A UTF-8 character split across tokens decodes to
 * U+FFFD until its last byte arrives, so text ending in U+FFFD is held back; decoding a window that starts a few
 * tokens back keeps tokenizers whose decoders depend on the previous token (leading spaces) right.
 */
export class StreamDecoder {
  readonly #ids: number[] = [];
  #prefix = 0;
  #read = 0;

  constructor(readonly tokenizer: Pick<TextTokenizer, 'decode'>) {}

  /** Adds one id; returns the new final text (possibly ''). */
  push(id: number): string {
    this.#ids.push(id);
    const before = this.tokenizer.decode(this.#ids.slice(this.#prefix, this.#read));
    const now = this.tokenizer.decode(this.#ids.slice(this.#prefix));
    if (now.length <= before.length || now.endsWith('\uFFFD')) return '';
    this.#prefix = this.#read;
    this.#read = this.#ids.length;
    return now.slice(before.length);
  }

  /** What is still held back (an incomplete character at the very end), as the tokenizer decodes it. */
  flush(): string {
    const before = this.tokenizer.decode(this.#ids.slice(this.#prefix, this.#read));
    const now = this.tokenizer.decode(this.#ids.slice(this.#prefix));
    this.#prefix = this.#read = this.#ids.length;
    return now.length > before.length ? now.slice(before.length) : '';
  }
}
