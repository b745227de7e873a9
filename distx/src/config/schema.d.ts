import { z } from 'zod';
/** Prometheus-style duration: 30s, 2m, 1h30m, 500ms. */
export declare const DURATION_PATTERN: RegExp;
export declare const DEFAULT_LISTEN_ADDRESS = "0.0.0.0:8443";
/** Inside Docker's default 10 s stop timeout, so in-flight requests end before a SIGKILL. */
export declare const DEFAULT_SHUTDOWN_GRACE_PERIOD = "8s";
export declare const DEFAULT_BASE_PATH = "/prometheus";
export declare const DEFAULT_UPSTREAM_URL = "http://localhost:9090";
/** Above Prometheus's own default query timeout (2m), so a slow query fails in Prometheus, not here. */
export declare const DEFAULT_UPSTREAM_TIMEOUT = "3m";
export declare const DEFAULT_CERT_FILE = "certs/tls.crt";
export declare const DEFAULT_KEY_FILE = "certs/tls.key";
export declare const DEFAULT_REALM = "promgate";
export declare const DEFAULT_AUTH_CACHE_SIZE = 1024;
export declare const DEFAULT_AUTH_CACHE_TTL = "5m";
/** Slowloris protection: a client gets this long for its TLS handshake and request headers (nginx: 60s). */
export declare const DEFAULT_HEADERS_TIMEOUT = "10s";
/** A whole request, body included (Node's default; Prometheus's --web.read-timeout is also 5m). */
export declare const DEFAULT_REQUEST_TIMEOUT = "5m";
/** Idle keep-alive connections; above the 60s idle timeout of common load balancers. */
export declare const DEFAULT_KEEP_ALIVE_TIMEOUT = "65s";
/** Prometheus's --web.max-connections default. */
export declare const DEFAULT_MAX_CONNECTIONS = 512;
/** Node's default; nginx allows 4 buffers of 8k. */
export declare const DEFAULT_MAX_HEADER_SIZE = 16384;
export declare const DEFAULT_READY_PATH = "/-/ready";
export declare const DEFAULT_READY_INTERVAL = "5s";
export declare const LOG_LEVELS: readonly ["debug", "info", "warn", "error"];
export declare const HTTP_METHODS: readonly ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"];
export declare const PRESETS: readonly ["prometheus", "alertmanager", "pushgateway", "generic"];
export type Preset = (typeof PRESETS)[number];
export declare const PLUGIN_STAGES: readonly ["beforeAuth", "afterAuth", "beforeProxy"];
export declare const DEFAULT_ROLE = "viewer";
export declare const DEFAULT_FAILED_AUTH_PER_CLIENT = 30;
export declare const DEFAULT_FAILED_AUTH_PER_USER = 10;
export declare const DEFAULT_FAILED_AUTH_WINDOW = "5m";
export declare const LOG_FORMATS: readonly ["json", "logfmt", "pretty"];
export declare const configSchema: z.ZodObject<{
    web: z.ZodDefault<z.ZodObject<{
        listenAddress: z.ZodDefault<z.ZodString>;
        shutdownGracePeriod: z.ZodDefault<z.ZodString>;
        headersTimeout: z.ZodDefault<z.ZodString>;
        requestTimeout: z.ZodDefault<z.ZodString>;
        keepAliveTimeout: z.ZodDefault<z.ZodString>;
        maxConnections: z.ZodDefault<z.ZodNumber>;
        maxHeaderSize: z.ZodDefault<z.ZodNumber>;
        config: z.ZodDefault<z.ZodObject<{
            file: z.ZodOptional<z.ZodString>;
        }, z.core.$strict>>;
    }, z.core.$strict>>;
    workers: z.ZodDefault<z.ZodNumber>;
    basePath: z.ZodDefault<z.ZodString>;
    landingPage: z.ZodDefault<z.ZodBoolean>;
    preset: z.ZodDefault<z.ZodEnum<{
        prometheus: "prometheus";
        alertmanager: "alertmanager";
        pushgateway: "pushgateway";
        generic: "generic";
    }>>;
    routes: z.ZodDefault<z.ZodArray<z.ZodObject<{
        basePath: z.ZodString;
    }, z.core.$loose>>>;
    plugins: z.ZodDefault<z.ZodArray<z.ZodObject<{
        module: z.ZodString;
        stage: z.ZodEnum<{
            beforeAuth: "beforeAuth";
            afterAuth: "afterAuth";
            beforeProxy: "beforeProxy";
        }>;
        options: z.ZodOptional<z.ZodUnknown>;
        routes: z.ZodOptional<z.ZodArray<z.ZodString>>;
    }, z.core.$strict>>>;
    upstream: z.ZodDefault<z.ZodObject<{
        url: z.ZodDefault<z.ZodString>;
        timeout: z.ZodDefault<z.ZodString>;
        forwardAuthorization: z.ZodDefault<z.ZodBoolean>;
        readyPath: z.ZodOptional<z.ZodString>;
        readyInterval: z.ZodDefault<z.ZodString>;
    }, z.core.$strict>>;
    tls: z.ZodDefault<z.ZodObject<{
        certFile: z.ZodOptional<z.ZodString>;
        keyFile: z.ZodOptional<z.ZodString>;
    }, z.core.$strict>>;
    auth: z.ZodDefault<z.ZodObject<{
        htpasswdFile: z.ZodOptional<z.ZodString>;
        users: z.ZodDefault<z.ZodRecord<z.ZodString, z.ZodString>>;
        off: z.ZodDefault<z.ZodBoolean>;
        realm: z.ZodDefault<z.ZodString>;
        allowPlaintext: z.ZodDefault<z.ZodBoolean>;
        cacheSize: z.ZodDefault<z.ZodNumber>;
        cacheTtl: z.ZodDefault<z.ZodString>;
        unauthenticatedPaths: z.ZodDefault<z.ZodArray<z.ZodString>>;
    }, z.core.$strict>>;
    log: z.ZodDefault<z.ZodObject<{
        level: z.ZodDefault<z.ZodEnum<{
            debug: "debug";
            info: "info";
            warn: "warn";
            error: "error";
        }>>;
        format: z.ZodOptional<z.ZodEnum<{
            json: "json";
            logfmt: "logfmt";
            pretty: "pretty";
        }>>;
        accessLog: z.ZodDefault<z.ZodBoolean>;
    }, z.core.$strict>>;
    metrics: z.ZodDefault<z.ZodObject<{
        listenAddress: z.ZodOptional<z.ZodString>;
        exposeOnGateway: z.ZodDefault<z.ZodBoolean>;
    }, z.core.$strict>>;
    accessControl: z.ZodDefault<z.ZodObject<{
        defaultRole: z.ZodDefault<z.ZodString>;
        users: z.ZodDefault<z.ZodRecord<z.ZodString, z.ZodString>>;
        clients: z.ZodDefault<z.ZodRecord<z.ZodString, z.ZodString>>;
        roles: z.ZodDefault<z.ZodRecord<z.ZodString, z.ZodObject<{
            allow: z.ZodDefault<z.ZodArray<z.ZodObject<{
                name: z.ZodOptional<z.ZodString>;
                methods: z.ZodOptional<z.ZodArray<z.ZodEnum<{
                    GET: "GET";
                    HEAD: "HEAD";
                    POST: "POST";
                    PUT: "PUT";
                    DELETE: "DELETE";
                    PATCH: "PATCH";
                    OPTIONS: "OPTIONS";
                }>>>;
                paths: z.ZodArray<z.ZodString>;
            }, z.core.$strict>>>;
            deny: z.ZodDefault<z.ZodArray<z.ZodObject<{
                name: z.ZodOptional<z.ZodString>;
                methods: z.ZodOptional<z.ZodArray<z.ZodEnum<{
                    GET: "GET";
                    HEAD: "HEAD";
                    POST: "POST";
                    PUT: "PUT";
                    DELETE: "DELETE";
                    PATCH: "PATCH";
                    OPTIONS: "OPTIONS";
                }>>>;
                paths: z.ZodArray<z.ZodString>;
            }, z.core.$strict>>>;
        }, z.core.$strict>>>;
    }, z.core.$strict>>;
    rateLimit: z.ZodDefault<z.ZodObject<{
        perClient: z.ZodDefault<z.ZodObject<{
            requests: z.ZodDefault<z.ZodNumber>;
            window: z.ZodDefault<z.ZodString>;
        }, z.core.$strict>>;
        perUser: z.ZodDefault<z.ZodObject<{
            requests: z.ZodDefault<z.ZodNumber>;
            window: z.ZodDefault<z.ZodString>;
        }, z.core.$strict>>;
        failedAuthPerClient: z.ZodDefault<z.ZodObject<{
            requests: z.ZodDefault<z.ZodNumber>;
            window: z.ZodDefault<z.ZodString>;
        }, z.core.$strict>>;
        failedAuthPerUser: z.ZodDefault<z.ZodObject<{
            requests: z.ZodDefault<z.ZodNumber>;
            window: z.ZodDefault<z.ZodString>;
        }, z.core.$strict>>;
        redis: z.ZodDefault<z.ZodObject<{
            url: z.ZodOptional<z.ZodString>;
            failOpen: z.ZodDefault<z.ZodBoolean>;
            prefix: z.ZodDefault<z.ZodString>;
        }, z.core.$strict>>;
    }, z.core.$strict>>;
    cors: z.ZodDefault<z.ZodObject<{
        allowedOrigins: z.ZodDefault<z.ZodArray<z.ZodString>>;
        allowedMethods: z.ZodDefault<z.ZodArray<z.ZodEnum<{
            GET: "GET";
            HEAD: "HEAD";
            POST: "POST";
            PUT: "PUT";
            DELETE: "DELETE";
            PATCH: "PATCH";
            OPTIONS: "OPTIONS";
        }>>>;
        allowedHeaders: z.ZodDefault<z.ZodArray<z.ZodString>>;
        allowCredentials: z.ZodDefault<z.ZodBoolean>;
        maxAge: z.ZodDefault<z.ZodString>;
    }, z.core.$strict>>;
    trustProxy: z.ZodDefault<z.ZodArray<z.ZodString>>;
    headers: z.ZodDefault<z.ZodRecord<z.ZodString, z.ZodString>>;
}, z.core.$strict>;
/** Settings as written by a user (YAML, flags, library options): everything optional. */
export type ConfigInput = z.input<typeof configSchema>;
/** Settings after validation, with every default filled in. */
export type Config = z.output<typeof configSchema>;
export declare function parseDuration(value: string): number;
/** Splits host:port as written in web.listenAddress. */
export declare function splitHostPort(value: string): {
    host: string;
    port: number;
};
