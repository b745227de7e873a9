// Debian's Chromium driven by playwright-core, with a page that records everything a user would
// only notice as "the UI is broken": console errors, page errors, failed or >= 400 requests and
// Content-Security-Policy violations.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
/** No sandbox (CI containers run as root), and nothing that phones home during a test. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

export interface PageProblems {
  consoleErrors: string[];
  pageErrors: string[];
  failedRequests: string[];
  errorResponses: string[];
  cspViolations: string[];
}

export interface WatchedPage {
  context: BrowserContext;
  page: Page;
  /** What went wrong so far; CSP violations are read from the current document. */
  problems(): Promise<PageProblems>;
  /** Saves a full-page PNG in a fresh temp folder and returns its path. */
  screenshot(): Promise<string>;
}

/** A page in its own context that trusts any certificate (the gateway's is self-signed). */
export async function openWatchedPage(browser: Browser): Promise<WatchedPage> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  // Reported by the document itself, so violations the console does not print are seen too.
  await context.addInitScript(() => {
    const violations: string[] = [];
    (window as unknown as { __cspViolations: string[] }).__cspViolations = violations;
    document.addEventListener('securitypolicyviolation', (event) => {
      violations.push(
        `${event.effectiveDirective} blocked ${event.blockedURI || 'inline'} (${event.sourceFile}:${event.lineNumber})`,
      );
    });
  });
  const page = await context.newPage();
  const found: Omit<PageProblems, 'cspViolations'> & { cspConsole: string[] } = {
    consoleErrors: [],
    pageErrors: [],
    failedRequests: [],
    errorResponses: [],
    cspConsole: [],
  };
  page.on('console', (message) => {
    const text = `${message.text()} (${message.location().url})`;
    if (message.text().includes('Content Security Policy')) found.cspConsole.push(text);
    else if (message.type() === 'error') found.consoleErrors.push(text);
  });
  page.on('pageerror', (error) => found.pageErrors.push(error.stack || `${error.name}: ${error.message}`)); // a SyntaxError has no stack
  page.on('requestfailed', (request) =>
    found.failedRequests.push(`${request.method()} ${request.url()}: ${request.failure()?.errorText}`),
  );
  page.on('response', (response) => {
    if (response.status() >= 400)
      found.errorResponses.push(`${response.request().method()} ${response.url()}: ${response.status()}`);
  });

  return {
    context,
    page,
    async problems() {
      const reported = await page.evaluate(
        () => (window as unknown as { __cspViolations?: string[] }).__cspViolations ?? [],
      );
      const { cspConsole, ...rest } = found;
      return { ...rest, cspViolations: [...cspConsole, ...reported] };
    },
    async screenshot() {
      const path = join(mkdtempSync(join(tmpdir(), 'promgate-browser-')), 'page.png');
      await page.screenshot({ path, fullPage: true });
      return path;
    },
  };
}
