import type { RequestHandler } from 'express';
import type { Registry } from 'prom-client';
import type { z } from 'zod';
import type { Config } from './config/schema.ts';
import type { HookName } from './gateway.ts';
import type { Logger } from './logger.ts';
export interface PluginContext {
    /** The gateway's logger, with `plugin: <name>` on every line. */
    logger: Logger;
    /** promgate's prom-client registry: register the plugin's metrics here. */
    registry: Registry;
    /** The settings of the route the plugin runs on (basePath, upstream, preset, ...). */
    route: Readonly<Config>;
}
export interface PluginDefinition<Options = unknown> {
    /** Shown in logs and errors. */
    name: string;
    /** A zod schema for the options; invalid options stop the start with an error naming the module. */
    options?: z.ZodType<Options>;
    create(options: Options, context: PluginContext): RequestHandler | RequestHandler[];
}
/** Types a plugin; use it as the module's default export. */
export declare function definePlugin<Options>(definition: PluginDefinition<Options>): PluginDefinition<Options>;
export interface LoadedPlugin {
    definition: PluginDefinition;
    options: unknown;
    stage: HookName;
    /** Base paths of the routes it runs on; all when undefined. */
    routes: readonly string[] | undefined;
}
export declare function loadPlugins(specs: Config['plugins']): Promise<LoadedPlugin[]>;
/** The plugins' middleware for one route, by stage, in config order. */
export declare function pluginHooks(plugins: readonly LoadedPlugin[], route: Config, context: Omit<PluginContext, 'route' | 'logger'> & {
    logger: Logger & {
        child?: (bindings: object) => Logger;
    };
}): Partial<Record<HookName, RequestHandler[]>>;
