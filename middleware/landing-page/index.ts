// The optional page at `/` (landingPage: true) listing the routes the user may open. Credentials
// go through the first authenticated route's own failed-login limits and basic auth, so the page
// is no way around the brute-force throttle; each route then says whether its policy lets this
// user GET its start page.
import type { NextFunction, Request, Response } from 'express';
import type { Config } from '../../src/config/schema.ts';
import type { Gateway } from '../../src/gateway.ts';

export function createLandingPage(routes: readonly Config[], gateways: readonly Gateway[]) {
  const gate = gateways.find((gateway) => gateway.authenticate)?.authenticate;
  return function landingPage(req: Request, res: Response, next: NextFunction): void {
    const render = () => {
      Promise.all(gateways.map((gateway) => gateway.mayOpen(req))).then((open) => {
        const items = routes
          .filter((_, index) => open[index])
          .map((route) => {
            const href = route.basePath === '/' ? '/' : `${route.basePath.replace(/\/$/, '')}/`;
            return `<li><a href="${escape(href)}">${escape(href)}</a> (${escape(route.preset)})</li>`;
          });
        const body = `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>promgate</title></head><body>\n<h1>promgate</h1>\n${
          items.length > 0 ? `<ul>\n${items.join('\n')}\n</ul>` : '<p>No route is open to you.</p>'
        }\n</body></html>\n`;
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : body);
      }, next);
    };
    if (gate) gate(req, res, (error?: unknown) => (error === undefined ? render() : next(error)));
    else render();
  };
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
