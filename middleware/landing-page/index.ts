// The optional page at `/` (landingPage: true) listing the routes the user may open. It logs the
// user in once per request, behind the first authenticated route's failed-login limits, so the
// page is no way around the brute-force throttle and costs no more checks than there are distinct
// users files: routes sharing a file share one check. A route is listed when its users accept the
// credentials (or it has no auth) and its policy lets this user GET its start page.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { credentialsOf, type Refusal, setIdentity } from '../../src/kernel/request-state.ts';

type VerifyResult = 'ok' | 'unknown_user' | 'wrong_password';

/** A route's users, as the basic authenticator holds them. */
export interface LandingUsers {
  /** Equal for routes holding the same users (same file, same fixed users). */
  readonly key: string;
  verify(user: string, password: string): Promise<VerifyResult>;
  isKnownGood(user: string, password: string): boolean;
  knows(user: string): boolean;
}

/** How the landing page logs a user in on a route: its users, its limits and its 401. */
export interface LandingLogin {
  readonly users: LandingUsers;
  /** Credentials known right (or being checked) skip the failed-login limits, as on the route. */
  sparedFromFailedLoginLimits(req: Request): boolean;
  readonly limitFailedLogins: RequestHandler | undefined;
  /** The route's 401 answer, counted and logged as a refused login there. */
  refuse(req: Request, res: Response, refusal: Refusal): void;
}

/** What the landing page needs of a route. */
export interface LandingRoute {
  readonly basePath: string;
  readonly preset: string;
  /** undefined when the route has no password login. */
  readonly login: LandingLogin | undefined;
  /** Whether this user (undefined: anonymous) may GET the route's start page. */
  mayOpen(req: Request, user: string | undefined): boolean;
}

export function createLandingPage(landings: readonly LandingRoute[]) {
  const routes = landings;
  const gate = landings.find((landing) => landing.login)?.login;
  // One table per distinct users file (and fixed users): the first route holding it checks for all.
  const tables = new Map<string, LandingUsers>();
  for (const landing of landings)
    if (landing.login && !tables.has(landing.login.users.key)) tables.set(landing.login.users.key, landing.login.users);
  const logins = landings.flatMap((landing) => (landing.login ? [landing.login] : []));

  const render = (req: Request, res: Response, user: string | undefined, accepted: ReadonlySet<string>) => {
    const items = routes
      .filter((_, index) => {
        const landing = landings[index]!;
        if (!landing.login) return landing.mayOpen(req, undefined);
        return user !== undefined && accepted.has(landing.login.users.key) && landing.mayOpen(req, user);
      })
      .map((route) => {
        const href = route.basePath === '/' ? '/' : `${route.basePath.replace(/\/$/, '')}/`;
        return `<li><a href="${escapeHtml(href)}">${escapeHtml(href)}</a> (${escapeHtml(route.preset)})</li>`;
      });
    const body = `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>promgate</title></head><body>\n<h1>promgate</h1>\n${
      items.length > 0 ? `<ul>\n${items.join('\n')}\n</ul>` : '<p>No route is open to you.</p>'
    }\n</body></html>\n`;
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  const logIn = (req: Request, res: Response, next: NextFunction, login: LandingLogin) => {
    const credentials = credentialsOf(req);
    if (credentials?.user === undefined) return login.refuse(req, res, { refused: 'missing_credentials' });
    const { user, password } = credentials;
    checkEachTable([...tables], user, password).then((results) => {
      const accepted = new Set(results.filter(([, result]) => result === 'ok').map(([key]) => key));
      if (accepted.size === 0)
        return login.refuse(req, res, {
          refused: results.some(([, result]) => result === 'wrong_password') ? 'wrong_password' : 'unknown_user',
          claimed: user,
        });
      setIdentity(req, { user, groups: [], method: 'basic' });
      render(req, res, user, accepted);
    }, next);
  };

  return function landingPage(req: Request, res: Response, next: NextFunction): void {
    if (!gate) return render(req, res, undefined, new Set());
    if (credentialsOf(req) === undefined) return gate.refuse(req, res, { refused: 'missing_credentials' });
    // Credentials some route knows to be right (or is checking now) pass, as they would there.
    const limit = logins.some((login) => login.sparedFromFailedLoginLimits(req)) ? undefined : gate.limitFailedLogins;
    if (!limit) return logIn(req, res, next, gate);
    void limit(req, res, (error?: unknown) => (error === undefined ? logIn(req, res, next, gate) : next(error)));
  };
}

/**
 * Each distinct table once. Credentials a table already knows to be right pass the failed-login
 * limits, so then no other table checks them: a name another file holds with another password would
 * otherwise cost an unthrottled check per visit. Otherwise every table checks, an unknown name
 * included, so a refusal costs the same whatever tables hold the name.
 */
async function checkEachTable(
  tables: ReadonlyArray<readonly [string, LandingUsers]>,
  user: string,
  password: string,
): Promise<Array<[string, VerifyResult]>> {
  const loggedIn = tables.some(([, table]) => table.isKnownGood(user, password));
  return Promise.all(
    tables.map(
      async ([key, table]): Promise<[string, VerifyResult]> => [
        key,
        loggedIn && !table.isKnownGood(user, password) ? 'unknown_user' : await table.verify(user, password),
      ],
    ),
  );
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
