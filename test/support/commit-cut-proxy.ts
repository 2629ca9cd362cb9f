import { tcpProxy } from './tcp-proxy.ts';

// A TCP proxy in front of the server that cuts a connection at the worst moment for its client:
// when the server says COMMIT, or gives the result of a statement that commits on its own. The
// server has committed; the client never hears it.

export interface CommitCutProxy {
  /** The server's URL, through the proxy. */
  url: string;
  /** Connections cut so far. */
  cuts(): number;
  close(): Promise<void>;
}

/**
 * Proxies `serverUrl` and cuts the first `times` connections that send a statement containing
 * `trigger`: at `commit` (default), when the server's CommandComplete of a COMMIT comes back, both
 * sockets are destroyed before that message (and what follows it) reaches the client, messages
 * before it delivered; at `result`, when the statement's own CommandComplete comes back (a
 * statement outside a transaction: the server sends its results once it reaches the Sync behind
 * it, which commits); at `statement`, before the statement reaches the server (the positive
 * control: nothing commits). The client must not ask for TLS (the proxy reads the server's messages).
 */
export async function commitCutProxy(
  serverUrl: string,
  trigger: string,
  { times = 1, at = 'commit' }: { times?: number; at?: 'commit' | 'result' | 'statement' } = {},
): Promise<CommitCutProxy> {
  let cut = 0;
  const proxy = await tcpProxy(serverUrl, (client, upstream, end) => {
    let armed = false;
    let sent = '';
    client.on('data', (chunk: Buffer) => {
      // The statement may straddle two reads: keep a tail as long as the trigger.
      sent = (sent + chunk.toString('latin1')).slice(-(chunk.length + trigger.length));
      if (!armed && cut < times && sent.includes(trigger)) {
        if (at === 'statement') {
          cut++;
          end();
          return;
        }
        armed = true;
      }
      upstream.write(chunk);
    });
    let pending = Buffer.alloc(0);
    upstream.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      let offset = 0;
      // Whole messages only: a type byte, then a length that counts itself.
      while (pending.length - offset >= 5) {
        const length = pending.readInt32BE(offset + 1);
        if (pending.length - offset < 1 + length) break;
        const commit =
          armed &&
          pending[offset] === 0x43 &&
          (at === 'result' || pending.toString('latin1', offset + 5, offset + 1 + length) === 'COMMIT\0');
        if (commit) armed = false;
        // Two connections may arm at once; only the first `times` COMMITs are cut.
        if (commit && cut < times) {
          client.write(pending.subarray(0, offset));
          cut++;
          end();
          return;
        }
        offset += 1 + length;
      }
      client.write(pending.subarray(0, offset));
      pending = pending.subarray(offset);
    });
  });
  return {
    url: proxy.url,
    cuts: () => cut,
    close: () => proxy.close(),
  };
}
