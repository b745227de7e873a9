import "../../src/request-state.js";
/** Marks a request already logged, so a stage mounted twice (server and gateway) logs once. */
const LOGGED = Symbol('promgate.accessLog.logged');
export function createAccessLogStage(logger) {
    let nextId = 0;
    return (req, res, next) => {
        const logged = req;
        if (logged[LOGGED])
            return next();
        logged[LOGGED] = true;
        const start = performance.now();
        const bytesAtStart = req.socket.bytesWritten;
        const id = (nextId = (nextId + 1) & 0x7fffffff);
        res.once('close', () => {
            const identity = logged.promgate;
            const fields = {
                request_id: id,
                method: req.method,
                path: (logged.originalUrl ?? req.url ?? '').split('?', 1)[0],
                status: res.statusCode,
                duration_ms: Math.round((performance.now() - start) * 1000) / 1000,
                // Bytes written to the connection for this response, headers included (nginx's $bytes_sent).
                bytes_sent: req.socket.bytesWritten - bytesAtStart,
                user: identity?.user,
                client_subject: identity?.client?.subject,
                rule: identity?.rule,
                remote_address: req.socket.remoteAddress,
                aborted: res.writableFinished ? undefined : true,
            };
            if (res.statusCode >= 500 || fields.aborted)
                logger.warn(fields, 'request');
            else
                logger.info(fields, 'request');
        });
        next();
    };
}
//# sourceMappingURL=index.js.map