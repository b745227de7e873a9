// What each component's viewer may not touch, and which of its reads come as POST. The viewer
// role of a route is built from its preset: reads (GET, HEAD, OPTIONS) anywhere but the preset's
// protected endpoints, plus the preset's read POSTs.
import type { AccessRule, RoleDefinition } from './policy.ts';

/** The components a route can front; the config schema offers exactly these. */
export const PRESETS = ['prometheus', 'alertmanager', 'pushgateway', 'generic'] as const;
export type Preset = (typeof PRESETS)[number];

/**
 * Go's net/http/pprof (and expvar where it is linked in), which Prometheus, Alertmanager and the
 * Pushgateway serve under /debug/: heap and goroutine dumps, the command line, CPU profiles and
 * traces that run as long as the client asks. Not reads: they leak memory and cost CPU.
 */
const GO_DEBUG: AccessRule = { name: 'debug', paths: ['/debug/**'] };

interface PresetRules {
  protected: readonly AccessRule[];
  readPosts: readonly string[];
  /** The component's own readiness endpoint, polled by /-/promgate/ready ('' for none). */
  readyPath: string;
}

export const PRESET_RULES: Readonly<Record<Preset, PresetRules>> = {
  prometheus: {
    protected: [
      { name: 'admin-api', paths: ['/api/v1/admin/**'] },
      { name: 'lifecycle', paths: ['/-/quit', '/-/reload'] },
      { name: 'remote-write', paths: ['/api/v1/write'] },
      { name: 'otlp-write', paths: ['/api/v1/otlp/**'] },
      GO_DEBUG,
    ],
    // Long queries do not fit in a URL: Prometheus takes these reads as POST too.
    readPosts: [
      '/api/v1/query',
      '/api/v1/query_range',
      '/api/v1/query_exemplars',
      '/api/v1/series',
      '/api/v1/labels',
      '/api/v1/format_query',
      '/api/v1/parse_query',
      '/api/v1/read',
    ],
    readyPath: '/-/ready',
  },
  alertmanager: {
    protected: [
      { name: 'lifecycle', paths: ['/-/reload', '/-/quit'] },
      // Creating, updating or expiring silences, and pushing alerts.
      {
        name: 'silences-write',
        methods: ['POST', 'PUT', 'PATCH', 'DELETE'],
        paths: ['/api/v2/silences', '/api/v2/silence/**', '/api/v1/silences', '/api/v1/silence/**'],
      },
      {
        name: 'alerts-write',
        methods: ['POST', 'PUT', 'PATCH', 'DELETE'],
        paths: ['/api/v2/alerts', '/api/v1/alerts'],
      },
      GO_DEBUG,
    ],
    readPosts: [],
    readyPath: '/-/ready',
  },
  pushgateway: {
    protected: [
      { name: 'lifecycle', paths: ['/-/reload', '/-/quit'] },
      { name: 'wipe', paths: ['/api/v1/admin/**'] },
      // Pushes (PUT, POST) and deletes of groups; reading /metrics stays allowed.
      { name: 'push', methods: ['PUT', 'POST', 'DELETE', 'PATCH'], paths: ['/metrics/**'] },
      GO_DEBUG,
    ],
    readPosts: [],
    readyPath: '/-/ready',
  },
  // Any upstream: only the Go debug handlers' own paths, since /debug/ may be an app's read page.
  generic: { protected: [{ name: 'debug', paths: ['/debug/pprof/**', '/debug/vars'] }], readPosts: [], readyPath: '' },
};

/** The built-in roles for a preset: viewer (read-only, as above) and admin (everything). */
export function builtInRoles(preset: Preset): Record<string, RoleDefinition> {
  const rules = PRESET_RULES[preset];
  return {
    viewer: {
      allow: [
        { name: 'read', methods: ['GET', 'HEAD', 'OPTIONS'], paths: ['/**'] },
        ...(rules.readPosts.length > 0 ? [{ name: 'query-post', methods: ['POST'], paths: rules.readPosts }] : []),
      ],
      deny: rules.protected,
    },
    admin: { allow: [{ name: 'all', paths: ['/**'] }], deny: [] },
  };
}
