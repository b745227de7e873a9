// One way to stand up single sign-on for a test: the test OpenID provider, gateway ports chosen
// first (the provider must know their callback URLs), secret files, and auth.oidc settings.
//
//   const sso = await startSsoProvider({ gateways: 2 });
//   const gateway = await startTestGateway({ upstream, web: { listenAddress: sso.listenAddress(0) }, auth: sso.auth(0) });
//   const browser = sso.browser(gateway.cert.cert);
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ConfigInput } from '../../src/config/schema.ts';
import { startOidcProvider, type OidcProviderOptions, type TestOidcProvider } from './oidc-provider.ts';
import { freePort } from './ports.ts';
import { SsoClient } from './sso-client.ts';

type OidcSettings = NonNullable<NonNullable<ConfigInput['auth']>['oidc']>;

export interface SsoSetup {
  op: TestOidcProvider;
  ports: number[];
  /** https://127.0.0.1:<port><basePath> of gateway `index` (basePath default /prometheus, the gateway's). */
  externalUrl(index: number): string;
  listenAddress(index: number): string;
  /** The route's `auth` settings for gateway `index` (another cookie secret file when given). */
  auth(index: number, oidc?: Partial<OidcSettings>): { oidc: OidcSettings };
  cookieSecretFile: string;
  clientSecretFile: string;
  /** A fresh cookie secret file (another secret: its sessions do not open elsewhere). */
  otherCookieSecretFile(): string;
  browser(...ca: string[]): SsoClient;
  stop(): Promise<void>;
}

export async function startSsoProvider(
  options: { gateways?: number; basePath?: string; provider?: OidcProviderOptions } = {},
): Promise<SsoSetup> {
  const basePath = options.basePath ?? '/prometheus'; // the gateway's default
  const ports: number[] = [];
  for (let index = 0; index < (options.gateways ?? 1); index++) ports.push(await freePort());
  const externalUrl = (index: number) => `https://127.0.0.1:${ports[index]}${basePath}`;
  const op = await startOidcProvider({
    redirectUris: ports.map((_, index) => `${externalUrl(index)}/-/promgate/callback`),
    postLogoutRedirectUris: ports.map((_, index) => `${externalUrl(index)}/-/promgate/logout`),
    ...options.provider,
  });
  const folder = mkdtempSync(join(tmpdir(), 'promgate-sso-'));
  const write = (name: string, text: string) => {
    const file = join(folder, name);
    writeFileSync(file, text, { mode: 0o600 });
    return file;
  };
  const cookieSecretFile = write('cookie-secret', `${randomBytes(32).toString('base64')}\n`);
  const clientSecretFile = write('client-secret', `${op.client.clientSecret}\n`);
  let others = 0;
  return {
    op,
    ports,
    externalUrl,
    listenAddress: (index) => `127.0.0.1:${ports[index]}`,
    auth: (index, oidc = {}) => ({
      oidc: {
        issuer: op.issuer,
        clientId: op.client.clientId,
        clientSecretFile,
        cookieSecretFile,
        externalUrl: externalUrl(index),
        caFile: op.caFile,
        scopes: ['openid', 'profile', 'email', 'groups'],
        ...oidc,
      },
    }),
    cookieSecretFile,
    clientSecretFile,
    otherCookieSecretFile: () => write(`cookie-secret-${++others}`, `${randomBytes(32).toString('base64')}\n`),
    browser: (...ca) => new SsoClient([op.caPem, ...ca]),
    stop: () => op.stop(),
  };
}
