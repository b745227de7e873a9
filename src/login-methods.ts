// A route's login methods, built from its settings in the order a request is asked for their
// credentials: basic auth, API tokens, JWTs, then the sign-in session. Building opens nothing;
// each method follows its files or key set once started.
import { createApiTokenAuthenticator } from '../middleware/api-tokens/index.ts';
import { createBasicAuthenticator } from '../middleware/basic-auth/index.ts';
import { createJwtAuthenticator, type JwtAlgorithm } from '../middleware/jwt/index.ts';
import type { GatewayMetrics } from '../middleware/metrics/index.ts';
import { createSsoAuthenticator } from '../middleware/sso/index.ts';
import type { WebConfig } from './config/web-config.ts';
import { parseDuration, type Config } from './config/schema.ts';
import { ConfigError } from './errors.ts';
import type { Authenticator } from './kernel/request-state.ts';
import type { Logger } from './logger.ts';

/** An authentication method of a route, with what it follows (files, key sets) once started. */
export interface LoginMethod extends Authenticator {
  start?(): void;
  close?(): void;
}

export interface LoginMethodContext {
  webConfig: WebConfig | undefined;
  metrics: GatewayMetrics;
  logger: Logger;
}

export function buildLoginMethods(config: Config, { webConfig, metrics, logger }: LoginMethodContext) {
  const configUsers = new Map(
    Object.entries(config.auth.users).map(([user, hash]) => [user, { scheme: 'bcrypt' as const, hash }]),
  );
  const staticUsers = new Map([...(webConfig?.users ?? []), ...configUsers]);
  for (const user of configUsers.keys()) {
    if (webConfig?.users.has(user))
      throw new ConfigError(`user "${user}" is also in basic_auth_users of ${webConfig.file}; keep one`, {
        key: `auth.users.${user}`,
      });
  }
  const basic =
    !config.auth.off && (config.auth.htpasswdFile || staticUsers.size > 0)
      ? createBasicAuthenticator({
          htpasswdFile: config.auth.htpasswdFile,
          staticUsers,
          staticUsersSource: configUsers.size > 0 ? 'auth.users' : webConfig?.file,
          allowPlaintext: config.auth.allowPlaintext,
          cacheSize: config.auth.cacheSize,
          cacheTtlMs: parseDuration(config.auth.cacheTtl),
          logger,
          onReloadResult: (ok) => metrics.reloaded('htpasswd', ok),
        })
      : undefined;
  if (basic && config.auth.htpasswdFile) metrics.loaded('htpasswd');
  const tokens =
    !config.auth.off && config.auth.tokensFile
      ? createApiTokenAuthenticator({
          tokensFile: config.auth.tokensFile,
          realm: config.auth.realm,
          // Without a JWT method every Bearer token is judged here: a wrong one is refused, not ignored.
          takesEveryBearer: config.auth.jwt === undefined,
          logger,
          onReloadResult: (ok) => metrics.reloaded('tokens', ok),
        })
      : undefined;
  if (tokens) metrics.loaded('tokens');
  const { jwt: jwtSettings } = config.auth;
  const jwt =
    !config.auth.off && jwtSettings
      ? createJwtAuthenticator({
          ...jwtSettings,
          algorithms: jwtSettings.algorithms as JwtAlgorithm[],
          clockSkewMs: parseDuration(jwtSettings.clockSkew),
          realm: config.auth.realm,
          // Without API tokens on the route every Bearer token is a JWT to check, whatever it starts with.
          takesApiTokenPrefix: tokens === undefined,
          logger,
        })
      : undefined;
  const { oidc: oidcSettings } = config.auth;
  const sso =
    !config.auth.off && oidcSettings
      ? createSsoAuthenticator({
          ...oidcSettings,
          sessionLifetimeMs: parseDuration(oidcSettings.sessionLifetime),
          basePath: config.basePath,
          realm: config.auth.realm,
          // The claims tenant values name (`${claims.NAME}`) ride in the session.
          keptClaims: claimPlaceholders(config.accessControl),
          logger,
        })
      : undefined;
  // The login methods of the route, in the order a request is asked for their credentials.
  const methods: LoginMethod[] = [basic, tokens, jwt].filter((method) => method !== undefined);
  if (sso) methods.push(sso); // last: it presents only a session cookie, never an Authorization header
  return { configUsers, basic, tokens, jwt, sso, methods };
}

/** The claim names the settings' `${claims.NAME}` placeholders use (tenant values). */
function claimPlaceholders(settings: unknown): string[] {
  return [...new Set([...JSON.stringify(settings).matchAll(/\$\{claims\.([^}]+)\}/g)].map((match) => match[1]!))];
}
