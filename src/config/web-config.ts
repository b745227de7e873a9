// Prometheus's --web.config.file (the exporter-toolkit format), read with the same strictness and
// checks as Prometheus: unknown keys are errors, relative *_file paths resolve against the file's
// folder, an empty file means defaults. Errors name the file, line and field.
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { classifyPasswordHash, type PasswordEntry } from '../../middleware/basic-auth/htpasswd.ts';
import { ConfigError } from '../errors.ts';
import { goYamlValue, parseGoDuration } from './go-yaml.ts';
import { readYamlFile } from './yaml-file.ts';
import type { ClientAuthType } from '../tls/client-certificates.ts';

const TLS_VERSIONS = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const;
type TlsVersionName = keyof typeof TLS_VERSIONS;
const CLIENT_AUTH_TYPES = [
  '',
  'NoClientCert',
  'RequestClientCert',
  'RequireAnyClientCert',
  'RequireClientCert',
  'VerifyClientCertIfGiven',
  'RequireAndVerifyClientCert',
];
/**
 * Go's tls.CipherSuites() names (the ones Go does not mark insecure) -> OpenSSL's. Go ignores the
 * TLS 1.3 ones in this list (TLS 1.3 suites are not configurable); so does Node, which keeps its
 * TLS 1.3 suites whatever the TLS 1.2 list says.
 */
const GO_CIPHER_SUITES: Record<string, string | null> = {
  TLS_AES_128_GCM_SHA256: null,
  TLS_AES_256_GCM_SHA384: null,
  TLS_CHACHA20_POLY1305_SHA256: null,
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
};
/** Go's curve names -> OpenSSL group names (Node's ecdhCurve). */
const GO_CURVES: Record<string, string> = {
  CurveP256: 'P-256',
  CurveP384: 'P-384',
  CurveP521: 'P-521',
  X25519: 'X25519',
};

/** Prometheus's allow-list; names and listed values are case-sensitive, as in Go. */
const HEADER_VALUES: Record<string, readonly string[] | undefined> = {
  'Strict-Transport-Security': undefined,
  'X-Content-Type-Options': ['nosniff'],
  'X-Frame-Options': ['deny', 'sameorigin'],
  'X-XSS-Protection': undefined,
  'Content-Security-Policy': undefined,
};
/** Keys Prometheus accepts whose behaviour promgate does not implement yet. */
const NOT_YET = [['ip_socket_config']] as const;

const webConfigSchema = z.strictObject({
  tls_server_config: z
    .strictObject({
      cert_file: z.string(),
      key_file: z.string(),
      cert: z.string(),
      key: z.string(),
      client_auth_type: z
        .string()
        .refine((value) => CLIENT_AUTH_TYPES.includes(value), { message: 'invalid ClientAuth' }),
      client_ca_file: z.string(),
      client_ca: z.string(),
      client_allowed_sans: z.array(z.string()),
      cipher_suites: z.array(z.string().refine((value) => value in GO_CIPHER_SUITES, { message: 'unknown cipher' })),
      curve_preferences: z.array(z.string().refine((value) => value in GO_CURVES, { message: 'unknown curve' })),
      min_version: z.string().refine((value) => value in TLS_VERSIONS, { message: 'unknown TLS version' }),
      max_version: z.string().refine((value) => value in TLS_VERSIONS, { message: 'unknown TLS version' }),
      prefer_server_cipher_suites: z.boolean(),
    })
    .partial()
    .nullish(),
  http_server_config: z
    .strictObject({ http2: z.boolean(), headers: z.record(z.string(), z.string()) })
    .partial()
    .nullish(),
  basic_auth_users: z.record(z.string(), z.string()).nullish(),
  rate_limit: z
    // A time.Duration in Go: a duration string, or a bare number of nanoseconds (0 turns it off).
    .strictObject({
      burst: z.number(),
      interval: z
        .union([z.number(), z.string()], { message: 'must be a duration' })
        .refine((value) => parseGoDuration(value) !== undefined, { message: 'must be a duration' }),
    })
    .partial()
    .nullish(),
  ip_socket_config: z
    .strictObject({ ipv4_ttl: z.number().int(), ipv6_hop_limit: z.number().int(), dscp: z.number().int() })
    .partial()
    .nullish(),
});

export interface WebConfig {
  file: string;
  /** The server certificate and key (a file path, else inline PEM), when the file configures TLS. */
  tls?: {
    certFile?: string;
    keyFile?: string;
    certPem?: string;
    keyPem?: string;
    minVersion: (typeof TLS_VERSIONS)[TlsVersionName];
    maxVersion: (typeof TLS_VERSIONS)[TlsVersionName];
    /** OpenSSL cipher list for TLS 1.2, from cipher_suites. */
    ciphers?: string;
    /** OpenSSL groups, from curve_preferences (TLS 1.2 and 1.3 key exchange). */
    ecdhCurve?: string;
    /** prefer_server_cipher_suites: the server's cipher order wins (TLS 1.2); false lets the client's. */
    preferServerCipherSuites: boolean;
    /** client_auth_type, the client CA (file path or inline PEM) and client_allowed_sans. */
    clientAuth?: { type: ClientAuthType; caFile?: string; caPem?: string; allowedSans?: string[] };
  };
  /** Headers that replace the security preset. */
  headers: Record<string, string>;
  /** basic_auth_users, bcrypt only. */
  users: Map<string, PasswordEntry>;
  http2: boolean;
  /** rate_limit, when its interval is not 0 (as in Prometheus, where 0 turns it off). */
  rateLimit?: { intervalMs: number; burst: number };
}

export function loadWebConfig(file: string): WebConfig {
  const yaml = readYamlFile(file, 'web config file', { yaml11: true });
  // As Go reads the file: a number or boolean where a string belongs is that string, as written.
  const input = yaml.value === undefined ? {} : goYamlValue(yaml.document, webConfigSchema);
  const result = webConfigSchema.safeParse(input);
  const fail = (message: string, path: readonly (string | number)[]) =>
    new ConfigError(message, { origin: file, line: yaml.lineOf(path), key: path.join('.') || undefined });
  if (!result.success) {
    const [issue] = result.error.issues;
    const path = issue?.path.map((segment) => (typeof segment === 'number' ? segment : String(segment))) ?? [];
    if (issue?.code === 'unrecognized_keys') throw fail('unknown field', [...path, issue.keys[0] ?? '']);
    const value = path.reduce<unknown>(
      (node, key) => (node as Record<string | number, unknown> | undefined)?.[key],
      input,
    );
    const namesValue = ['invalid ClientAuth', 'unknown TLS version', 'unknown cipher', 'unknown curve'].includes(
      issue?.message ?? '',
    );
    throw fail(namesValue ? `${issue?.message}: ${String(value)}` : (issue?.message ?? 'invalid'), path);
  }
  const config = result.data;
  const dir = dirname(file);
  const tlsConfig = config.tls_server_config ?? {};

  const hasCa = Boolean(tlsConfig.client_ca_file || tlsConfig.client_ca);
  if (hasCa && (!tlsConfig.client_auth_type || tlsConfig.client_auth_type === 'NoClientCert')) {
    throw fail("client CA's have been configured without a Client Auth Policy", ['tls_server_config']);
  }
  if (
    tlsConfig.client_allowed_sans &&
    !['RequireAnyClientCert', 'RequireClientCert', 'RequireAndVerifyClientCert'].includes(
      tlsConfig.client_auth_type ?? '',
    )
  ) {
    throw fail('client_allowed_sans needs client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert', [
      'tls_server_config',
      'client_allowed_sans',
    ]);
  }
  for (const path of NOT_YET) {
    const value = path.reduce<unknown>(
      (node, key) => (node as Record<string, unknown> | undefined | null)?.[key],
      config,
    );
    if (value !== undefined && value !== null)
      throw fail('not supported by promgate (socket options are set by the platform, e.g. Kubernetes)', path);
  }

  const tlsEnabled = ['cert_file', 'cert', 'key_file', 'key', 'client_ca_file', 'client_ca', 'client_auth_type'].some(
    (key) => Boolean(tlsConfig[key as keyof typeof tlsConfig]),
  );
  let tls: WebConfig['tls'];
  if (tlsEnabled) {
    if (!tlsConfig.cert_file && !tlsConfig.cert) throw fail('missing one of cert or cert_file', ['tls_server_config']);
    if (!tlsConfig.key_file && !tlsConfig.key) throw fail('missing one of key or key_file', ['tls_server_config']);
    // As in Prometheus, a *_file wins over the inline PEM when both are set.
    tls = {
      ...(tlsConfig.cert_file ? { certFile: resolve(dir, tlsConfig.cert_file) } : { certPem: tlsConfig.cert }),
      ...(tlsConfig.key_file ? { keyFile: resolve(dir, tlsConfig.key_file) } : { keyPem: tlsConfig.key }),
      minVersion: TLS_VERSIONS[(tlsConfig.min_version ?? 'TLS12') as TlsVersionName],
      maxVersion: TLS_VERSIONS[(tlsConfig.max_version ?? 'TLS13') as TlsVersionName],
      preferServerCipherSuites: tlsConfig.prefer_server_cipher_suites ?? true,
    };
    const tls12Ciphers = (tlsConfig.cipher_suites ?? [])
      .map((name) => GO_CIPHER_SUITES[name])
      .filter((name) => name != null);
    if (tls12Ciphers.length > 0) tls.ciphers = tls12Ciphers.join(':');
    if (tlsConfig.curve_preferences?.length)
      tls.ecdhCurve = tlsConfig.curve_preferences.map((name) => GO_CURVES[name]).join(':');
    const type =
      tlsConfig.client_auth_type === 'RequireClientCert'
        ? 'RequireAnyClientCert'
        : ((tlsConfig.client_auth_type || 'NoClientCert') as ClientAuthType);
    if (type !== 'NoClientCert' || tlsConfig.client_allowed_sans) {
      tls.clientAuth = {
        type,
        ...(tlsConfig.client_ca_file
          ? { caFile: resolve(dir, tlsConfig.client_ca_file) }
          : tlsConfig.client_ca
            ? { caPem: tlsConfig.client_ca }
            : {}),
        ...(tlsConfig.client_allowed_sans ? { allowedSans: tlsConfig.client_allowed_sans } : {}),
      };
    }
  }

  const headers = config.http_server_config?.headers ?? {};
  for (const [name, value] of Object.entries(headers)) {
    if (!(name in HEADER_VALUES))
      throw fail(`HTTP header "${name}" can not be configured`, ['http_server_config', 'headers', name]);
    const allowed = HEADER_VALUES[name];
    if (allowed && !allowed.includes(value)) {
      throw fail(`invalid value for ${name}. Expected one of: ${JSON.stringify(allowed)}, but got: "${value}"`, [
        'http_server_config',
        'headers',
        name,
      ]);
    }
  }

  const users = new Map<string, PasswordEntry>();
  for (const [user, hash] of Object.entries(config.basic_auth_users ?? {})) {
    const entry = classifyPasswordHash(hash, { allowPlaintext: false });
    if (entry?.scheme !== 'bcrypt' || user.includes(':'))
      throw fail('must be a bcrypt hash (promgate hash-password or htpasswd -nB)', ['basic_auth_users', user]);
    users.set(user, entry);
  }

  const interval = config.rate_limit?.interval === undefined ? 0 : parseGoDuration(config.rate_limit.interval)!;
  // yaml.v2 reads a fractional number into Go's int by dropping the fraction.
  const rateLimit =
    interval > 0 ? { intervalMs: interval, burst: Math.trunc(config.rate_limit?.burst ?? 0) } : undefined;
  return {
    file,
    tls,
    headers,
    users,
    http2: config.http_server_config?.http2 ?? true,
    ...(rateLimit ? { rateLimit } : {}),
  };
}
