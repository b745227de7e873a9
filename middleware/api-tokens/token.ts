// The API token itself: `promgate_`, 43 random base62 characters (256 bits), and a 6-character
// CRC32 checksum of the rest, as GitHub's tokens do: a typo or a truncated paste is recognised
// without a lookup, and secret scanners find leaked ones by the prefix and the checksum.
import { hash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { API_TOKEN_PREFIX } from '../../src/kernel/api-token.ts';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** 43 characters of 62 carry 256.0 bits. */
const RANDOM_LENGTH = 43;
const CHECKSUM_LENGTH = 6;
const TOKEN_SHAPE = new RegExp(`^${API_TOKEN_PREFIX}[0-9A-Za-z]{${RANDOM_LENGTH + CHECKSUM_LENGTH}}$`);

/** A new token, never stored: only its digest goes into the tokens file. */
export function generateToken(): string {
  let body = '';
  while (body.length < RANDOM_LENGTH) {
    for (const byte of randomBytes(64)) {
      // 248 = 4 x 62: bytes above it are dropped so every character is equally likely.
      if (byte < 248 && body.length < RANDOM_LENGTH) body += BASE62[byte % 62];
    }
  }
  const unchecked = API_TOKEN_PREFIX + body;
  return unchecked + checksumOf(unchecked);
}

/** Whether the text has a token's length and characters (its checksum unchecked). */
export function hasTokenShape(text: string): boolean {
  return TOKEN_SHAPE.test(text);
}

/** Whether the text has a token's shape and its checksum matches (says nothing about whether it is known). */
export function isWellFormedToken(text: string): boolean {
  if (!TOKEN_SHAPE.test(text)) return false;
  const split = text.length - CHECKSUM_LENGTH;
  return checksumOf(text.slice(0, split)) === text.slice(split);
}

/** The SHA-256 digest (hex) a tokens file holds for a token. */
export function tokenDigest(token: string): string {
  return hash('sha256', token, 'hex');
}

function checksumOf(text: string): string {
  let value = crc32(text);
  let encoded = '';
  for (let index = 0; index < CHECKSUM_LENGTH; index++) {
    encoded = BASE62[value % 62] + encoded;
    value = Math.floor(value / 62);
  }
  return encoded;
}
