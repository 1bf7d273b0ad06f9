/**
 * Redis connection for the cell queue: `redis://[user:password@]host[:port][/db]` (or `rediss://`
 * for TLS) as the options BullMQ hands to ioredis, and a fast reachability check, so that an
 * unreachable Redis is one clear error naming the URL within seconds, not a silent hang.
 */
import net from 'node:net';
import type { ConnectionOptions } from 'bullmq';

/** The queue sslbench puts its pre-training cells on (override with --queue-name). */
export const DEFAULT_QUEUE_NAME = 'sslbench-cells';

/** The host and port a Redis URL names (default port 6379). */
export function parseRedisUrl(url: string): {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db?: number;
  tls: boolean;
} {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`--queue: '${url}' is not a URL; expected redis://HOST:PORT`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error(`--queue: '${url}' is not a redis:// or rediss:// URL`);
  const db = u.pathname && u.pathname !== '/' ? Number(u.pathname.slice(1)) : undefined;
  if (db !== undefined && !Number.isInteger(db)) throw new Error(`--queue: '${url}': the path must be a database number`);
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db,
    tls: u.protocol === 'rediss:',
  };
}

/**
 * BullMQ connection options. `maxRetriesPerRequest: null` is what BullMQ's workers require; once
 * connected, a lost connection is retried with a capped back-off (a Redis restart is survived).
 */
export function connectionOptions(url: string): ConnectionOptions {
  const p = parseRedisUrl(url);
  return {
    host: p.host,
    port: p.port,
    username: p.username,
    password: p.password,
    db: p.db,
    ...(p.tls ? { tls: {} } : {}),
    connectTimeout: 5000,
    maxRetriesPerRequest: null,
    retryStrategy: (times: number) => Math.min(200 * times, 5000),
  };
}

/**
 * Resolves when something at the URL's host and port answers a Redis PING (an authentication
 * error counts: the server is there), and rejects within `timeoutMs` with an error naming the URL.
 */
export function checkRedis(url: string, timeoutMs = 3000): Promise<void> {
  const p = parseRedisUrl(url);
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      sock.destroy();
      reject(
        new Error(`cannot reach Redis at ${url} (${why}); start redis-server there, or pass --queue redis://HOST:PORT of a running one`),
      );
    };
    const sock = net.connect({ host: p.host, port: p.port });
    const timer = setTimeout(() => fail(`no answer within ${timeoutMs / 1000} s`), timeoutMs);
    sock.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      fail(e.code ?? e.message);
    });
    // TLS endpoints do not answer a plain PING: the open TCP port is the check there
    sock.once('connect', () => {
      if (p.tls) {
        clearTimeout(timer);
        sock.end();
        resolve();
      } else sock.write('PING\r\n');
    });
    sock.once('data', (d) => {
      clearTimeout(timer);
      sock.end();
      const reply = d.toString('utf8');
      if (reply.startsWith('+') || reply.startsWith('-')) resolve();
      else fail(`not a Redis server: replied '${reply.slice(0, 40).trim()}'`);
    });
  });
}
