/**
 * A plain-TCP listener on loopback whose every connection is carried over TLS to a server that
 * speaks only TLS (trusting the suite CA alone), byte for byte: for a candidate with one TLS
 * listener for every API (Palpo), so that the suite's client API calls keep their plain
 * `http://127.0.0.1:<port>` base URL while remotes reach the same listener over TLS as a
 * federation peer would.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { connect } from 'node:tls';
import { CandidateError } from './types.ts';

export class TlsBridge {
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly server: Server) {}

  /** Listens on 127.0.0.1:`listenPort` and carries each connection to 127.0.0.1:`targetPort` over TLS. */
  static async open(opts: { name: string; listenPort: number; targetPort: number; ca: Buffer }): Promise<TlsBridge> {
    const server = createServer();
    const bridge = new TlsBridge(server);
    server.on('connection', (plain) => bridge.carry(plain, opts.targetPort, opts.ca));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new CandidateError(`${opts.name}: cannot listen on 127.0.0.1:${opts.listenPort}: ${err.message}`)));
      server.listen(opts.listenPort, '127.0.0.1', () => resolve());
    });
    return bridge;
  }

  private carry(plain: Socket, targetPort: number, ca: Buffer): void {
    const secure = connect({ host: '127.0.0.1', port: targetPort, ca, ALPNProtocols: ['http/1.1'] });
    for (const s of [plain, secure]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      // A failed handshake or a reset on either side ends both: the client sees a closed
      // connection, as it would from the server itself.
      s.on('error', () => {
        plain.destroy();
        secure.destroy();
      });
    }
    plain.pipe(secure);
    secure.pipe(plain);
  }

  /** Stops listening and ends every carried connection. Idempotent. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
