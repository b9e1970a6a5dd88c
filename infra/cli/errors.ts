/** A failure to report to the operator in plain words, with the process's exit code. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
  }
}

/** The command line itself is wrong: exit code 2, and the usage is shown. */
export class UsageError extends CliError {
  override name = 'UsageError';
  constructor(
    message: string,
    readonly usage?: string,
  ) {
    super(message, 2);
  }
}
