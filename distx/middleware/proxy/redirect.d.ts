/**
 * Rewrites a Location header from the upstream. `prefix` is where the gateway is mounted ("" for /).
 * - root-relative (`/graph`) not already under the prefix -> `${prefix}/graph`;
 * - absolute on the upstream's origin -> same, on the gateway's origin (`https://${host}`);
 * - anything else (already prefixed, relative, other origins) is returned unchanged.
 */
export declare function rewriteLocation(location: string, prefix: string, upstream: URL, gatewayOrigin: string): string;
