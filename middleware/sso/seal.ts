// Sealed cookies: a JWT encrypted and authenticated (JWE, dir + A256GCM) under a key derived with
// HKDF from the cookie secret, so any replica holding the same secret opens it and nobody else can
// read or forge it. A secret file may hold several secrets, one per line: the first seals, every one
// opens (rotation without signing everybody out).
import { hkdfSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { JWTPayload } from 'jose';
import { ConfigError } from '../../src/kernel/errors.ts';
import { lazyModule } from '../../src/kernel/lazy-module.ts';

const jose = lazyModule<typeof import('jose')>('jose');

/** Shorter secrets are refused: the key is only as strong as the secret. */
export const MIN_SECRET_LENGTH = 32;

export interface CookieSeal {
  seal(payload: JWTPayload, expiresAt: number): Promise<string>;
  /** The payload, or undefined for a cookie this seal did not make, that was altered, or that expired. */
  open(value: string): Promise<JWTPayload | undefined>;
}

/** A file holding one secret (the client secret), trimmed. */
export function readSecretFile(file: string, key: string): string {
  const secret = readText(file, key).trim();
  if (secret === '') throw new ConfigError(`${file} is empty`, { key });
  return secret;
}

/** The secrets of a cookie secret file: one per non-empty line, each at least MIN_SECRET_LENGTH characters. */
export function readCookieSecrets(file: string, key: string): string[] {
  const secrets = readText(file, key)
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  if (secrets.length === 0) throw new ConfigError(`${file} holds no secret`, { key });
  secrets.forEach((secret, index) => {
    if (secret.length < MIN_SECRET_LENGTH)
      throw new ConfigError(
        `${file} line ${index + 1}: a secret needs at least ${MIN_SECRET_LENGTH} characters (openssl rand -base64 32)`,
        { key },
      );
  });
  return secrets;
}

/**
 * A seal for one kind of cookie: `purpose` goes into the key derivation and `audience` into the
 * token, so a login-state cookie never opens as a session, nor one route's session on another route.
 */
export function createCookieSeal(secrets: readonly string[], purpose: string, audience: string): CookieSeal {
  const keys = secrets.map((secret) => new Uint8Array(hkdfSync('sha256', secret, 'promgate', purpose, 32)));
  const [sealingKey] = keys;
  if (!sealingKey) throw new Error('a cookie seal needs a secret');
  const options = {
    audience,
    keyManagementAlgorithms: ['dir'],
    contentEncryptionAlgorithms: ['A256GCM'],
    requiredClaims: ['exp'],
  };
  return {
    seal: (payload, expiresAt) =>
      new (jose().EncryptJWT)(payload)
        .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
        .setAudience(audience)
        .setIssuedAt()
        .setExpirationTime(Math.floor(expiresAt / 1000))
        .encrypt(sealingKey),
    async open(value) {
      for (const key of keys) {
        try {
          return (await jose().jwtDecrypt(value, key, options)).payload;
        } catch {
          // Another secret of the file may have sealed it.
        }
      }
      return undefined;
    },
  };
}

function readText(file: string, key: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { key });
  }
}
