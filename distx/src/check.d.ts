import type { Config } from './config/schema.ts';
import type { WebConfig } from './config/web-config.ts';
export declare function checkGatewaySetup(config: Config, webConfig: WebConfig | undefined): Promise<void>;
