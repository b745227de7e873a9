// promgate's public API. Mount the gateway in your own Express app, or run the HTTPS server.
export { createGateway, chainStages, HOOKS } from "./gateway.js";
export { createServer } from "./server.js";
export { DEFAULT_TLS12_CIPHERS } from "./tls/listener-tls.js";
export { loadConfig, validateConfig } from "./config/load.js";
export { configSchema } from "./config/schema.js";
export { OPTIONS } from "./config/options.js";
export { ConfigError } from "./errors.js";
export { createLogger, silentLogger } from "./logger.js";
export { generateCertificate, loadServerCredentials, writeCertificateFiles } from "./tls/certificates.js";
export { definePlugin } from "./plugins.js";
//# sourceMappingURL=index.js.map