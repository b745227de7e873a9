export declare const FILE_CHECK_INTERVAL_MS = 1000;
export interface FileStampWatcher {
    close(): void;
}
export declare function watchFileStamps(files: readonly string[], onChange: () => void, intervalMs?: number): FileStampWatcher;
