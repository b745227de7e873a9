export declare const DEFAULT_BCRYPT_COST = 10;
export declare const MIN_BCRYPT_COST = 10;
export declare function hashPasswordLine(password: string, options: {
    user?: string;
    cost?: number;
}): Promise<string>;
/** The password from a pipe (one trailing newline dropped) or typed twice at a hidden prompt. */
export declare function readPassword(input: NodeJS.ReadStream, output: NodeJS.WriteStream): Promise<string>;
