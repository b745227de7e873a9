// Notices when files change by what their paths resolve to now (device, inode, size, mtime), so
// edits, `mv` replacements and Kubernetes-style symlink swaps of a folder all count. Polling a
// stat per file per second costs microseconds; reading files on every TLS handshake would not.
import { statSync } from 'node:fs';

export const FILE_CHECK_INTERVAL_MS = 1000;

export interface FileStampWatcher {
  /** Begins polling; changes since the watcher was made count (the stamps are taken then). */
  start(): void;
  close(): void;
}

/** Takes the files' stamps now; polls from `start()` on, or at once unless `deferStart`. */
export function watchFileStamps(
  files: readonly string[],
  onChange: () => void,
  intervalMs = FILE_CHECK_INTERVAL_MS,
  { deferStart = false } = {},
): FileStampWatcher {
  let stamps = files.map(stampOf);
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const start = () => {
    if (timer || closed) return;
    timer = setInterval(() => {
      const next = files.map(stampOf);
      if (next.every((stamp, index) => stamp === stamps[index])) return;
      stamps = next;
      onChange();
    }, intervalMs);
    timer.unref();
  };
  if (!deferStart) start();
  return {
    start,
    close: () => {
      closed = true;
      clearInterval(timer);
    },
  };
}

function stampOf(file: string): string {
  try {
    const stats = statSync(file);
    return `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeMs}`;
  } catch {
    return 'missing';
  }
}
