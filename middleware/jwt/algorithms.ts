// The signature algorithms a JWT may use (no dependencies: the config schema lists them too).

/** Asymmetric only: with an HMAC algorithm anyone holding the shared secret could mint tokens. */
export const JWT_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];
