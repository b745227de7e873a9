import type { NextFunction, Request, Response } from 'express';
import type { Config } from '../../src/config/schema.ts';
import type { Gateway } from '../../src/gateway.ts';
export declare function createLandingPage(routes: readonly Config[], gateways: readonly Gateway[]): (req: Request, res: Response, next: NextFunction) => void;
