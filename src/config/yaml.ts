// The YAML parser, loaded with the first file read: a gateway configured by flags alone never holds it.
import type * as Yaml from 'yaml';
import { lazyModule } from '../kernel/lazy-module.ts';

export const yaml = lazyModule<typeof Yaml>('yaml');
