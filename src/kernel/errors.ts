import { closest, distance } from 'fastest-levenshtein';

/** Where a bad setting came from, so the error can point at it. */
export interface ConfigErrorSource {
  /** Dotted key path, e.g. `upstream.url`. */
  key?: string;
  /** Config file, flag (`--upstream.url`) or env var (`PROMGATE_UPSTREAM_URL`) that set it. */
  origin?: string;
  /** 1-based line in the config file. */
  line?: number;
}

/** A problem the user can fix in their configuration or files; printed as one line. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly key: string | undefined;
  readonly origin: string | undefined;
  readonly line: number | undefined;
  /** The message without where it happened, so the error can be placed again (see `locate`). */
  readonly problem: string;
  /** Every problem when several were found at once (a config file's bad keys); else just this one. */
  readonly problems: readonly ConfigError[];

  constructor(message: string, source: ConfigErrorSource = {}) {
    const where = [source.origin && (source.line ? `${source.origin}:${source.line}` : source.origin), source.key]
      .filter(Boolean)
      .join(': ');
    super(where ? `${where}: ${message}` : message);
    this.key = source.key;
    this.origin = source.origin;
    this.line = source.line;
    this.problem = message;
    this.problems = [this];
  }

  /** One error for several problems: its message has one line per problem, each placed on its own. */
  static all(problems: readonly ConfigError[]): ConfigError {
    if (problems.length === 1) return problems[0]!;
    const first = problems[0];
    const error = new ConfigError(problems.map((problem) => problem.message).join('\n'));
    return Object.assign(error, { key: first?.key, origin: first?.origin, line: first?.line, problems });
  }
}

/** ` (did you mean "x"?)` for the closest candidate, when one is close enough to be a typo. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const best = candidates.length > 0 ? closest(word, [...candidates]) : undefined;
  if (best === undefined || best === word) return '';
  // A guess far from what was typed misleads more than it helps.
  return distance(word.toLowerCase(), best.toLowerCase()) <= Math.max(2, Math.floor(best.length / 3))
    ? ` (did you mean "${best}"?)`
    : '';
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Why a file could not be read, in words a user acts on ("file does not exist" for ENOENT). */
export function fileErrorReason(error: unknown): string {
  return (error as NodeJS.ErrnoException | null)?.code === 'ENOENT' ? 'file does not exist' : errorMessage(error);
}
