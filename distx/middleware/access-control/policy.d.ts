import type { Config } from '../../src/config/schema.ts';
import { type Preset } from './presets.ts';
export interface AccessRule {
    name?: string | undefined;
    methods?: readonly string[] | undefined;
    paths: readonly string[];
}
export interface RoleDefinition {
    allow: readonly AccessRule[];
    deny: readonly AccessRule[];
}
export interface Decision {
    allowed: boolean;
    /** `role.allow.name` or `role.deny.name` of the rule that decided, or `role.none` when none matched. */
    rule: string;
}
export interface AccessPolicy {
    readonly defaultRole: string;
    /** The roles of a request: the user's and the client certificate's, else the default role. */
    rolesFor(user: string | undefined, clientNames: readonly string[]): string[];
    decide(method: string, readings: readonly string[], roles: readonly string[]): Decision;
}
export declare function compilePolicy(config: Config['accessControl'], preset?: Preset): AccessPolicy;
/** `/a/*\/c` one segment per `*`, a final `/**` any rest (also none); everything else literal. */
export declare function compilePattern(pattern: string): (path: string) => boolean;
