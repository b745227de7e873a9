// @peculiar/x509, with the Reflect metadata polyfill it needs loaded first, on first use only
// (certificate generation, client certificate SANs): together ~4 MB of heap that every full GC
// would otherwise walk, and those are frequent while large responses stream (F6).
import { createRequire } from 'node:module';
let loaded;
export function x509() {
    if (!loaded) {
        const require = createRequire(import.meta.url);
        require('@abraham/reflection');
        loaded = require('@peculiar/x509');
    }
    return loaded;
}
//# sourceMappingURL=x509.js.map