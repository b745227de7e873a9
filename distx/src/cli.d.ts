#!/usr/bin/env node
import { type Config } from './config/schema.ts';
export declare function main(argv: string[]): Promise<number>;
/** The metrics listener when there is one (plain HTTP, no client certificate needed), else the HTTPS one. */
export declare function healthcheckUrl(config: Config, ready: boolean): URL;
