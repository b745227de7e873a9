// The package as a consumer gets it: packed with `npm pack`, installed from the tarball into a new
// project, the README's library example type-checked there under `strict` and run. Catches what
// tests against src/ cannot: files missing from the tarball, exports that do not resolve, types
// (such as the `req.promgate` augmentation) that never reach the published declarations.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { checkLibraryExample } from '../helpers/library-example.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const exec = promisify(execFile);
const npm = (args: string[], cwd: string) =>
  exec('npm', args, {
    cwd,
    env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' },
    maxBuffer: 16 << 20,
  });

function lockedVersion(name: string): string {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version: string }>;
  };
  const version = lock.packages[`node_modules/${name}`]?.version;
  assert.ok(version, `${name} is in package-lock.json`);
  return version;
}

function libraryExample(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const code = /```ts\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf('<!-- example:library -->')))?.[1];
  assert.ok(code, 'the README has the library example');
  return code;
}

describe('the packed package in a consumer project', () => {
  const work = mkdtempSync(join(tmpdir(), 'promgate-package-'));
  const consumer = join(work, 'consumer');
  let tarball = '';

  before(async () => {
    // Built into a copy, so the repo's own dist/ is never rewritten under other tests.
    const stage = join(work, 'stage');
    mkdirSync(join(stage, 'certs'), { recursive: true });
    cpSync(join(root, 'package.json'), join(stage, 'package.json'));
    cpSync(join(root, 'certs/README.md'), join(stage, 'certs/README.md'));
    await exec(process.execPath, [
      join(root, 'node_modules/typescript/bin/tsc'),
      '-p',
      join(root, 'tsconfig.build.json'),
      '--outDir',
      join(stage, 'dist'),
    ]);
    chmodSync(join(stage, 'dist/src/cli.js'), 0o755);
    const { stdout } = await npm(['pack', '--ignore-scripts', '--json', '--pack-destination', work], stage);
    tarball = join(work, (JSON.parse(stdout) as { filename: string }[])[0]!.filename);

    mkdirSync(consumer);
    writeFileSync(
      join(consumer, 'package.json'),
      JSON.stringify({
        name: 'consumer',
        private: true,
        type: 'module',
        dependencies: { promgate: `file:${tarball}`, express: lockedVersion('express') },
        devDependencies: {
          typescript: lockedVersion('typescript'),
          '@types/express': lockedVersion('@types/express'),
          '@types/node': lockedVersion('@types/node'),
        },
      }),
    );
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'es2023',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          outDir: 'out',
          skipLibCheck: false,
          types: ['node'],
        },
        include: ['*.ts'],
      }),
    );
    writeFileSync(join(consumer, 'example.ts'), libraryExample());
    // The registry's packages are in npm's cache after `npm ci`; --prefer-offline takes them from there.
    await npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], consumer);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('ships the compiled code and declarations, and no sources or tests', async () => {
    const { stdout } = await exec('tar', ['-tzf', tarball]);
    const files = stdout.trim().split('\n');
    for (const file of [
      'package/dist/src/index.js',
      'package/dist/src/index.d.ts',
      'package/dist/src/cli.js',
      'package/dist/plugins/tenant-header.js',
      'package/dist/src/kernel/request-state.d.ts',
    ]) {
      assert.ok(files.includes(file), `${file} is in the tarball`);
    }
    assert.deepEqual(
      files.filter((file) => /\.ts$/.test(file) && !file.endsWith('.d.ts')),
      [],
      'no TypeScript sources',
    );
    assert.deepEqual(
      files.filter((file) => file.includes('/test/') || file.includes('/bench/')),
      [],
      'no tests or benchmarks',
    );
  });

  it('type-checks the README library example under strict, req.promgate included', async () => {
    await exec(process.execPath, [join(consumer, 'node_modules/typescript/bin/tsc'), '-p', consumer]).catch(
      (error: { stdout?: string }) => {
        assert.fail(`tsc in the consumer project failed:\n${error.stdout}`);
      },
    );
    // The augmentation must be what makes it compile: a typo in the property is an error.
    writeFileSync(
      join(consumer, 'typo.ts'),
      "import type { Request } from 'express';\nimport 'promgate';\nexport const user = (req: Request) => req.promgate?.usr;\n",
    );
    const typo = await exec(process.execPath, [
      join(consumer, 'node_modules/typescript/bin/tsc'),
      '-p',
      consumer,
      '--noEmit',
    ]).then(
      () => '',
      (error: { stdout?: string }) => error.stdout ?? '',
    );
    rmSync(join(consumer, 'typo.ts'));
    assert.match(typo, /typo\.ts.*Property 'usr' does not exist on type 'PromgateRequestState'/);
  });

  it('runs the compiled example: the gateway forwards, the hooks answer and tag', async () => {
    await checkLibraryExample(join(consumer, 'out/example.js'), consumer);
  });

  it('starts the packed CLI from node_modules/.bin', async () => {
    const { stdout } = await exec(join(consumer, 'node_modules/.bin/promgate'), ['--version'], {
      env: { ...process.env, PATH: `${join(process.execPath, '..')}:${process.env.PATH}` },
    });
    assert.match(stdout, /^promgate \d+\.\d+\.\d+$/m);
  });
});
