// Rewrites the generated configuration reference in docs/configuration.md from the config schema.
import { readFileSync, writeFileSync } from 'node:fs';
import { updateReference } from '../src/config/reference.ts';

const file = new URL('../docs/configuration.md', import.meta.url);
writeFileSync(file, updateReference(readFileSync(file, 'utf8')));
