// Flag parsing and value checks shared by the apps' command lines; every failure is a one-line UsageError that names
// the flag, the rule and the value given.
import { existsSync, statSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/** `--flag -5` → `--flag=-5` for value flags, so a negative number reaches validation instead of looking like a flag. */
function joinNegativeValues(argv: readonly string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const spec = a.startsWith('--') ? options[a.slice(2)] : undefined;
    const next = argv[i + 1];
    if (spec?.type === 'string' && next !== undefined && /^-\d|^-\.\d/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else {
      out.push(a);
    }
  }
  return out;
}

/** node:util parseArgs (strict) with its errors turned into usage errors; a lone `--` (pnpm passes one) is dropped. */
export function parseFlags(argv: readonly string[], options: Options): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const r = parseArgs({
      args: joinNegativeValues(
        argv.filter((a) => a !== '--'),
        options,
      ),
      options,
      strict: true,
      allowPositionals: true,
    });
    return { values: r.values as Record<string, string | boolean | undefined>, positionals: r.positionals };
  } catch (err) {
    const message = (err as Error).message;
    const unknown = /Unknown option '([^']+)'/.exec(message);
    if (unknown) throw new UsageError(`unknown flag ${unknown[1]} (see --help)`);
    const missing = /Option '(--[\w-]+)[^']*' argument (missing|is ambiguous)/.exec(message);
    if (missing) throw new UsageError(`${missing[1]} needs a value (see --help)`);
    throw new UsageError(`${message.split('\n')[0]} (see --help)`);
  }
}

/** A number flag checked against a rule, or undefined when the flag is absent. Integers are written in decimal digits. */
export function numberFlag(name: string, raw: string | undefined, rule: string, ok: (v: number) => boolean, integer = false): number | undefined {
  if (raw === undefined) return undefined;
  const v = raw.trim() === '' || (integer && !/^\s*-?\d+\s*$/.test(raw)) ? Number.NaN : Number(raw);
  if (!Number.isFinite(v) || (integer && !Number.isSafeInteger(v)) || !ok(v)) throw new UsageError(`--${name} must be ${rule}, got '${raw}'`);
  return v;
}

/** Comma-separated token ids (non-negative integers), or undefined when the flag is absent. */
export function idsFlag(name: string, raw: string | undefined): number[] | undefined {
  if (raw === undefined) return undefined;
  const parts = raw.split(',').map((s) => s.trim());
  if (parts.every((p) => p === '')) throw new UsageError(`--${name} is empty`);
  return parts.map((p) => {
    if (!/^\d+$/.test(p)) throw new UsageError(`--${name} must be non-negative integers separated by commas, got '${p}'`);
    // Well-formed but beyond 2^53: no vocabulary is that large (and the number would not survive as a double).
    if (!Number.isSafeInteger(Number(p))) throw new UsageError(`--${name}: id ${p} is outside the model's vocabulary`);
    return Number(p);
  });
}

/** Throws unless dir is an existing directory; label names it in the message (e.g. `--model DIR`). */
export function requireDirectory(label: string, dir: string): void {
  if (!existsSync(dir)) throw new UsageError(`${label}: no such directory`);
  if (!statSync(dir).isDirectory()) throw new UsageError(`${label}: not a directory`);
}
