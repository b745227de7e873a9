// How an upstream request failed, as the proxy classifies it and the metrics count it.
export type UpstreamErrorKind = 'refused' | 'reset' | 'timeout' | 'dns' | 'unreachable' | 'bad_response';
