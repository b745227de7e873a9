// The config errors live in the kernel, which stages may import; src/ keeps this name for its own files.
export * from './kernel/errors.ts';
