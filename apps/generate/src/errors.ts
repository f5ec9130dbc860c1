// The CLI's two kinds of failure, each one line on stderr: a usage error (the flags or the prompt are wrong; exit 2)
// and a runtime error (the model, the files or the GPU failed; exit 1).
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly exitCode = 2;
}

export class RuntimeError extends Error {
  override readonly name = 'RuntimeError';
  readonly exitCode = 1;
}

/** The exit code and one-line message for any error (library errors are runtime errors). */
export function describeError(err: unknown): { code: number; message: string } {
  if (err instanceof UsageError || err instanceof RuntimeError) return { code: err.exitCode, message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  return { code: 1, message: message.split('\n')[0]! };
}
