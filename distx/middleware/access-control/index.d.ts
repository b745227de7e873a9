import type { NextFunction, Request, Response } from 'express';
import type { Config } from '../../src/config/schema.ts';
import type { Logger } from '../../src/logger.ts';
import '../../src/request-state.ts';
import type { ClientIdentity } from '../../src/tls/client-certificates.ts';
import { type AccessPolicy } from './policy.ts';
import type { Preset } from './presets.ts';
export { compilePolicy } from './policy.ts';
export { builtInRoles, PRESET_RULES, PRESETS, type Preset } from './presets.ts';
export { pathReadings } from './normalize.ts';
export interface AccessControlOptions {
    config: Config['accessControl'];
    /** Which component's endpoints the built-in viewer role protects. */
    preset?: Preset;
    logger: Logger;
    /** Counts each decision with the rule that made it (self-metrics). */
    onDecision?: (allowed: boolean, rule: string) => void;
}
export interface AccessControlStage {
    policy: AccessPolicy;
    handle(req: Request, res: Response, next: NextFunction): void;
}
export declare function createAccessControlStage(options: AccessControlOptions): AccessControlStage;
/** A verified client certificate's CN and SAN values (an unverified one names nobody). */
export declare function clientNames(client: ClientIdentity | undefined): string[];
