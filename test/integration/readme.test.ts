import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { renderConfigReference, REFERENCE_END, REFERENCE_START } from '../../src/config/reference.ts';
import { checkLibraryExample } from '../helpers/library-example.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const readme = readFileSync(`${root}README.md`, 'utf8');
const docs = readdirSync(`${root}docs`)
  .filter((name) => name.endsWith('.md'))
  .map((name) => `docs/${name}`);
const exec = promisify(execFile);

function exampleBlock(name: string, text = readme, file = 'README'): string {
  const marker = `<!-- example:${name} -->`;
  const start = text.indexOf(marker);
  assert.ok(start >= 0, `${file} has ${marker}`);
  const code = /```ts\n([\s\S]*?)```/.exec(text.slice(start))?.[1];
  assert.ok(code, `a ts block follows ${marker}`);
  return code;
}

/** GitHub's anchor for a heading: lowercased, punctuation dropped, spaces as dashes. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

function anchorsIn(text: string): Set<string> {
  const withoutCode = text.replace(/```[\s\S]*?```/g, '');
  return new Set([...withoutCode.matchAll(/^#{1,6} (.+)$/gm)].map((match) => anchorOf(match[1]!)));
}

describe('README', () => {
  it('docs/configuration.md carries the config reference generated from the schema (run npm run docs)', () => {
    const page = readFileSync(`${root}docs/configuration.md`, 'utf8');
    const start = page.indexOf(REFERENCE_START);
    const end = page.indexOf(REFERENCE_END) + REFERENCE_END.length;
    assert.ok(start >= 0, 'the page has the reference markers');
    assert.equal(page.slice(start, end), renderConfigReference());
  });

  it('the library example in docs/library.md is the one the README shows and this test runs', () => {
    assert.equal(
      exampleBlock('library', readFileSync(`${root}docs/library.md`, 'utf8'), 'docs/library.md'),
      exampleBlock('library'),
    );
  });

  it('every relative link in the README and docs/ points at a file and heading that exist', () => {
    const broken: string[] = [];
    for (const file of ['README.md', ...docs, 'bench/README.md']) {
      const text = readFileSync(`${root}${file}`, 'utf8').replace(/```[\s\S]*?```/g, '');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        const [path, anchor] = target!.split('#');
        const resolved = path ? fileURLToPath(new URL(path, new URL(file, `file://${root}`))) : `${root}${file}`;
        if (!existsSync(resolved)) broken.push(`${file}: ${target} (no such file)`);
        else if (anchor && resolved.endsWith('.md') && !anchorsIn(readFileSync(resolved, 'utf8')).has(anchor))
          broken.push(`${file}: ${target} (no such heading)`);
      }
    }
    assert.deepEqual(broken, []);
  });

  it('the README stays a front door of ~300 lines', () => {
    assert.ok(readme.split('\n').length <= 320, `README.md has ${readme.split('\n').length} lines`);
  });

  it('no internal issue code appears in the docs, the code, the tests or the deploy files', () => {
    const sources = (dir: string): string[] =>
      readdirSync(`${root}${dir}`, { withFileTypes: true }).flatMap((entry) =>
        entry.isDirectory()
          ? entry.name === 'results'
            ? []
            : sources(`${dir}/${entry.name}`)
          : /\.(ts|md|sh|yaml|yml)$/.test(entry.name)
            ? [`${dir}/${entry.name}`]
            : [],
      );
    const files = [
      'README.md',
      'Dockerfile',
      ...['docs', 'src', 'middleware', 'plugins', 'test', 'bench', 'deploy', 'scripts'].flatMap(sources),
    ];
    assert.ok(files.length > 100, `found ${files.length} files`);
    const offenders = files.filter((file) =>
      /\b(issue )?[FH][1-9]\b(?![-.\w])/.test(readFileSync(`${root}${file}`, 'utf8')),
    );
    assert.deepEqual(offenders, []);
  });

  it('library example typechecks and runs: hooks answer, tag and forward parsed bodies', async () => {
    const dir = `${root}.generated`;
    mkdirSync(dir, { recursive: true });
    const file = `${dir}/readme-library.ts`;
    writeFileSync(file, exampleBlock('library').replace("from 'promgate'", "from '../src/index.ts'"));
    writeFileSync(
      `${dir}/tsconfig.json`,
      JSON.stringify({ extends: '../tsconfig.json', include: ['readme-library.ts'] }),
    );
    await exec(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', `${dir}/tsconfig.json`, '--noEmit']);

    await checkLibraryExample(file);
  });
});
