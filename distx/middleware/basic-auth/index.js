// The basic-auth stage: express-basic-auth asks our verifier (htpasswd users, cached bcrypt) and
// answers 401 with a browser prompt; the user name is handed on as req.promgate.user.
import { timingSafeEqual } from 'node:crypto';
import basicAuth from 'express-basic-auth';
import { ConfigError } from "../../src/errors.js";
import "../../src/request-state.js";
import { watchHtpasswdFile } from "./htpasswd-file.js";
import { createVerifier } from "./verifier.js";
/** Paths whose meaning an upstream could change by normalizing (or a `#`) never skip auth. */
const AMBIGUOUS_PATH = /(^|\/)(\.|%2e){1,2}(\/|$)|\/\/|\\|%2f|%5c|#/i;
export function createBasicAuthStage(options) {
    const { logger } = options;
    const source = userSource(options, (users) => verifier.setUsers(users));
    const verifier = createVerifier(source.users(), { cacheSize: options.cacheSize, cacheTtlMs: options.cacheTtlMs });
    const skipsAuth = compilePathPatterns(options.unauthenticatedPaths);
    // The last Authorization value that succeeded on each connection. A keep-alive client repeats
    // it on every request; recognising it skips base64, hashing and the cache (~10 us, ~10% req/s).
    // It lives with the socket, and the user's current entry is re-checked, so reloads apply at once.
    const acceptedOnConnection = new WeakMap();
    const authenticate = basicAuth({
        challenge: true,
        // express-basic-auth writes `Basic realm="<realm>"`; the schema forbids quotes in the realm.
        realm: `${options.realm}", charset="UTF-8`,
        authorizeAsync: true,
        // Its callback must never get an error (it would throw in a promise and crash the process).
        authorizer: (user, password, callback) => {
            verifier.verify(user, password).then((result) => callback(null, result === 'ok'), (error) => {
                logger.error({ error: error instanceof Error ? error.message : String(error) }, 'password check failed');
                callback(null, false);
            });
        },
        unauthorizedResponse: (req) => {
            const reason = !req.auth ? 'missing_credentials' : source.users().has(req.auth.user) ? 'wrong_password' : 'unknown_user';
            options.onFailure?.(reason);
            // An unknown "user" is often a password typed into the wrong field: it is not logged.
            logger.info({ method: req.method, path: req.path, reason, ...(reason === 'wrong_password' ? { user: req.auth?.user } : {}) }, 'authentication failed');
            req.auth = undefined; // holds the password (assigned, not deleted: delete slows every later access to req)
            if (req.path.startsWith('/api/'))
                return { status: 'error', errorType: 'unauthorized', error: 'authentication required' };
            req.res?.type('text/plain');
            return '401 Unauthorized\n';
        },
    });
    return {
        handle(req, res, next) {
            // The raw path, as it is forwarded (req.path drops a `#...` that the upstream would still get).
            if (skipsAuth(rawPath(req.url)))
                return next();
            const authorization = req.headers.authorization;
            const accepted = authorization === undefined ? undefined : acceptedOnConnection.get(req.socket);
            // Constant time: a proxy in front may carry several users' requests on one connection.
            if (accepted && sameSecret(accepted.authorization, authorization) && source.users().get(accepted.user) === accepted.entry) {
                setUser(req, accepted.user);
                return next();
            }
            const usersAtStart = source.users();
            authenticate(req, res, (error) => {
                if (error)
                    return next(error);
                const user = req.auth?.user;
                req.auth = undefined;
                // Remember only if no reload happened while the check ran: the password was checked
                // against the entry of that moment, which a new file may have changed (found in review).
                const entry = user === undefined || source.users() !== usersAtStart ? undefined : usersAtStart.get(user);
                if (authorization !== undefined && user !== undefined && entry)
                    acceptedOnConnection.set(req.socket, { authorization, user, entry });
                setUser(req, user);
                next();
            });
        },
        async identify(req) {
            const credentials = parseBasicCredentials(req.headers.authorization ?? '');
            if (!credentials)
                return undefined;
            return (await verifier.verify(credentials.user, credentials.password)) === 'ok' ? credentials.user : undefined;
        },
        knownGood(req) {
            const authorization = req.headers.authorization;
            if (authorization === undefined)
                return false;
            const accepted = acceptedOnConnection.get(req.socket);
            if (accepted && sameSecret(accepted.authorization, authorization) && source.users().get(accepted.user) === accepted.entry)
                return true;
            const credentials = parseBasicCredentials(authorization);
            return credentials !== undefined && verifier.isKnownGood(credentials.user, credentials.password);
        },
        prepareStaticUsers: (users) => source.prepareFixed(users),
        close: () => source.close(),
    };
}
/** The user and password of a `Basic` Authorization header, as express-basic-auth reads them. */
export function parseBasicCredentials(authorization) {
    const match = /^ *basic +([A-Za-z0-9._~+/-]+=*) *$/i.exec(authorization);
    if (!match?.[1])
        return undefined;
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
/** The htpasswd file's users (reloaded) together with the fixed ones; a name in both is an error. */
function userSource(options, onChange) {
    let fixed = options.staticUsers ?? new Map();
    let fromFile = new Map();
    const file = options.htpasswdFile;
    const merge = (fixedUsers, fileUsers) => {
        const both = new Map(fixedUsers);
        for (const [user, entry] of fileUsers) {
            if (both.has(user))
                throw new ConfigError(`user "${user}" is also in ${options.staticUsersSource ?? 'the web config file'}; keep one`, { origin: file });
            both.set(user, entry);
        }
        return both;
    };
    let merged = fixed;
    let pendingFileUsers = fromFile;
    const watched = file
        ? watchHtpasswdFile(file, {
            allowPlaintext: options.allowPlaintext,
            logger: options.logger,
            checkIntervalMs: options.checkIntervalMs,
            onReloadResult: options.onReloadResult,
            combine: (fileUsers) => {
                const both = merge(fixed, fileUsers);
                pendingFileUsers = fileUsers;
                return both;
            },
            onReload: (users) => {
                fromFile = pendingFileUsers;
                merged = users;
                onChange(users);
            },
        })
        : undefined;
    if (watched) {
        fromFile = pendingFileUsers;
        merged = watched.users();
    }
    return {
        users: () => merged,
        prepareFixed(next) {
            if (!file && next.size === 0)
                throw new ConfigError('all basic_auth_users were removed: turning authentication off needs a restart');
            const both = merge(next, fromFile);
            return () => {
                fixed = next;
                merged = both;
                onChange(both);
            };
        },
        close: () => watched?.close(),
    };
}
const rawPath = (url) => {
    const query = url.indexOf('?');
    return query < 0 ? url : url.slice(0, query);
};
function sameSecret(a, b) {
    const left = Buffer.from(a);
    const right = Buffer.from(b);
    return left.length === right.length && timingSafeEqual(left, right);
}
function setUser(req, user) {
    if (req.promgate)
        req.promgate.user = user;
    else
        req.promgate = { user };
}
function compilePathPatterns(patterns) {
    if (patterns.length === 0)
        return () => false;
    const exact = new Set(patterns.filter((pattern) => !pattern.endsWith('*')));
    const prefixes = patterns.filter((pattern) => pattern.endsWith('*')).map((pattern) => pattern.slice(0, -1));
    return (path) => !AMBIGUOUS_PATH.test(path) && (exact.has(path) || prefixes.some((prefix) => path.startsWith(prefix)));
}
//# sourceMappingURL=index.js.map