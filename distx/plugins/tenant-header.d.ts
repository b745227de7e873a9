declare const _default: import("../src/plugins.ts").PluginDefinition<{
    header: string;
    users: Record<string, string>;
    clients: Record<string, string>;
    default?: string | undefined;
}>;
export default _default;
