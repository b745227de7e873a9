import type { RequestHandler } from 'express';
import { type Config } from '../../src/config/schema.ts';
export declare function createCorsStage(config: Config['cors']): RequestHandler | undefined;
