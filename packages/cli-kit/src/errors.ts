// Failure kinds and the exit path shared by the apps' command lines (bundled into each app): a usage error (flags or
// inputs are wrong; exit 2) and a runtime error (model, files or GPU failed; exit 1), each one line on stderr, with
// the stack only under --debug.
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

/** Runs a command's main; on failure prints `program: message` (and the stack with debug) and sets the exit code. */
export async function runCommand(program: string, main: () => Promise<void>, debug: () => boolean): Promise<void> {
  // A reader that goes away (`| head`) ends the command quietly, as it does for other Unix tools.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    process.stderr.write(`${program}: stdout: ${err.message}\n`);
    process.exit(1);
  });
  try {
    await main();
  } catch (err) {
    const { code, message } = describeError(err);
    process.stderr.write(`${program}: ${message}\n`);
    if (debug() && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    process.exitCode = code;
  }
}
