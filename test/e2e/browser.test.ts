// The Prometheus UI through the gateway in a real browser: it must work under the gateway's CSP
// (inline bootstrap script allowed by hash) without a single console, network or CSP error.
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

const UI_TIMEOUT_MS = 15_000;

/**
 * Debian's libjs-popper.js ships popper.min.js as an ES module (it ends in `export{Popper as
 * default}`) and Prometheus's classic UI loads it as a classic script, so Chromium throws this with
 * or without a gateway. Forgiven only while the file served really is that module.
 */
const DEBIAN_POPPER_ERROR = "SyntaxError: Unexpected token 'export'";
async function servesDebianEsmPopper(setup: PrometheusBehindGateway): Promise<boolean> {
  const popper = await setup.gateway.request('/prometheus/classic/static/popper.js/popper.min.js');
  return popper.status === 200 && /export\s*\{\s*Popper as default\s*\};?\s*$/.test(popper.text);
}

describe('the Prometheus UI behind the gateway, in Chromium', {
  skip: requireCommands(PROMETHEUS_BINARY, CHROMIUM),
}, () => {
  let setup: PrometheusBehindGateway | undefined;
  let browser: Browser | undefined;

  before(async () => {
    setup = await startPrometheusBehindGateway();
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await setup?.close();
  });

  test('runs `up` from the graph page with no console, network or CSP errors', async (t) => {
    assert.ok(setup && browser);
    const watched = await openWatchedPage(browser);
    const { page } = watched;
    try {
      const response = await page.goto(`${setup.baseUrl}/`, { timeout: UI_TIMEOUT_MS });
      assert.equal(
        new URL(page.url()).pathname,
        '/prometheus/classic/graph',
        'the base path leads to the graph page, under the prefix',
      );
      assert.equal(response?.status(), 200);
      const csp = (await response?.allHeaders())?.['content-security-policy'] ?? '';
      assert.match(
        csp,
        /script-src 'self' 'sha256-/,
        'the page is served under a CSP that allows its inline script by hash only',
      );
      // The inline bootstrap script ran, so the hash matched the bytes Chromium saw.
      assert.equal(
        await page.evaluate(() => (window as unknown as { PATH_PREFIX?: string }).PATH_PREFIX),
        '/prometheus',
      );

      const expression = page.locator('textarea.expression_input').first();
      await expression.fill('up', { timeout: UI_TIMEOUT_MS });
      await page.locator('input.execute_btn').first().click();
      const row = page.locator('table.console_table tbody tr').filter({ hasText: 'job="prometheus"' }).first();
      await row.waitFor({ timeout: UI_TIMEOUT_MS });
      const element = (await row.locator('td').first().textContent())?.trim() ?? '';
      assert.equal(element, `up{instance="127.0.0.1:${setup.prometheus.port}",job="prometheus"}`);
      assert.equal((await row.locator('td').nth(1).textContent())?.trim(), '1');
      await page.waitForLoadState('networkidle', { timeout: UI_TIMEOUT_MS }); // late failures count too

      const problems = await watched.problems();
      if (await servesDebianEsmPopper(setup))
        problems.pageErrors = problems.pageErrors.filter((error) => error !== DEBIAN_POPPER_ERROR);
      for (const [kind, list] of Object.entries(problems)) {
        assert.deepEqual(list, [], `${kind}:\n${list.join('\n')}`);
      }
    } catch (error) {
      const screenshot = await watched.screenshot().catch((failure: unknown) => `none (${String(failure)})`);
      t.diagnostic(`screenshot: ${screenshot}`);
      t.diagnostic(`problems: ${JSON.stringify(await watched.problems().catch(() => undefined), null, 2)}`);
      throw error;
    } finally {
      await watched.context.close();
    }
  });
});
