// Rewrites the generated parts of README.md from the config schema.
import { readFileSync, writeFileSync } from 'node:fs';
import { updateReadme } from '../src/config/reference.ts';

const file = new URL('../README.md', import.meta.url);
writeFileSync(file, updateReadme(readFileSync(file, 'utf8')));
