// The few pages the sign-in answers itself: plain HTML, no script, nothing from the request but
// escaped text.
import type { ServerResponse } from 'node:http';

export function sendPage(
  res: ServerResponse,
  status: number,
  title: string,
  message: string,
  link?: { href: string; text: string },
  ...cookies: string[]
): void {
  const action = link ? `<p><a href="${escapeHtml(link.href)}">${escapeHtml(link.text)}</a></p>` : '';
  const body =
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>` +
    `<body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>${action}</body></html>\n`;
  // Appended: a cookie an earlier step set on this answer stays.
  for (const cookie of cookies) res.appendHeader('set-cookie', cookie);
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
