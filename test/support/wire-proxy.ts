import { tcpProxy } from './tcp-proxy.ts';

// A TCP proxy in front of the server that reads what its clients send, message by message: which
// statements went out and how (a Parse, a Bind, a Flush that waits for the server's answer).

const SSL_REQUEST = 80877103;

export interface WireProxy {
  /** The server's URL, through the proxy. */
  url: string;
  /** Type bytes of the messages clients sent since the last `reset()`, in order, all connections. */
  sent(): string[];
  reset(): void;
  close(): Promise<void>;
}

/** Proxies `serverUrl`, reading the type of each message its clients send. */
export async function wireProxy(serverUrl: string): Promise<WireProxy> {
  let sent: string[] = [];
  const proxy = await tcpProxy(serverUrl, (client, upstream) => {
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    // The startup message (and an SSL request before it) has no type byte; every later one has.
    let typed = false;
    let pending = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      pending = Buffer.concat([pending, chunk]);
      let offset = 0;
      for (;;) {
        const header = typed ? 5 : 8;
        if (pending.length - offset < header) break;
        const length = pending.readInt32BE(offset + (typed ? 1 : 0));
        const size = typed ? 1 + length : length;
        if (pending.length - offset < size) break;
        if (typed) sent.push(String.fromCharCode(pending[offset] as number));
        else if (pending.readInt32BE(offset + 4) !== SSL_REQUEST) typed = true;
        offset += size;
      }
      pending = pending.subarray(offset);
    });
  });
  return {
    url: proxy.url,
    sent: () => [...sent],
    reset: () => {
      sent = [];
    },
    close: () => proxy.close(),
  };
}
