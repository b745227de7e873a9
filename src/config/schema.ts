// The one description of promgate's settings. Flags, env var names, `--help` and the docs'
// config reference are all derived from this schema (see ./options.ts), so they cannot drift.
import { isIP } from 'node:net';
import { z } from 'zod';
import { PRESETS, type Preset } from '../../middleware/access-control/presets.ts';
import { JWT_ALGORITHMS } from '../../middleware/jwt/algorithms.ts';
import { HOOKS } from '../kernel/request-state.ts';

/** Prometheus-style duration: 30s, 2m, 1h30m, 500ms. */
export const DURATION_PATTERN = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/;

export const DEFAULT_LISTEN_ADDRESS = '0.0.0.0:8443';
/** Inside Docker's default 10 s stop timeout, so in-flight requests end before a SIGKILL. */
export const DEFAULT_SHUTDOWN_GRACE_PERIOD = '8s';
export const DEFAULT_BASE_PATH = '/prometheus';
export const DEFAULT_UPSTREAM_URL = 'http://localhost:9090';
/** Above Prometheus's own default query timeout (2m), so a slow query fails in Prometheus, not here. */
export const DEFAULT_UPSTREAM_TIMEOUT = '3m';
export const DEFAULT_CERT_FILE = 'certs/tls.crt';
export const DEFAULT_KEY_FILE = 'certs/tls.key';
export const DEFAULT_REALM = 'promgate';
export const DEFAULT_AUTH_CACHE_SIZE = 1024;
export const DEFAULT_AUTH_CACHE_TTL = '5m';
export const DEFAULT_JWT_CLOCK_SKEW = '30s';
/** Slowloris protection: a client gets this long for its TLS handshake and request headers (nginx: 60s). */
export const DEFAULT_HEADERS_TIMEOUT = '10s';
/** A whole request, body included (Node's default; Prometheus's --web.read-timeout is also 5m). */
export const DEFAULT_REQUEST_TIMEOUT = '5m';
/** Idle keep-alive connections; above the 60s idle timeout of common load balancers. */
export const DEFAULT_KEEP_ALIVE_TIMEOUT = '65s';
/** Prometheus's --web.max-connections default. */
export const DEFAULT_MAX_CONNECTIONS = 512;
/** Half the listener: one address cannot hold every slot, yet a busy Grafana or proxy has room. */
export const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 256;
/** Fits Prometheus remote-write batches and OTLP pushes (a few MiB at most) with room; queries are KiB. */
export const DEFAULT_MAX_REQUEST_BODY_SIZE = 32 * 1024 * 1024;
/** Upstream keep-alive pool per route; Prometheus serves --web.max-connections (512) itself. */
export const DEFAULT_UPSTREAM_MAX_CONNECTIONS = 256;
/** Node's default; nginx allows 4 buffers of 8k. */
export const DEFAULT_MAX_HEADER_SIZE = 16384;
export const DEFAULT_READY_PATH = '/-/ready';
export const DEFAULT_READY_INTERVAL = '5s';
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;
export { PRESETS, type Preset };
/** The hooks a plugin can run at: the kernel's hook names. */
export const PLUGIN_STAGES = HOOKS;
export const DEFAULT_ROLE = 'viewer';
export const DEFAULT_FAILED_AUTH_PER_CLIENT = 30;
export const DEFAULT_FAILED_AUTH_PER_USER = 10;
export const DEFAULT_FAILED_AUTH_WINDOW = '5m';
export const LOG_FORMATS = ['json', 'logfmt', 'pretty'] as const;

const duration = z.string().refine((value) => value !== '' && DURATION_PATTERN.test(value), {
  message: 'must be a duration such as 30s, 3m or 1h30m',
});

const positiveDuration = duration.refine((value) => parseDuration(value) > 0, { message: 'must be longer than 0s' });

const listenAddress = z.string().refine(isHostPort, {
  message: 'must be host:port, e.g. 0.0.0.0:8443 or [::]:8443',
});

const basePath = z
  .string()
  .regex(/^\/$|^(\/[A-Za-z0-9._~-]+)+\/?$/, {
    message: 'must be "/" or a path such as /prometheus (letters, digits, . _ ~ - only)',
  })
  .refine((value) => !value.split('/').some((segment) => segment === '.' || segment === '..'), {
    message: 'must not contain . or .. segments',
  });

const upstreamUrl = z.string().refine(isHttpUrl, {
  message: 'must be an http:// or https:// URL without credentials, query or fragment, e.g. http://localhost:9090',
});

/** HTTPS, or HTTP to this host only: keys fetched in clear text over a network could be swapped. */
const providerUrl = z.string().refine(isProviderUrl, {
  message: 'must be an https:// URL (http:// only to localhost), e.g. https://keycloak.example/realms/ops',
});

const ipOrCidr = z.string().refine(isIpOrCidr, {
  message: 'must be an IP address or CIDR range, e.g. 10.0.0.0/8 or ::1',
});

/** Paths as the access policy sees them: lowercase segments, `*` one segment, `/**` any rest. */
const policyPath = z
  .string()
  .refine(
    (value) =>
      /^\/(\*\*|([a-z0-9._~!$&'()+,=:@-]+|\*)(\/([a-z0-9._~!$&'()+,=:@-]+|\*))*(\/\*\*)?)?$/.test(value) &&
      !/(^|\/)\.{1,2}(\/|$)/.test(value),
    {
      message:
        'cannot match: paths are compared lowercased, percent-decoded, without . or .. segments, // or a trailing slash; use /exact/path, * for one segment and a final /** for any rest',
    },
  );

/** A private CA of an identity provider (JWT keys, sign-in), as both methods take it. */
const providerCaFile = z
  .string()
  .min(1)
  .optional()
  .describe("CA bundle (PEM) trusted for the provider's HTTPS besides the system's.");

const headerName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, { message: 'must be an HTTP header name' });

const accessRule = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z0-9_-]+$/, { message: 'must be a lowercase name' })
    .optional(),
  methods: z.array(z.enum(HTTP_METHODS)).min(1).optional(),
  paths: z.array(policyPath).min(1),
});

/** `${user}`, `${groups}` or `${claims.NAME}`: a tenant value taken from the request's identity. */
const TENANT_PLACEHOLDER = /\$\{(?!(?:user|groups|claims\.[A-Za-z0-9_.:-]+)\})/;

const tenantScope = z
  .record(
    z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'must be a Prometheus label name such as namespace' }),
    z
      .array(
        z.string().refine((value) => !TENANT_PLACEHOLDER.test(value), {
          // biome-ignore lint/suspicious/noTemplateCurlyInString: the placeholders users write
          message: 'a ${...} placeholder must be ${user}, ${groups} or ${claims.NAME}',
        }),
      )
      .min(1, { message: 'must list at least one value' }),
  )
  .refine((labels) => Object.keys(labels).length > 0, { message: 'must name at least one label' });

function limit(requests: number, window: string, what: string) {
  return z
    .strictObject({
      requests: z
        .number()
        .int()
        .min(0)
        .default(requests)
        .describe(`${what} allowed per window; 0 turns the limit off.`),
      window: positiveDuration
        .default(window)
        .describe(`The window of ${what.toLowerCase()}; it starts with the first one.`),
    })
    .default({ requests, window });
}

export const configSchema = z.strictObject({
  web: z
    .strictObject({
      listenAddress: listenAddress.default(DEFAULT_LISTEN_ADDRESS).describe('Address the HTTPS listener binds to.'),
      shutdownGracePeriod: duration
        .default(DEFAULT_SHUTDOWN_GRACE_PERIOD)
        .describe('On SIGTERM/SIGINT, how long in-flight requests may finish before connections are cut.'),
      headersTimeout: positiveDuration
        .default(DEFAULT_HEADERS_TIMEOUT)
        .describe(
          'Time a client has for its TLS handshake and request headers; slower clients are cut off (slowloris).',
        ),
      requestTimeout: duration
        .default(DEFAULT_REQUEST_TIMEOUT)
        .describe('Time a client has to send a whole request, body included; 0s turns it off.'),
      keepAliveTimeout: duration
        .refine((value) => parseDuration(value) >= 1000, {
          message: 'must be at least 1s (Keep-Alive announces whole seconds)',
        })
        .default(DEFAULT_KEEP_ALIVE_TIMEOUT)
        .describe('Idle keep-alive connections: announced in Keep-Alive: timeout=N, closed one second after.'),
      maxConnections: z
        .number()
        .int()
        .min(1)
        .default(DEFAULT_MAX_CONNECTIONS)
        .describe(
          'Concurrent client connections, TLS handshakes included; at the limit a new one replaces the connection idle longest, or is closed at once when none is idle.',
        ),
      maxConnectionsPerAddress: z
        .number()
        .int()
        .min(0)
        .default(DEFAULT_MAX_CONNECTIONS_PER_ADDRESS)
        .describe(
          'Concurrent connections from one client address (peers in trustProxy are spared); 0 turns the cap off.',
        ),
      maxRequestBodySize: z
        .number()
        .int()
        .min(0)
        .default(DEFAULT_MAX_REQUEST_BODY_SIZE)
        .describe('Largest request body in bytes; a larger one gets 413 and its connection is closed.'),
      maxHeaderSize: z
        .number()
        .int()
        .min(1024)
        .default(DEFAULT_MAX_HEADER_SIZE)
        .describe('Largest request head (request line and headers) in bytes; larger ones get 431.'),
      config: z
        .strictObject({
          file: z
            .string()
            .min(1)
            .optional()
            .describe(
              "Prometheus's web config file (exporter-toolkit format): certificate, basic_auth_users, headers.",
            ),
        })
        .default({}),
    })
    .default({
      listenAddress: DEFAULT_LISTEN_ADDRESS,
      shutdownGracePeriod: DEFAULT_SHUTDOWN_GRACE_PERIOD,
      headersTimeout: DEFAULT_HEADERS_TIMEOUT,
      requestTimeout: DEFAULT_REQUEST_TIMEOUT,
      keepAliveTimeout: DEFAULT_KEEP_ALIVE_TIMEOUT,
      maxConnections: DEFAULT_MAX_CONNECTIONS,
      maxConnectionsPerAddress: DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
      maxRequestBodySize: DEFAULT_MAX_REQUEST_BODY_SIZE,
      maxHeaderSize: DEFAULT_MAX_HEADER_SIZE,
      config: {},
    })
    .refine(
      ({ headersTimeout, requestTimeout }) =>
        requestTimeout === '0s' || parseDuration(headersTimeout) <= parseDuration(requestTimeout),
      {
        message: 'headersTimeout must not be longer than requestTimeout',
        path: ['headersTimeout'],
      },
    ),
  workers: z
    .number()
    .int()
    .min(1)
    .max(256)
    .default(1)
    .describe('Processes serving requests (node:cluster, CLI only); the metrics listener then adds up all workers.'),
  basePath: basePath
    .default(DEFAULT_BASE_PATH)
    .describe('Path prefix the gateway serves under; stripped before forwarding. May be "/".'),
  landingPage: z
    .boolean()
    .default(false)
    .describe('Answer GET / with a page listing the routes the user may open (after login when a route has auth).'),
  preset: z
    .enum(PRESETS)
    .default('prometheus')
    .describe(
      "The upstream's kind: its dangerous endpoints (refused to viewers) and its ready path. prometheus, alertmanager, pushgateway or generic.",
    ),
  routes: z
    .array(z.looseObject({ basePath }))
    .default([])
    .describe(
      'Several upstreams behind one listener: each route sets basePath and may override preset, upstream, auth, accessControl, rateLimit, cors, headers; the rest is inherited.',
    ),
  plugins: z
    .array(
      z.strictObject({
        module: z.string().min(1),
        stage: z.enum(PLUGIN_STAGES),
        options: z.unknown().optional(),
        routes: z.array(basePath).optional(),
      }),
    )
    .default([])
    .describe(
      'ES modules (path relative to the config file, or package name) run at a named stage, on every route or those listed.',
    ),
  upstream: z
    .strictObject({
      url: upstreamUrl.default(DEFAULT_UPSTREAM_URL).describe('Prometheus to forward to.'),
      timeout: duration
        .default(DEFAULT_UPSTREAM_TIMEOUT)
        .describe(
          'Upstream idle timeout (connect, headers, between body chunks); a request silent this long answers 504, checked every quarter of it (at most every second).',
        ),
      forwardAuthorization: z
        .boolean()
        .default(false)
        .describe("Forward the client's Authorization header to the upstream."),
      identityHeaders: z
        .strictObject({
          user: headerName.default('X-Forwarded-User').describe('Header carrying the user name.'),
          groups: headerName.default('X-Forwarded-Groups').describe('Header carrying the groups, comma-separated.'),
        })
        .optional()
        .describe(
          'Tell the upstream who is asking, as oauth2-proxy does; whatever the client sent in these headers is always removed.',
        ),
      maxConnections: z
        .number()
        .int()
        .min(1)
        .default(DEFAULT_UPSTREAM_MAX_CONNECTIONS)
        .describe(
          'Upstream connections for requests; request bodies over 64 KiB, which stream, get a quarter as many more (at least one) of their own.',
        ),
      readyPath: z
        .string()
        .regex(/^$|^\/[^?#\s]*$/, { message: 'must be a path such as /-/ready, or "" to not poll' })
        .optional()
        .describe(
          `Upstream path polled for /-/promgate/ready; "" makes ready mean only "listening". Default: the preset's (${DEFAULT_READY_PATH}; generic: "").`,
        ),
      readyInterval: positiveDuration
        .default(DEFAULT_READY_INTERVAL)
        .describe('How often the upstream ready path is polled; ready needs an answer within 3 intervals.'),
    })
    .default({
      url: DEFAULT_UPSTREAM_URL,
      timeout: DEFAULT_UPSTREAM_TIMEOUT,
      forwardAuthorization: false,
      maxConnections: DEFAULT_UPSTREAM_MAX_CONNECTIONS,
      readyInterval: DEFAULT_READY_INTERVAL,
    }),
  tls: z
    .strictObject({
      certFile: z
        .string()
        .min(1)
        .optional()
        .describe(`Server certificate (PEM). Default ${DEFAULT_CERT_FILE}, generated for development if absent.`),
      keyFile: z
        .string()
        .min(1)
        .optional()
        .describe(`Private key (PEM) of the certificate. Default ${DEFAULT_KEY_FILE}.`),
    })
    .default({}),
  auth: z
    .strictObject({
      htpasswdFile: z
        .string()
        .min(1)
        .optional()
        .describe('Apache .htpasswd file; enables basic auth for everything under the base path. Reloaded on change.'),
      tokensFile: z
        .string()
        .min(1)
        .optional()
        .describe(
          'API tokens file (promgate token create appends to it); clients send Authorization: Bearer promgate_... Reloaded on change.',
        ),
      oidc: z
        .strictObject({
          issuer: z
            .string()
            .refine(isSignInUrl, { message: 'must be an https:// URL (http:// only to localhost) without query' })
            .describe(
              "The OpenID provider's issuer URL; its endpoints come from <issuer>/.well-known/openid-configuration.",
            ),
          clientId: z.string().min(1).describe('The client ID this route has at the provider.'),
          clientSecretFile: z.string().min(1).describe("File holding the client's secret."),
          cookieSecretFile: z
            .string()
            .min(1)
            .describe(
              'File holding the secret sessions are sealed with (openssl rand -base64 32 > file); replicas share it. One per line: the first seals, all open.',
            ),
          externalUrl: z
            .string()
            .refine(isSignInUrl, { message: 'must be an https:// URL (http:// only to localhost) without query' })
            .describe(
              'Where browsers reach this route, base path included, e.g. https://prometheus.example.com/prometheus; register <externalUrl>/-/promgate/callback and <externalUrl>/-/promgate/logout at the provider. The Host header is never used.',
            ),
          scopes: z
            .array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, { message: 'must be an OAuth scope' }))
            .refine((scopes) => scopes.includes('openid'), { message: 'must include openid' })
            .default(['openid', 'profile', 'email'])
            .describe('Scopes asked for: add offline_access for refresh tokens, groups if the provider needs it.'),
          userClaim: z
            .string()
            .min(1)
            .default('preferred_username')
            .describe('ID token claim naming the user (email for Google); a dotted path reaches into an object.'),
          groupsClaim: z
            .string()
            .min(1)
            .default('groups')
            .describe('ID token claim listing the groups (accessControl.groups maps them to roles).'),
          sessionLifetime: positiveDuration
            .default('12h')
            .describe(
              'How long a sign-in lasts; with a refresh token the identity is renewed when the ID token expires.',
            ),
          caFile: providerCaFile,
        })
        .optional()
        .describe(
          'Single sign-on for browsers (OpenID Connect): pages without a session go to the provider; API calls get 401.',
        ),
      users: z
        .record(
          z.string().regex(/^[^:\s]+$/, { message: 'must be a user name without ":" or spaces' }),
          z.string().regex(/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/, {
            message: 'must be a bcrypt hash (promgate hash-password, or htpasswd -nB)',
          }),
        )
        .default({})
        .describe('Users and bcrypt hashes, besides the htpasswd file (e.g. a route of its own): alice=$2y$10$...'),
      off: z
        .boolean()
        .default(false)
        .describe('No basic auth on this route, even when users are configured (e.g. a route for public dashboards).'),
      realm: z
        .string()
        .regex(/^[^"\\\r\n]*$/, { message: 'must not contain quotes, backslashes or line breaks' })
        .default(DEFAULT_REALM)
        .describe('Realm shown in the browser login prompt.'),
      allowPlaintext: z
        .boolean()
        .default(false)
        .describe('Accept plain-text passwords ({PLAIN} or htpasswd -p) in the htpasswd file.'),
      cacheSize: z
        .number()
        .int()
        .min(1)
        .default(DEFAULT_AUTH_CACHE_SIZE)
        .describe('Successful password checks remembered, so bcrypt runs once per user and password.'),
      cacheTtl: positiveDuration
        .default(DEFAULT_AUTH_CACHE_TTL)
        .describe(
          'How long a successful check is remembered; one in use is checked again in the background before then.',
        ),
      unauthenticatedPaths: z
        .array(
          z
            .string()
            .regex(/^\/[^?#\s]*$/, { message: 'must be a path such as /-/healthy (a trailing * matches a prefix)' }),
        )
        .default([])
        .describe('Paths below the base path that skip auth, e.g. /-/healthy,/-/ready. A trailing * matches a prefix.'),
      jwt: z
        .strictObject({
          issuer: providerUrl.describe(
            "The identity provider's issuer URL: tokens must carry it as iss; the keys are discovered from its /.well-known/openid-configuration.",
          ),
          audience: z.string().min(1).describe('The aud a token must carry: this API as the provider names it.'),
          jwksUrl: providerUrl
            .optional()
            .describe("The provider's key set (JWKS) URL; default: jwks_uri of the issuer's discovery document."),
          algorithms: z
            .array(
              z.string().refine((value) => (JWT_ALGORITHMS as readonly string[]).includes(value), {
                error: (issue) =>
                  /^HS/i.test(String(issue.input))
                    ? `${String(issue.input)} is a shared-secret algorithm (whoever holds the secret can mint tokens); use one of ${JWT_ALGORITHMS.join(', ')}`
                    : `must be one of ${JWT_ALGORITHMS.join(', ')}`,
              }),
            )
            .min(1)
            .default([...JWT_ALGORITHMS])
            .describe('Signature algorithms accepted (asymmetric only).'),
          userClaim: z
            .string()
            .min(1)
            .default('sub')
            .describe('Claim naming the user, e.g. preferred_username; a dotted path reaches into an object.'),
          groupsClaim: z
            .string()
            .min(1)
            .default('groups')
            .describe('Claim listing the groups: a list, or a space-separated string; e.g. realm_access.roles.'),
          clockSkew: duration
            .default(DEFAULT_JWT_CLOCK_SKEW)
            .describe("Tolerance for the provider's clock in exp, nbf and iat."),
          caFile: providerCaFile,
        })
        .optional()
        .describe("Accept JWT bearer tokens signed by an identity provider's published keys (OAuth access tokens)."),
    })
    .default({
      users: {},
      off: false,
      realm: DEFAULT_REALM,
      allowPlaintext: false,
      cacheSize: DEFAULT_AUTH_CACHE_SIZE,
      cacheTtl: DEFAULT_AUTH_CACHE_TTL,
      unauthenticatedPaths: [],
    }),
  log: z
    .strictObject({
      level: z.enum(LOG_LEVELS).default('info').describe('Least severe log level written: debug, info, warn or error.'),
      format: z
        .enum(LOG_FORMATS)
        .optional()
        .describe('json, logfmt or pretty. Default: pretty on a terminal, json otherwise.'),
      accessLog: z
        .boolean()
        .default(true)
        .describe('One log line per request (method, path, status, duration, bytes, user).'),
    })
    .default({ level: 'info', accessLog: true }),
  metrics: z
    .strictObject({
      listenAddress: listenAddress
        .optional()
        .describe('Plain-HTTP listener for /metrics and /-/promgate/healthy|ready, e.g. 0.0.0.0:9091. Default off.'),
      exposeOnGateway: z
        .boolean()
        .default(false)
        .describe('Also serve the metrics at <basePath>/-/promgate/metrics, behind TLS and basic auth.'),
    })
    .default({ exposeOnGateway: false }),
  accessControl: z
    .strictObject({
      defaultRole: z
        .string()
        .min(1)
        .default(DEFAULT_ROLE)
        .describe('Role of requests no mapping names (also without auth). viewer: read-only; admin: everything.'),
      users: z
        .record(z.string().min(1), z.string().min(1))
        .default({})
        .describe('User (from any login method) -> role, e.g. alice=admin.'),
      clients: z
        .record(z.string().min(1), z.string().min(1))
        .default({})
        .describe('Verified client certificate (CN or a SAN) -> role, e.g. grafana.example=viewer.'),
      groups: z
        .record(z.string().min(1), z.string().min(1))
        .default({})
        .describe('Group (from an API token, a JWT or single sign-on) -> role, e.g. sre=admin.'),
      roles: z
        .record(
          z.string().regex(/^[a-z][a-z0-9_-]*$/, { message: 'must be a lowercase name such as ops or read-write' }),
          z.strictObject({
            allow: z
              .array(accessRule)
              .optional()
              .describe("Rules the role allows; a role with a tenant and no allow rules gets the viewer's."),
            deny: z.array(accessRule).default([]),
            tenant: tenantScope.optional().describe(
              // biome-ignore lint/suspicious/noTemplateCurlyInString: the placeholders users write
              'Label name -> allowed values: the role sees only series with one of the values for every label, in every query. Values may be ${user}, ${groups} or ${claims.NAME}.',
            ),
          }),
        )
        .default({})
        .describe(
          'Roles besides the built-in viewer and admin (which they may replace): allow and deny rules of methods and paths.',
        ),
    })
    .default({ defaultRole: DEFAULT_ROLE, users: {}, clients: {}, groups: {}, roles: {} }),
  rateLimit: z
    .strictObject({
      perClient: limit(0, '1m', 'Requests per client address'),
      perUser: limit(0, '1m', 'Requests per authenticated user'),
      failedAuthPerClient: limit(
        DEFAULT_FAILED_AUTH_PER_CLIENT,
        DEFAULT_FAILED_AUTH_WINDOW,
        'Failed logins per client address (then 429 without checking passwords)',
      ),
      failedAuthPerUser: limit(
        DEFAULT_FAILED_AUTH_PER_USER,
        DEFAULT_FAILED_AUTH_WINDOW,
        'Failed logins per user name (a password already accepted still works)',
      ),
      redis: z
        .strictObject({
          url: z
            .string()
            .refine(
              (value) => /^rediss?:\/\//.test(value) && URL.canParse(value) && canDecode(new URL(value).password),
              {
                message: 'must be a redis:// or rediss:// URL (percent-encode a password with % or @ in it)',
              },
            )
            .optional()
            .describe('Share the counters between replicas in Redis (redis://host:6379/0); default: in memory.'),
          failOpen: z
            .boolean()
            .default(true)
            .describe(
              'When Redis cannot be reached: true lets requests through (logged and counted), false answers 503.',
            ),
          prefix: z.string().default('promgate:').describe('Prefix of the Redis keys.'),
        })
        .default({ failOpen: true, prefix: 'promgate:' }),
    })
    .default({
      perClient: { requests: 0, window: '1m' },
      perUser: { requests: 0, window: '1m' },
      failedAuthPerClient: { requests: DEFAULT_FAILED_AUTH_PER_CLIENT, window: DEFAULT_FAILED_AUTH_WINDOW },
      failedAuthPerUser: { requests: DEFAULT_FAILED_AUTH_PER_USER, window: DEFAULT_FAILED_AUTH_WINDOW },
      redis: { failOpen: true, prefix: 'promgate:' },
    }),
  cors: z
    .strictObject({
      allowedOrigins: z
        .array(
          z.string().regex(/^(\*|https?:\/\/[^/\s]+)$/, {
            message: 'must be an origin such as https://grafana.example.com, or *',
          }),
        )
        .default([])
        .describe('Origins allowed to call the API from a browser; empty: no CORS headers at all.'),
      allowedMethods: z
        .array(z.enum(HTTP_METHODS))
        .default(['GET', 'HEAD', 'POST'])
        .describe('Methods allowed cross-origin.'),
      allowedHeaders: z
        .array(z.string().regex(/^[A-Za-z0-9-]+$/, { message: 'must be an HTTP header name' }))
        .default(['Authorization', 'Content-Type'])
        .describe('Request headers allowed cross-origin.'),
      allowCredentials: z
        .boolean()
        .default(false)
        .describe('Let browsers send credentials (basic auth, client certificates) cross-origin.'),
      maxAge: duration.default('10m').describe('How long browsers may cache a preflight answer.'),
    })
    .default({
      allowedOrigins: [],
      allowedMethods: ['GET', 'HEAD', 'POST'],
      allowedHeaders: ['Authorization', 'Content-Type'],
      allowCredentials: false,
      maxAge: '10m',
    })
    .refine(({ allowedOrigins, allowCredentials }) => !(allowCredentials && allowedOrigins.includes('*')), {
      message: 'allowCredentials needs the origins listed: browsers refuse credentials with "*"',
      path: ['allowCredentials'],
    }),
  trustProxy: z
    .array(ipOrCidr)
    .default([])
    .describe('Peers (IPs or CIDRs) whose X-Forwarded-* headers are kept and extended.'),
  headers: z
    .record(
      z.string().regex(/^[A-Za-z0-9-]+$/, { message: 'must be an HTTP header name' }),
      z.string().refine((value) => !/[\r\n]/.test(value), { message: 'must not contain line breaks' }),
    )
    .default({})
    .describe('Response headers that replace the security preset ("" removes one), e.g. Content-Security-Policy.'),
});

/** Settings as written by a user (YAML, flags, library options): everything optional. */
export type ConfigInput = z.input<typeof configSchema>;
/** Settings after validation, with every default filled in. */
export type Config = z.output<typeof configSchema>;

export function parseDuration(value: string): number {
  const match = DURATION_PATTERN.exec(value);
  if (!match) throw new Error(`not a duration: ${value}`);
  const [, hours = '0', minutes = '0', seconds = '0', millis = '0'] = match;
  return ((Number(hours) * 60 + Number(minutes)) * 60 + Number(seconds)) * 1000 + Number(millis);
}

function isProviderUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  return (
    url.protocol === 'https:' ||
    (url.protocol === 'http:' && /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/.test(url.hostname))
  );
}

function isHostPort(value: string): boolean {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]*):(\d{1,5})$/.exec(value);
  if (!match) return false;
  const port = Number(match[2]);
  return port >= 0 && port <= 65535;
}

/** A provider or browser-facing URL: HTTPS, or HTTP to this host (where nothing travels a network). */
function isSignInUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  return (
    (url.protocol === 'https:' ||
      (url.protocol === 'http:' && /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/.test(url.hostname))) &&
    !url.search &&
    !url.hash &&
    !url.username &&
    !url.password
  );
}

function isHttpUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  // No credentials in the URL: they would be logged with it (and are not sent upstream anyway).
  return (
    (url.protocol === 'http:' || url.protocol === 'https:') &&
    !url.search &&
    !url.hash &&
    !url.username &&
    !url.password
  );
}

function isIpOrCidr(value: string): boolean {
  const [address = '', prefix, ...rest] = value.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  const bits = Number(prefix);
  return /^\d+$/.test(prefix) && bits <= (family === 4 ? 32 : 128);
}

/** Splits host:port as written in web.listenAddress. */
export function splitHostPort(value: string): { host: string; port: number } {
  const index = value.lastIndexOf(':');
  const host = value.slice(0, index).replace(/^\[(.*)\]$/, '$1');
  return { host: host === '' ? '0.0.0.0' : host, port: Number(value.slice(index + 1)) };
}

function canDecode(text: string): boolean {
  try {
    decodeURIComponent(text);
    return true;
  } catch {
    return false;
  }
}
