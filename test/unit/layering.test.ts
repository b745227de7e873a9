// Stages depend downward: middleware/ and plugins/ reach src/ only through its kernel (plugins
// also through the public API), and no import cycle runs through src/ and middleware/.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const IMPORT = /^\s*(?:import|export)\s[^'";]*?from\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]/gm;

function tsFiles(folder: string): string[] {
  return readdirSync(join(root, folder), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .map((file) => join(folder, file));
}

/**
 * The repository-relative files a file imports (relative specifiers only; packages are not ours).
 * `valuesOnly` leaves out `import type`: a type naming its neighbour's type is no load-order cycle.
 */
function importsOf(file: string, valuesOnly = false): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const found: string[] = [];
  for (const match of text.matchAll(IMPORT)) {
    if (valuesOnly && /^\s*(import|export)\s+type\s/.test(match[0])) continue;
    const specifier = match[1] ?? match[2]!;
    if (specifier.startsWith('.')) found.push(relative(root, resolve(root, dirname(file), specifier)));
  }
  return found;
}

describe('layering', () => {
  it('stages and plugins import nothing from src/ but its kernel (plugins: also the public API)', () => {
    const wrong: string[] = [];
    for (const file of [...tsFiles('middleware'), ...tsFiles('plugins')]) {
      for (const target of importsOf(file)) {
        if (!target.startsWith('src/') || target.startsWith('src/kernel/')) continue;
        if (file.startsWith('plugins/') && target === 'src/index.ts') continue;
        wrong.push(`${file} -> ${target}`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  it('the kernel imports nothing from middleware/', () => {
    const wrong = tsFiles('src/kernel').flatMap((file) =>
      importsOf(file)
        .filter((target) => target.startsWith('middleware/'))
        .map((target) => `${file} -> ${target}`),
    );
    assert.deepEqual(wrong, []);
  });

  it('no import cycle runs through src/ and middleware/ (type-only imports aside)', () => {
    const files = [...tsFiles('src'), ...tsFiles('middleware')];
    const graph = new Map(
      files.map((file) => [
        file,
        importsOf(file, true).filter((target) => target.startsWith('src/') || target.startsWith('middleware/')),
      ]),
    );
    const done = new Set<string>();
    const cycles: string[] = [];
    const walk = (file: string, path: string[]) => {
      const at = path.indexOf(file);
      if (at >= 0) return void cycles.push([...path.slice(at), file].join(' -> '));
      if (done.has(file)) return;
      path.push(file);
      for (const target of graph.get(file) ?? []) walk(target, path);
      path.pop();
      done.add(file);
    };
    for (const file of files) walk(file, []);
    assert.deepEqual(cycles, []);
  });
});
