// Plugins: ES modules named in `plugins:` (a path relative to the config file, or a package name),
// each exporting `definePlugin({ name, options, create })` as default. They are loaded and their
// options validated before anything listens; `create` runs once per route, and what it returns is
// Express middleware run at the plugin's stage (beforeAuth, afterAuth, beforeProxy).
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { RequestHandler } from 'express';
import type { Registry } from 'prom-client';
import type { z } from 'zod';
import type { Config } from './config/schema.ts';
import { ConfigError, errorMessage } from './errors.ts';
import type { HookName } from './kernel/request-state.ts';
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
export function definePlugin<Options>(definition: PluginDefinition<Options>): PluginDefinition<Options> {
  return definition;
}

export interface LoadedPlugin {
  definition: PluginDefinition;
  options: unknown;
  stage: HookName;
  /** Base paths of the routes it runs on; all when undefined. */
  routes: readonly string[] | undefined;
}

export async function loadPlugins(specs: Config['plugins']): Promise<LoadedPlugin[]> {
  const loaded: LoadedPlugin[] = [];
  for (const [index, spec] of specs.entries()) {
    const fail = (message: string): never => {
      throw new ConfigError(`${message}`, { key: `plugins.${index}`, origin: spec.module });
    };
    let module: { default?: unknown };
    try {
      module = (await import(isAbsolute(spec.module) ? pathToFileURL(spec.module).href : spec.module)) as {
        default?: unknown;
      };
    } catch (error) {
      return fail(`cannot load the plugin: ${errorMessage(error)}`);
    }
    const definition = module.default as PluginDefinition | undefined;
    if (
      !definition ||
      typeof definition !== 'object' ||
      typeof definition.create !== 'function' ||
      typeof definition.name !== 'string'
    ) {
      return fail('not a plugin: its default export must be definePlugin({ name, create })');
    }
    let options = spec.options;
    if (definition.options) {
      const parsed = definition.options.safeParse(spec.options ?? {});
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        fail(
          `plugin "${definition.name}": options${issue?.path.length ? `.${issue.path.join('.')}` : ''}: ${issue?.message ?? 'invalid'}`,
        );
      }
      options = parsed.data;
    }
    loaded.push({
      definition,
      options,
      stage: spec.stage,
      routes: spec.routes?.map((path) => path.replace(/\/+$/, '') || '/'),
    });
  }
  return loaded;
}

/** The plugins' middleware for one route, by stage, in config order. */
export function pluginHooks(
  plugins: readonly LoadedPlugin[],
  route: Config,
  context: Omit<PluginContext, 'route' | 'logger'> & { logger: Logger & { child?: (bindings: object) => Logger } },
): Partial<Record<HookName, RequestHandler[]>> {
  const hooks: Partial<Record<HookName, RequestHandler[]>> = {};
  const basePath = route.basePath.replace(/\/+$/, '') || '/';
  for (const plugin of plugins) {
    if (plugin.routes && !plugin.routes.includes(basePath)) continue;
    const logger = context.logger.child?.({ plugin: plugin.definition.name }) ?? context.logger;
    let created: RequestHandler | RequestHandler[];
    try {
      created = plugin.definition.create(plugin.options, { logger, registry: context.registry, route });
    } catch (error) {
      throw new ConfigError(
        `plugin "${plugin.definition.name}" failed to start on ${route.basePath}: ${errorMessage(error)}`,
      );
    }
    (hooks[plugin.stage] ??= []).push(...[created].flat());
  }
  return hooks;
}
