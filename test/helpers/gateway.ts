// One way to stand up a gateway server for a test: temp cert, loopback port, silent logs.
import { after, before } from 'node:test';
import { createServer, type GatewayServer, type ServerOptions } from '../../src/index.ts';
import { httpsRequest, type ClientRequestOptions, type ClientResponse } from './client.ts';
import { makeTestCertificate, type TestCertificate } from './tls.ts';
import { startUpstream, type RecordingUpstream } from './upstream.ts';

export interface TestGateway {
  handle: GatewayServer;
  cert: TestCertificate;
  /** https://127.0.0.1:<port> */
  origin: string;
  request(path: string, options?: Omit<ClientRequestOptions, 'ca'>): Promise<ClientResponse>;
  close(): Promise<void>;
}

export async function startTestGateway(options: ServerOptions = {}): Promise<TestGateway> {
  const cert = await makeTestCertificate();
  const handle = await createServer({
    web: { listenAddress: '127.0.0.1:0' },
    ...options,
    tls: { certFile: cert.certFile, keyFile: cert.keyFile, ...options.tls },
  });
  const origin = `https://127.0.0.1:${handle.address.port}`;
  return {
    handle,
    cert,
    origin,
    request: (path, requestOptions = {}) => httpsRequest(origin, path, { ca: cert.cert, ...requestOptions }),
    close: () => handle.close(),
  };
}

export interface GatewayAndUpstream {
  readonly gateway: TestGateway;
  readonly upstream: RecordingUpstream;
}

/**
 * A gateway in front of a recording upstream for the whole describe block: started in before(),
 * closed in after(). `options` gets the upstream, to build the gateway's options from it.
 */
export function useGatewayWithUpstream(
  options: (upstream: RecordingUpstream) => ServerOptions = (upstream) => ({ upstream: upstream.url }),
): GatewayAndUpstream {
  let started: GatewayAndUpstream | undefined;
  before(async () => {
    const upstream = await startUpstream();
    started = { upstream, gateway: await startTestGateway(options(upstream)) };
  });
  after(async () => {
    await started?.gateway.close();
    await started?.upstream.close();
  });
  const get = () => {
    if (!started) throw new Error('useGatewayWithUpstream: used outside a test of its describe block');
    return started;
  };
  return {
    get gateway() {
      return get().gateway;
    },
    get upstream() {
      return get().upstream;
    },
  };
}
