// Single sign-on as a user meets it: Chromium opens Prometheus behind the gateway, is sent to the
// OpenID provider's login form, comes back to the Prometheus UI under the base path, runs a query,
// reloads still signed in, and signs out.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { CHROMIUM, launchChromium, openWatchedPage } from '../helpers/browser.ts';
import {
  PROMETHEUS_BINARY,
  startPrometheusBehindGateway,
  type PrometheusBehindGateway,
} from '../helpers/prometheus.ts';
import { requireCommands } from '../helpers/requirements.ts';
import { startSsoProvider, type SsoSetup } from '../helpers/sso.ts';

const UI_TIMEOUT_MS = 15_000;

describe('signing in to the Prometheus UI through the gateway, in Chromium', {
  skip: requireCommands(PROMETHEUS_BINARY, CHROMIUM),
}, () => {
  let sso: SsoSetup | undefined;
  let setup: PrometheusBehindGateway | undefined;
  let browser: Browser | undefined;

  before(async () => {
    sso = await startSsoProvider();
    setup = await startPrometheusBehindGateway({ web: { listenAddress: sso.listenAddress(0) }, auth: sso.auth(0) });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await setup?.close();
    await sso?.stop();
  });

  test('signs in at the provider, queries, reloads signed in, and signs out', async (t) => {
    assert.ok(sso && setup && browser);
    const watched = await openWatchedPage(browser);
    const { page } = watched;
    try {
      await page.goto(`${setup.baseUrl}/`, { timeout: UI_TIMEOUT_MS });
      assert.equal(new URL(page.url()).origin, sso.op.issuer, 'sent to the provider');
      await page.locator('input[name="login"]').fill('alice');
      await page.locator('input[name="password"]').fill('alice-password');
      await page.locator('button[type="submit"]').click();
      await page.waitForURL(
        (url) => url.href.startsWith(`${setup?.baseUrl}/`) && !url.pathname.includes('/-/promgate/'),
        {
          timeout: UI_TIMEOUT_MS,
        },
      );
      assert.match(new URL(page.url()).pathname, /^\/prometheus\/(classic\/)?graph$/, 'the UI, under the base path');

      const cookies = await watched.context.cookies(setup.baseUrl);
      const session = cookies.find((cookie) => cookie.name === 'promgate_session');
      assert.ok(session, 'a session cookie');
      assert.deepEqual(
        { httpOnly: session.httpOnly, secure: session.secure, sameSite: session.sameSite, path: session.path },
        { httpOnly: true, secure: true, sameSite: 'Lax', path: '/prometheus' },
      );

      const runUp = async () => {
        const expression = page.locator('textarea.expression_input').first();
        await expression.fill('up', { timeout: UI_TIMEOUT_MS });
        await page.locator('input.execute_btn').first().click();
        const row = page.locator('table.console_table tbody tr').filter({ hasText: 'job="prometheus"' }).first();
        await row.waitFor({ timeout: UI_TIMEOUT_MS });
        return (await row.locator('td').nth(1).textContent())?.trim();
      };
      assert.equal(await runUp(), '1', 'the query ran through the gateway with the session');

      await page.reload({ timeout: UI_TIMEOUT_MS });
      assert.match(new URL(page.url()).pathname, /^\/prometheus\/(classic\/)?graph$/, 'still signed in after a reload');
      assert.equal(await runUp(), '1');

      await page.goto(`${setup.baseUrl}/-/promgate/logout`, { timeout: UI_TIMEOUT_MS });
      await page.waitForURL(`${setup.baseUrl}/-/promgate/logout`, { timeout: UI_TIMEOUT_MS });
      await page.getByText('You are signed out').waitFor({ timeout: UI_TIMEOUT_MS });
      const left = await watched.context.cookies(setup.baseUrl);
      assert.equal(
        left.find((cookie) => cookie.name === 'promgate_session'),
        undefined,
        'the session cookie is gone',
      );

      await page.goto(`${setup.baseUrl}/graph`, { timeout: UI_TIMEOUT_MS });
      assert.equal(new URL(page.url()).origin, sso.op.issuer, 'signed out at the provider too: its form again');
      await page.locator('input[name="password"]').waitFor({ timeout: UI_TIMEOUT_MS });
    } catch (error) {
      const screenshot = await watched.screenshot().catch((failure: unknown) => `none (${String(failure)})`);
      t.diagnostic(`screenshot: ${screenshot} at ${page.url()}`);
      t.diagnostic(`problems: ${JSON.stringify(await watched.problems().catch(() => undefined), null, 2)}`);
      throw error;
    } finally {
      await watched.context.close();
    }
  });
});
