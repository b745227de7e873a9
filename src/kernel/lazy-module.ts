// Packages a route needs only for some settings (JWT keys, sign-in, PromQL parsing) are loaded on
// first use: a gateway that does not use them never holds their code (jose alone is ~14 MB of RSS).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The module, loaded by the first call (an ES module too: Node >= 22.12 requires them). */
export function lazyModule<T>(specifier: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(specifier) as T);
}
