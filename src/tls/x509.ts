// @peculiar/x509, with the Reflect metadata polyfill it needs loaded first, on first use only
// (certificate generation, client certificate names): together ~4 MB of heap that every full GC
// would otherwise walk, and those are frequent while large responses stream.
import { createRequire } from 'node:module';

type X509 = typeof import('@peculiar/x509');

let loaded: X509 | undefined;

export function x509(): X509 {
  if (!loaded) {
    const require = createRequire(import.meta.url);
    require('@abraham/reflection');
    loaded = require('@peculiar/x509') as X509;
  }
  return loaded;
}
