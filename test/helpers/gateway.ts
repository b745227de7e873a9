// One way to stand up a gateway server for a test: temp cert, loopback port, silent logs.
import { createServer, type GatewayServer, type ServerOptions } from '../../src/index.ts';
import { httpsRequest, type ClientRequestOptions, type ClientResponse } from './client.ts';
import { makeTestCertificate, type TestCertificate } from './tls.ts';

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
