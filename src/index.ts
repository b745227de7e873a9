// promgate's public API. Mount the gateway in your own Express app, or run the HTTPS server.
export { createGateway, chainStages, HOOKS } from './gateway.ts';
export type { Gateway, GatewayOptions, HookName, Stage } from './gateway.ts';
export { createServer } from './server.ts';
export { DEFAULT_TLS12_CIPHERS } from './tls/listener-tls.ts';
export type { GatewayServer, ServerOptions } from './server.ts';
export { loadConfig, validateConfig } from './config/load.ts';
export type { LoadConfigOptions, LoadedConfig } from './config/load.ts';
export { configSchema } from './config/schema.ts';
export type { Config, ConfigInput } from './config/schema.ts';
export { OPTIONS } from './config/options.ts';
export type { OptionSpec } from './config/options.ts';
export { ConfigError } from './errors.ts';
export { createLogger, silentLogger } from './logger.ts';
export type { Logger, LogLevel, LogFormat } from './logger.ts';
export { generateCertificate, loadServerCredentials, writeCertificateFiles } from './tls/certificates.ts';
export type { GenerateCertificateOptions, ServerCredentials } from './tls/certificates.ts';
export type { ProxyEvents } from '../middleware/proxy/index.ts';
export type { GatewayMetrics, ReloadSource, UpstreamErrorKind } from '../middleware/metrics/index.ts';
export { definePlugin } from './plugins.ts';
// Also brings the `req.promgate` augmentation of Express's Request to consumers' type checks.
export type { PromgateRequestState } from './request-state.ts';
export type { ClientIdentity } from './tls/client-certificates.ts';
export type { PluginContext, PluginDefinition } from './plugins.ts';
