declare const _default: import("../src/plugins.ts").PluginDefinition<{
    methods: string[];
    file?: string | undefined;
}>;
export default _default;
