import { x509 } from "./x509.js";
const SAN_PREFIX = { dns: 'DNS', email: 'email', ip: 'IP', url: 'URI' };
export function clientAuthServerOptions(settings) {
    if (!settings || settings.type === 'NoClientCert')
        return { requestCert: false, rejectUnauthorized: false };
    return {
        requestCert: true,
        rejectUnauthorized: settings.type === 'RequireAndVerifyClientCert',
        ...(settings.ca ? { ca: settings.ca } : {}),
    };
}
/** Why a freshly handshaken connection must be closed, or undefined when it may stay. */
export function rejectReason(settings, socket) {
    const identity = readClientIdentity(socket);
    if (!identity) {
        if (settings.type === 'RequireAnyClientCert' || settings.type === 'RequireAndVerifyClientCert')
            return 'no client certificate';
        if (settings.allowedSans)
            return 'no client certificate, and client_allowed_sans requires one';
        return undefined;
    }
    if (identity.unreadable)
        return `unreadable client certificate: ${identity.unreadable}`;
    if (settings.type === 'VerifyClientCertIfGiven' && !identity.verified)
        return `client certificate not verified: ${socket.authorizationError}`;
    if (settings.allowedSans && !identity.sans.some((san) => settings.allowedSans.includes(san.slice(san.indexOf(':') + 1)))) {
        return `client certificate SANs ${JSON.stringify(identity.sans)} match none of client_allowed_sans`;
    }
    return undefined;
}
/** Reads the peer certificate of a TLS socket; undefined when none was presented. */
export function readClientIdentity(socket) {
    const peer = socket.getPeerX509Certificate?.();
    if (!peer)
        return undefined;
    const identity = { subject: peer.subject.replace(/\n/g, ', '), sans: [], fingerprint: peer.fingerprint256, verified: socket.authorized };
    try {
        // Any client can send any bytes here (RequestClientCert & co. accept unverified certificates).
        const x = x509();
        const names = new x.X509Certificate(peer.raw).getExtension(x.SubjectAlternativeNameExtension)?.names.toJSON() ?? [];
        identity.sans = names.filter((name) => name.type in SAN_PREFIX).map((name) => `${SAN_PREFIX[name.type]}:${name.value}`);
    }
    catch (error) {
        identity.unreadable = error instanceof Error ? error.message.split('\n')[0] : 'parse error';
    }
    return identity;
}
//# sourceMappingURL=client-certificates.js.map