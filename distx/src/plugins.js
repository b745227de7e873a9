var __rewriteRelativeImportExtension = (this && this.__rewriteRelativeImportExtension) || function (path, preserveJsx) {
    if (typeof path === "string" && /^\.\.?\//.test(path)) {
        return path.replace(/\.(tsx)$|((?:\.d)?)((?:\.[^./]+?)?)\.([cm]?)ts$/i, function (m, tsx, d, ext, cm) {
            return tsx ? preserveJsx ? ".jsx" : ".js" : d && (!ext || !cm) ? m : (d + ext + "." + cm.toLowerCase() + "js");
        });
    }
    return path;
};
// Plugins: ES modules named in `plugins:` (a path relative to the config file, or a package name),
// each exporting `definePlugin({ name, options, create })` as default. They are loaded and their
// options validated before anything listens; `create` runs once per route, and what it returns is
// Express middleware run at the plugin's stage (beforeAuth, afterAuth, beforeProxy).
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, errorMessage } from "./errors.js";
/** Types a plugin; use it as the module's default export. */
export function definePlugin(definition) {
    return definition;
}
export async function loadPlugins(specs) {
    const loaded = [];
    for (const [index, spec] of specs.entries()) {
        const fail = (message) => {
            throw new ConfigError(`${message}`, { key: `plugins.${index}`, origin: spec.module });
        };
        let module;
        try {
            module = (await import(__rewriteRelativeImportExtension(isAbsolute(spec.module) ? pathToFileURL(spec.module).href : spec.module)));
        }
        catch (error) {
            return fail(`cannot load the plugin: ${errorMessage(error)}`);
        }
        const definition = module.default;
        if (!definition || typeof definition !== 'object' || typeof definition.create !== 'function' || typeof definition.name !== 'string') {
            return fail('not a plugin: its default export must be definePlugin({ name, create })');
        }
        let options = spec.options;
        if (definition.options) {
            const parsed = definition.options.safeParse(spec.options ?? {});
            if (!parsed.success) {
                const issue = parsed.error.issues[0];
                fail(`plugin "${definition.name}": options${issue?.path.length ? `.${issue.path.join('.')}` : ''}: ${issue?.message ?? 'invalid'}`);
            }
            options = parsed.data;
        }
        loaded.push({ definition, options, stage: spec.stage, routes: spec.routes?.map((path) => path.replace(/\/+$/, '') || '/') });
    }
    return loaded;
}
/** The plugins' middleware for one route, by stage, in config order. */
export function pluginHooks(plugins, route, context) {
    const hooks = {};
    const basePath = route.basePath.replace(/\/+$/, '') || '/';
    for (const plugin of plugins) {
        if (plugin.routes && !plugin.routes.includes(basePath))
            continue;
        const logger = context.logger.child?.({ plugin: plugin.definition.name }) ?? context.logger;
        let created;
        try {
            created = plugin.definition.create(plugin.options, { logger, registry: context.registry, route });
        }
        catch (error) {
            throw new ConfigError(`plugin "${plugin.definition.name}" failed to start on ${route.basePath}: ${errorMessage(error)}`);
        }
        (hooks[plugin.stage] ??= []).push(...[created].flat());
    }
    return hooks;
}
//# sourceMappingURL=plugins.js.map