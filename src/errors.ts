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

  constructor(message: string, source: ConfigErrorSource = {}) {
    const where = [source.origin && (source.line ? `${source.origin}:${source.line}` : source.origin), source.key]
      .filter(Boolean)
      .join(': ');
    super(where ? `${where}: ${message}` : message);
    this.key = source.key;
    this.origin = source.origin;
    this.line = source.line;
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Why a file could not be read, in words a user acts on ("file does not exist" for ENOENT). */
export function fileErrorReason(error: unknown): string {
  return (error as NodeJS.ErrnoException | null)?.code === 'ENOENT' ? 'file does not exist' : errorMessage(error);
}
