// The standalone server's response class. Its prototype chain runs through an Express app's
// response, so user middleware gets Express's API; on top of Node's ServerResponse it says
// `Connection: close` after SIGTERM and holds the security headers until the head is written.
import type { OutgoingHttpHeader, OutgoingHttpHeaders, ServerResponse as NodeServerResponse } from 'node:http';
import { http } from './kernel/node-http.ts';
import { HOLD_HEADERS, TAKE_HELD_HEADERS, type FlatHeaderList, type HoldsHeaders } from './kernel/response-headers.ts';

const { ServerResponse } = http;
type ServerResponse = NodeServerResponse;

/** Node's OutgoingMessage has it; @types/node does not declare it. */
const rawHeaderNames = (ServerResponse.prototype as unknown as { getRawHeaderNames(this: ServerResponse): string[] })
  .getRawHeaderNames;

type WriteHeadRest = [
  (string | OutgoingHttpHeaders | OutgoingHttpHeader[])?,
  (OutgoingHttpHeaders | OutgoingHttpHeader[])?,
];

/** A ServerResponse class whose prototype chain runs through `expressResponse`. */
export function createResponseClass(expressResponse: object, isClosing: () => boolean): typeof ServerResponse {
  class GatewayResponse extends ServerResponse implements HoldsHeaders {
    /** Security headers not set yet (see HoldsHeaders): set before any header is read or the head goes out. */
    #held: FlatHeaderList | undefined;

    [HOLD_HEADERS](headers: FlatHeaderList): boolean {
      if (super.getHeaderNames().length > 0) return false;
      this.#held = headers;
      return true;
    }

    [TAKE_HELD_HEADERS](): FlatHeaderList | undefined {
      const held = this.#held;
      if (held === undefined || super.getHeaderNames().length > 0) return undefined;
      this.#held = undefined;
      return held;
    }

    /** Sets the held headers, except those a later stage set itself (which replaced them before). */
    #setHeld(): void {
      const held = this.#held;
      if (held === undefined) return;
      this.#held = undefined;
      for (let index = 0; index < held.length; index += 2) {
        const name = held[index]!;
        if (!super.hasHeader(name)) super.setHeader(name, held[index + 1]!);
      }
    }

    override getHeader(name: string) {
      this.#setHeld();
      return super.getHeader(name);
    }
    override getHeaders() {
      this.#setHeld();
      return super.getHeaders();
    }
    override getHeaderNames() {
      this.#setHeld();
      return super.getHeaderNames();
    }
    getRawHeaderNames(): string[] {
      this.#setHeld();
      return rawHeaderNames.call(this);
    }
    override hasHeader(name: string) {
      this.#setHeld();
      return super.hasHeader(name);
    }
    override removeHeader(name: string) {
      this.#setHeld();
      super.removeHeader(name);
    }
    override appendHeader(name: string, value: string | readonly string[]) {
      this.#setHeld();
      return super.appendHeader(name, value);
    }

    // After SIGTERM, answers tell keep-alive clients to reconnect (to another replica); checked when
    // the head goes out, so requests already in flight say it too. (A Set of pending responses did
    // this before: its churn kept V8's scavenges at 10-15 ms instead of ~1 ms under load.)
    override writeHead(statusCode: number, ...rest: WriteHeadRest): this {
      this.#setHeld();
      if (isClosing() && !this.headersSent) this.setHeader('connection', 'close');
      return (super.writeHead as (statusCode: number, ...rest: unknown[]) => this)(statusCode, ...rest);
    }
  }
  Object.setPrototypeOf(GatewayResponse.prototype, expressResponse);
  return GatewayResponse as typeof ServerResponse;
}
