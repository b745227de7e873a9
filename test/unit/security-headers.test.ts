import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { createSecurityHeaders } from '../../middleware/security-headers/index.ts';
import { inlineScripts } from '../../middleware/proxy/response.ts';

const header = (pairs: ReadonlyArray<readonly [string, string]>, name: string) =>
  pairs.find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1];

describe('security headers preset', () => {
  it('sets helmet headers, HSTS and a CSP without unsafe-inline scripts', () => {
    const { headers } = createSecurityHeaders();
    assert.equal(header(headers, 'Strict-Transport-Security'), 'max-age=31536000; includeSubDomains');
    assert.equal(header(headers, 'X-Content-Type-Options'), 'nosniff');
    assert.equal(header(headers, 'X-Frame-Options'), 'SAMEORIGIN');
    const csp = header(headers, 'Content-Security-Policy') ?? '';
    assert.match(csp, /script-src 'self';/);
    assert.doesNotMatch(csp, /script-src[^;]*unsafe-inline/);
  });

  it('lets each header be replaced or removed', () => {
    const { headers, managed, hashesInlineScripts } = createSecurityHeaders({
      overrides: {
        'X-Frame-Options': 'DENY',
        'Strict-Transport-Security': '',
        'Content-Security-Policy': "default-src 'none'",
      },
    });
    assert.equal(header(headers, 'X-Frame-Options'), 'DENY');
    assert.equal(header(headers, 'Strict-Transport-Security'), undefined);
    assert.ok(managed.has('strict-transport-security'), 'a removed header is still kept from the upstream');
    assert.equal(header(headers, 'Content-Security-Policy'), "default-src 'none'");
    assert.equal(hashesInlineScripts, false);
  });

  it('adds the sha256 of each executable inline script in <head> to script-src for HTML', () => {
    const html = Buffer.from(
      '<html><head><script src="/a.js"></script><script>var PATH_PREFIX = "/p";</script><SCRIPT type="module">\nx()\n</SCRIPT>' +
        '<script type="text/x-handlebars-template">{{x}}</script></head><body><script>injected()</script></body></html>',
    );
    const scripts = inlineScripts(html);
    assert.deepEqual(scripts.map(String), ['var PATH_PREFIX = "/p";', '\nx()\n']);
    const policy = createSecurityHeaders().htmlPolicy(scripts) ?? '';
    for (const script of scripts) {
      const hash = createHash('sha256').update(script).digest('base64');
      assert.ok(policy.includes(`'sha256-${hash}'`), policy);
    }
  });

  it('hashes no script outside <head>, and none without a </head>', () => {
    assert.deepEqual(
      inlineScripts(Buffer.from('<html><head></head><body><script>alert(1)</script></body></html>')),
      [],
    );
    assert.deepEqual(inlineScripts(Buffer.from('<script>alert(1)</script>')), []);
  });

  it('hashes the exact bytes of non-ASCII scripts', () => {
    const [script] = inlineScripts(Buffer.from('<head><script>const label = "grüße";</script></head>'));
    assert.equal(script?.toString('utf8'), 'const label = "grüße";');
  });
});
