// promgate's public API. Mount the gateway in your own Express app, or run the HTTPS server.
export { createGateway } from './gateway.ts';
export type { Gateway, GatewayOptions } from './gateway.ts';
// The hook names and what a middleware author reads on req.promgate (importing these also brings
// the `req.promgate` augmentation of Express's Request to consumers' type checks).
export { HOOKS } from './kernel/request-state.ts';
export type {
  Authenticator,
  Credentials,
  HookName,
  Identity,
  PromgateRequestState,
  Refusal,
  TenantScope,
} from './kernel/request-state.ts';
export { createServer } from './server.ts';
export type { GatewayServer, ServerOptions } from './server.ts';
export { loadConfig, validateConfig } from './config/load.ts';
export type { LoadConfigOptions, LoadedConfig } from './config/load.ts';
export type { Config, ConfigInput } from './config/schema.ts';
export { OPTIONS } from './config/options.ts';
export type { OptionSpec } from './config/options.ts';
export { ConfigError } from './errors.ts';
export { createLogger, silentLogger } from './logger.ts';
export type { Logger, LogLevel, LogFormat } from './logger.ts';
export { generateCertificate, writeCertificateFiles } from './tls/certificates.ts';
export type { GenerateCertificateOptions, ServerCredentials } from './tls/certificates.ts';
export type { ProxyEvents } from '../middleware/proxy/index.ts';
export type { GatewayMetrics, ReloadSource, UpstreamErrorKind } from '../middleware/metrics/index.ts';
export { definePlugin } from './plugins.ts';
export type { ClientIdentity } from './kernel/client-certificate.ts';
export type { PluginContext, PluginDefinition } from './plugins.ts';
