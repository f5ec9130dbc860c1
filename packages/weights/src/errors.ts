/**
 * Every problem with a checkpoint: names the file, the tensor (when there is one) and the rule that failed, in a
 * message that fits on one line.
 */
export class WeightsError extends Error {
  override readonly name = 'WeightsError';
  constructor(
    readonly file: string,
    readonly rule: string,
    readonly tensor?: string,
  ) {
    super(`${file}${tensor !== undefined ? `: tensor '${tensor}'` : ''}: ${rule}`);
  }
}
