import net from 'node:net';

// A TCP proxy in front of the server for tests that read or cut what passes: each connection's
// client and upstream sockets go to `onConnection`, which relays what it wants to.

export interface TcpProxy {
  /** The server's URL, through the proxy, without TLS (the proxy reads the messages). */
  url: string;
  close(): Promise<void>;
}

/** Proxies `serverUrl`; `end()` destroys both sockets of a connection. */
export async function tcpProxy(
  serverUrl: string,
  onConnection: (client: net.Socket, upstream: net.Socket, end: () => void) => void,
): Promise<TcpProxy> {
  const target = new URL(serverUrl);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    sockets.add(client).add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    onConnection(client, upstream, end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const url = new URL(serverUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  url.searchParams.set('sslmode', 'disable');
  return {
    url: url.toString(),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
