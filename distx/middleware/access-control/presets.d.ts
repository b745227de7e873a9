import { PRESETS, type Preset } from '../../src/config/schema.ts';
import type { AccessRule, RoleDefinition } from './policy.ts';
export { PRESETS, type Preset };
interface PresetRules {
    protected: readonly AccessRule[];
    readPosts: readonly string[];
    /** The component's own readiness endpoint, polled by /-/promgate/ready ('' for none). */
    readyPath: string;
}
export declare const PRESET_RULES: Readonly<Record<Preset, PresetRules>>;
/** The built-in roles for a preset: viewer (read-only, as above) and admin (everything). */
export declare function builtInRoles(preset: Preset): Record<string, RoleDefinition>;
