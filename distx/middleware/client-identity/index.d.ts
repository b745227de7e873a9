import type { NextFunction, Request, Response } from 'express';
import '../../src/request-state.ts';
export declare function createClientIdentityStage(): (req: Request, _res: Response, next: NextFunction) => void;
