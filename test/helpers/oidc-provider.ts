// A real OpenID provider for tests: oidc-provider (certified, from npm) over HTTPS on a free loopback
// port, with a server certificate from a test CA.
//
//   const op = await startOidcProvider({ redirectUris: ['https://127.0.0.1:8443/-/promgate/callback'] });
//   op.issuer                 'https://127.0.0.1:<port>'
//   op.caFile / op.caPem      the CA that signed the provider's certificate (trust it in the gateway and the test)
//   op.client                 { clientId, clientSecret }: a confidential client (client_secret_basic) allowed the
//                             authorization code (PKCE), refresh token and client credentials grants
//   op.users                  login -> TestUser; change a user's groups and the next token or refresh shows them
//   op.signIn(url)            (in ./sso-client.ts) drives the login form with an HTTP client
//   op.rotateKeys(options)    a new signing key with a new kid; the old public key stays published unless
//                             { retainPrevious: false } (as a real provider rotates: sign with the new, publish both)
//   op.kids()                 the published key ids, signing key first
//   op.clientCredentialsToken({ resource, scope?, claims? })
//                             a JWT access token (client credentials grant, resource indicator): aud = resource,
//                             sub = client_id, scope as asked, plus any extra claims given
//   op.stop()
//
// Users sign in with their login and password on a minimal form (POST /interaction/<uid>/login, fields `login`,
// `password`); consent is given at once. Scopes: openid, profile (name, preferred_username, a user's own
// `claims`), email (email,
// email_verified), groups (groups), offline_access; the ID token carries the claims of its scopes (as Keycloak and
// Dex do). Refresh tokens are issued to the client whenever the refresh_token grant is allowed. End session:
// `${issuer}/session/end`, its confirmation page is a form with `logout=yes` (submitted by a script in browsers).
// Nothing is logged.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import Provider from 'oidc-provider';
import { issueServerCertificate, makeCa } from './pki.ts';

export interface TestUser {
  password: string;
  groups: string[];
  email?: string;
  name?: string;
  /** Defaults to the login. */
  preferredUsername?: string;
  /** More claims, in the ID token with the profile scope (names known at start). */
  claims?: Record<string, unknown>;
}

export interface OidcProviderOptions {
  /** The client's registered redirect URIs (the gateway's callback URLs). */
  redirectUris?: string[];
  /** The client's registered post-logout redirect URIs. */
  postLogoutRedirectUris?: string[];
  /** login -> user; default alice (groups team-a, admins) and bob (groups team-b), password `<login>-password`. */
  users?: Record<string, TestUser>;
  /** Lifetimes in seconds. */
  ttl?: { idToken?: number; accessToken?: number; refreshToken?: number; session?: number };
  clientId?: string;
  /** Whether the client may use refresh tokens (default true). */
  refreshTokens?: boolean;
}

export interface ClientCredentialsRequest {
  /** The resource indicator: the token's audience. */
  resource: string;
  scope?: string;
  /** Extra claims in the access token (groups, a tenant ...). */
  claims?: Record<string, unknown>;
}

export interface TestOidcProvider {
  issuer: string;
  caFile: string;
  caPem: string;
  client: { clientId: string; clientSecret: string };
  users: Map<string, TestUser>;
  rotateKeys(options?: { retainPrevious?: boolean }): Promise<void>;
  kids(): string[];
  clientCredentialsToken(request: ClientCredentialsRequest): Promise<string>;
  stop(): Promise<void>;
}

const DEFAULT_USERS: Record<string, TestUser> = {
  alice: { password: 'alice-password', groups: ['team-a', 'admins'], email: 'alice@example.test', name: 'Alice' },
  bob: { password: 'bob-password', groups: ['team-b'], email: 'bob@example.test', name: 'Bob' },
};

/** The body field that carries a client-credentials request's extra claims (test only). */
const CLAIMS_FIELD = 'test_claims';

export async function startOidcProvider(options: OidcProviderOptions = {}): Promise<TestOidcProvider> {
  const ca = await makeCa('promgate test OpenID provider CA');
  const certificate = await issueServerCertificate(ca);
  const users = new Map(Object.entries(options.users ?? DEFAULT_USERS).map(([login, user]) => [login, { ...user }]));
  const extraClaimNames = [...new Set([...users.values()].flatMap((user) => Object.keys(user.claims ?? {})))];
  const client = { clientId: options.clientId ?? 'promgate', clientSecret: randomBytes(24).toString('base64url') };
  const adapter = createMemoryAdapter();
  const cookieKeys = [randomBytes(32).toString('base64url')];
  let keys: JWK[] = [await newSigningKey()];

  const server = createServer({ cert: certificate.certPem, key: certificate.keyPem });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const configuration = () => ({
    adapter,
    clients: [
      {
        client_id: client.clientId,
        client_secret: client.clientSecret,
        redirect_uris: options.redirectUris ?? [],
        post_logout_redirect_uris: options.postLogoutRedirectUris ?? [],
        response_types: ['code'],
        grant_types: [
          'authorization_code',
          'client_credentials',
          ...(options.refreshTokens === false ? [] : ['refresh_token']),
        ],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    cookies: { keys: cookieKeys },
    jwks: { keys },
    scopes: ['openid', 'offline_access', 'profile', 'email', 'groups'],
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username', ...extraClaimNames],
      email: ['email', 'email_verified'],
      groups: ['groups'],
    },
    conformIdTokenClaims: false,
    findAccount: (_ctx: unknown, id: string) => {
      if (!users.has(id)) return undefined;
      return {
        accountId: id,
        claims: () => {
          const user = users.get(id);
          return {
            sub: id,
            name: user?.name ?? id,
            preferred_username: user?.preferredUsername ?? id,
            email: user?.email,
            email_verified: user?.email !== undefined,
            groups: user?.groups ?? [],
            ...user?.claims,
          };
        },
      };
    },
    issueRefreshToken: (_ctx: unknown, oidcClient: { grantTypeAllowed(type: string): boolean }) =>
      oidcClient.grantTypeAllowed('refresh_token'),
    pkce: { required: () => true },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx: { body: string }, form: string) => {
          // Signing out of the provider too, confirmed at once (a browser's script submits the form).
          const confirmed = form.replace('</form>', '<input type="hidden" name="logout" value="yes"></form>');
          ctx.body = page('Sign out', `${confirmed}<script>document.forms[0].submit()</script>`);
        },
        postLogoutSuccessSource: (ctx: { body: string }) => {
          ctx.body = page('Signed out', '<p>You are signed out.</p>');
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx: { oidc?: { params?: { scope?: unknown } } }, resource: string) => ({
          scope: typeof ctx.oidc?.params?.scope === 'string' ? ctx.oidc.params.scope : '',
          audience: resource,
          accessTokenFormat: 'jwt',
          accessTokenTTL: options.ttl?.accessToken ?? 600,
        }),
      },
    },
    extraTokenClaims: (ctx: { oidc?: { body?: Record<string, unknown> } }) => {
      const claims = ctx.oidc?.body?.[CLAIMS_FIELD];
      return typeof claims === 'string' ? JSON.parse(claims) : undefined;
    },
    clientBasedCORS: () => false,
    renderError: (ctx: { type: string; body: string }, out: Record<string, string>) => {
      ctx.type = 'html';
      ctx.body = page('Error', `<pre>${escapeHtml(JSON.stringify(out))}</pre>`);
    },
    ttl: {
      AccessToken: options.ttl?.accessToken ?? 600,
      AuthorizationCode: 60,
      ClientCredentials: options.ttl?.accessToken ?? 600,
      DeviceCode: 600,
      BackchannelAuthenticationRequest: 600,
      PreAuthorizedCode: 600,
      IdToken: options.ttl?.idToken ?? 600,
      RefreshToken: options.ttl?.refreshToken ?? 3600,
      Interaction: 600,
      Session: options.ttl?.session ?? 3600,
      Grant: 3600,
    },
  });

  // Rotating keys builds a new provider on the same storage, cookies and port: sessions and grants survive.
  let provider = new Provider(issuer, configuration());
  let handle = provider.callback();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const interaction = /^\/interaction\/([^/?]+)(\/login)?(?:\?|$)/.exec(req.url ?? '');
    if (!interaction) {
      handle(req, res);
      return;
    }
    answerInteraction(provider, users, req, res, interaction[2] !== undefined).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/html; charset=utf-8' });
      res.end(page('Error', `<p>${escapeHtml(String(error))}</p>`));
    });
  });

  return {
    issuer,
    caFile: ca.certFile,
    caPem: ca.certPem,
    client,
    users,
    kids: () => keys.map((key) => key.kid ?? ''),
    async rotateKeys(rotation = {}) {
      const fresh = await newSigningKey();
      keys = rotation.retainPrevious === false ? [fresh] : [fresh, ...keys];
      provider = new Provider(issuer, configuration());
      handle = provider.callback();
    },
    async clientCredentialsToken(tokenRequest) {
      const form = new URLSearchParams({ grant_type: 'client_credentials', resource: tokenRequest.resource });
      if (tokenRequest.scope) form.set('scope', tokenRequest.scope);
      if (tokenRequest.claims) form.set(CLAIMS_FIELD, JSON.stringify(tokenRequest.claims));
      const basic = Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64');
      const answer = await post(`${issuer}/token`, form.toString(), ca.certPem, `Basic ${basic}`);
      const body = JSON.parse(answer.text) as { access_token?: string };
      if (answer.status !== 200 || !body.access_token) {
        throw new Error(`client credentials grant failed: ${answer.status} ${answer.text}`);
      }
      return body.access_token;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The login form, and consent given at once: every scope and resource the client asked for. */
async function answerInteraction(
  provider: Provider,
  users: Map<string, TestUser>,
  req: IncomingMessage,
  res: ServerResponse,
  submitted: boolean,
): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  let accountId = details.session?.accountId;
  if (details.prompt.name === 'login') {
    if (!submitted) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(loginPage(details.uid));
      return;
    }
    const form = new URLSearchParams(await readBody(req));
    const login = form.get('login') ?? '';
    if (users.get(login)?.password !== form.get('password')) {
      res.writeHead(401, { 'content-type': 'text/html; charset=utf-8' });
      res.end(loginPage(details.uid, 'Wrong login or password.'));
      return;
    }
    accountId = login;
  }
  if (!accountId) throw new Error('no account for this interaction');
  const clientId = String(details.params.client_id);
  const grant =
    (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ??
    new provider.Grant({ accountId, clientId });
  const scope = typeof details.params.scope === 'string' ? details.params.scope : 'openid';
  grant.addOIDCScope(scope);
  if (typeof details.params.resource === 'string') grant.addResourceScope(details.params.resource, scope);
  const grantId = await grant.save();
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId }, consent: { grantId } },
    { mergeWithLastSubmission: false },
  );
}

function loginPage(uid: string, error = ''): string {
  return page(
    'Sign in',
    `${error ? `<p class="error">${escapeHtml(error)}</p>` : ''}` +
      `<form method="post" action="/interaction/${encodeURIComponent(uid)}/login">` +
      '<input name="login" autofocus placeholder="login"><input name="password" type="password" placeholder="password">' +
      '<button type="submit">Sign in</button></form>',
  );
}

function page(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

async function newSigningKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid: randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig' };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function post(url: string, body: string, ca: string, authorization: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        ca,
        agent: false,
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** oidc-provider's storage interface over one Map per provider (its own in-memory adapter warns on every start). */
function createMemoryAdapter() {
  const store = new Map<string, Record<string, unknown>>();
  return class MemoryAdapter {
    readonly model: string;
    constructor(model: string) {
      this.model = model;
    }
    key(id: string) {
      return `${this.model}:${id}`;
    }
    async upsert(id: string, payload: Record<string, unknown>) {
      store.set(this.key(id), payload);
    }
    async find(id: string) {
      return store.get(this.key(id));
    }
    async findByUid(uid: string) {
      for (const [key, payload] of store) if (key.startsWith(`${this.model}:`) && payload.uid === uid) return payload;
      return undefined;
    }
    async findByUserCode(userCode: string) {
      for (const [key, payload] of store)
        if (key.startsWith(`${this.model}:`) && payload.userCode === userCode) return payload;
      return undefined;
    }
    async consume(id: string) {
      const payload = store.get(this.key(id));
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
    }
    async destroy(id: string) {
      store.delete(this.key(id));
    }
    async revokeByGrantId(grantId: string) {
      for (const [key, payload] of store) if (payload.grantId === grantId) store.delete(key);
    }
  };
}
