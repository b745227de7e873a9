export function createLandingPage(routes, gateways) {
    const gate = gateways.find((gateway) => gateway.authenticate)?.authenticate;
    return function landingPage(req, res, next) {
        const render = () => {
            Promise.all(gateways.map((gateway) => gateway.mayOpen(req))).then((open) => {
                const items = routes
                    .filter((_, index) => open[index])
                    .map((route) => {
                    const href = route.basePath === '/' ? '/' : `${route.basePath.replace(/\/$/, '')}/`;
                    return `<li><a href="${escape(href)}">${escape(href)}</a> (${escape(route.preset)})</li>`;
                });
                const body = `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>promgate</title></head><body>\n<h1>promgate</h1>\n${items.length > 0 ? `<ul>\n${items.join('\n')}\n</ul>` : '<p>No route is open to you.</p>'}\n</body></html>\n`;
                res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
                res.end(req.method === 'HEAD' ? undefined : body);
            }, next);
        };
        if (gate)
            gate(req, res, (error) => (error === undefined ? render() : next(error)));
        else
            render();
    };
}
function escape(text) {
    return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
//# sourceMappingURL=index.js.map