// Notices when files change by what their paths resolve to now (device, inode, size, mtime), so
// edits, `mv` replacements and Kubernetes-style symlink swaps of a folder all count. Polling a
// stat per file per second costs microseconds; reading files on every TLS handshake would not.
import { statSync } from 'node:fs';

export const FILE_CHECK_INTERVAL_MS = 1000;

export interface FileStampWatcher {
  close(): void;
}

export function watchFileStamps(files: readonly string[], onChange: () => void, intervalMs = FILE_CHECK_INTERVAL_MS): FileStampWatcher {
  let stamps = files.map(stampOf);
  const timer = setInterval(() => {
    const next = files.map(stampOf);
    if (next.every((stamp, index) => stamp === stamps[index])) return;
    stamps = next;
    onChange();
  }, intervalMs);
  timer.unref();
  return { close: () => clearInterval(timer) };
}

function stampOf(file: string): string {
  try {
    const stats = statSync(file);
    return `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeMs}`;
  } catch {
    return 'missing';
  }
}
