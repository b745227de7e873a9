// A browser without a browser: an HTTPS client with a cookie jar that follows redirects across origins and
// fills forms, enough to walk an OpenID sign-in (gateway -> provider login form -> callback -> page).
//
//   const browser = new SsoClient([op.caPem, gatewayCaPem]);
//   const page = await browser.signIn(`${gateway}/graph`, { login: 'alice', password: 'alice-password' });
//   page.url, page.status, page.text, browser.visits (every URL asked, in order)
import { request } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';

export interface Page {
  url: string;
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

interface Cookie {
  name: string;
  value: string;
  host: string;
  path: string;
  expires?: number;
}

export class SsoClient {
  readonly cookies: Cookie[] = [];
  readonly visits: string[] = [];
  private readonly ca: string[];
  /** Sent with every request: what a browser sends on a page navigation. */
  headers: Record<string, string> = { accept: 'text/html', 'sec-fetch-mode': 'navigate' };

  constructor(ca: string[]) {
    this.ca = ca;
  }

  /** One request, no redirects followed; cookies sent and stored. */
  async fetch(
    url: string,
    init: { method?: string; body?: string; headers?: Record<string, string>; rawPath?: string } = {},
  ) {
    const target = new URL(url);
    this.visits.push(url);
    const cookie = this.cookieHeader(target);
    const headers: Record<string, string> = { ...this.headers, ...(cookie ? { cookie } : {}), ...init.headers };
    if (init.body !== undefined) headers['content-type'] ??= 'application/x-www-form-urlencoded';
    const answer = await new Promise<Page>((resolve, reject) => {
      // rawPath: the request target exactly as given, as an attacker's link would send it.
      const where = {
        hostname: target.hostname,
        port: target.port,
        path: init.rawPath ?? target.pathname + target.search,
      };
      const options = { ...where, method: init.method ?? 'GET', ca: this.ca, agent: false, headers };
      const req = request(options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            url,
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(init.body);
    });
    for (const line of answer.headers['set-cookie'] ?? []) this.store(target, line);
    return answer;
  }

  /** Redirects to a URL starting with this are not followed (a callback no server answers). */
  stopAt: string | undefined;

  /** Follows redirects (a 303 or a POST's 302 turn into GET) up to `limit` hops. */
  async follow(url: string, init: { method?: string; body?: string } = {}, limit = 20): Promise<Page> {
    let page = await this.fetch(url, init);
    for (let hops = 0; page.status >= 300 && page.status < 400 && page.headers.location; hops++) {
      if (hops === limit) throw new Error(`more than ${limit} redirects from ${url}`);
      const next = new URL(page.headers.location, page.url).href;
      if (this.stopAt && next.startsWith(this.stopAt)) return page;
      page = await this.fetch(next);
    }
    return page;
  }

  /** Submits the page's first form (its inputs' values, overridden by `fields`). */
  submitForm(page: Page, fields: Record<string, string> = {}): Promise<Page> {
    const form = /<form\b([^>]*)>([\s\S]*?)<\/form>/i.exec(page.text);
    if (!form) throw new Error(`no form on ${page.url} (${page.status}): ${page.text.slice(0, 300)}`);
    const action = attribute(form[1] ?? '', 'action') ?? page.url;
    const method = (attribute(form[1] ?? '', 'method') ?? 'get').toUpperCase();
    const values = new URLSearchParams();
    for (const input of (form[2] ?? '').matchAll(/<input\b([^>]*)>/gi)) {
      const name = attribute(input[1] ?? '', 'name');
      if (name && !(name in fields)) values.set(name, attribute(input[1] ?? '', 'value') ?? '');
    }
    for (const [name, value] of Object.entries(fields)) values.set(name, value);
    const target = new URL(decodeEntities(action), page.url);
    if (method === 'GET') {
      target.search = values.toString();
      return this.follow(target.href);
    }
    return this.follow(target.href, { method, body: values.toString() });
  }

  /** Opens `url`, signs in on the provider's form when it shows, and returns the page it lands on. */
  async signIn(url: string, credentials: { login: string; password: string }): Promise<Page> {
    const page = await this.follow(url);
    if (!/name="password"/.test(page.text)) return page;
    return this.submitForm(page, credentials);
  }

  cookie(name: string): string | undefined {
    return this.cookies.find((cookie) => cookie.name === name)?.value;
  }

  private cookieHeader(target: URL): string {
    const now = Date.now();
    return this.cookies
      .filter(
        (c) =>
          c.host === target.hostname &&
          (c.expires === undefined || c.expires > now) &&
          (target.pathname === c.path ||
            target.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`) ||
            c.path === '/'),
      )
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  private store(target: URL, line: string): void {
    const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
    const equals = pair.indexOf('=');
    const name = pair.slice(0, equals);
    const value = pair.slice(equals + 1);
    let path = target.pathname.replace(/\/[^/]*$/, '') || '/';
    let expires: number | undefined;
    for (const attribute of attributes) {
      const [key = '', ...rest] = attribute.split('=');
      const argument = rest.join('=');
      if (/^path$/i.test(key)) path = argument || '/';
      else if (/^max-age$/i.test(key)) expires = Date.now() + Number(argument) * 1000;
      else if (/^expires$/i.test(key) && expires === undefined) expires = Date.parse(argument);
    }
    const index = this.cookies.findIndex((c) => c.name === name && c.host === target.hostname && c.path === path);
    if (index >= 0) this.cookies.splice(index, 1);
    if (expires !== undefined && expires <= Date.now()) return;
    this.cookies.push({ name, value, host: target.hostname, path, ...(expires !== undefined ? { expires } : {}) });
  }
}

function attribute(tag: string, name: string): string | undefined {
  const match = new RegExp(`\\b${name}\\s*=\\s*("([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(tag);
  const value = match ? (match[2] ?? match[3] ?? match[4]) : undefined;
  return value === undefined ? undefined : decodeEntities(value);
}

function decodeEntities(text: string): string {
  return text
    .replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)))
    .replace(/&#x([0-9a-f]+);/gi, (_, code: string) => String.fromCharCode(Number.parseInt(code, 16)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}
