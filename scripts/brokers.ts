// MQTT brokers with a WebSocket listener, for the classroom (npm run classroom) and its tests: aedes embedded in
// this process (aedes: a well-kept, pure-JS MQTT 3.1.1 broker, so a fresh clone needs nothing installed), and a
// real mosquitto process for the tests that check fedtab against a broker it does not ship.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';

export interface RunningBroker {
  /** ws:// URL a browser or MQTT.js connects to. */
  url: string;
  close(): Promise<void>;
  /** Drops every client connection, or those whose MQTT client id `only` accepts (tests: a network loss; MQTT.js reconnects). */
  dropClients(only?: (clientId: string) => boolean): void;
}

/** aedes over WebSocket on host:port (port 0: any free one); a message over `maxMessageBytes` is refused, as a real broker's limit. */
export async function startEmbeddedBroker(opts: { host?: string; port?: number; maxMessageBytes?: number } = {}): Promise<RunningBroker> {
  const limit = opts.maxMessageBytes ?? 16 << 20;
  // The limit is on each MQTT message, as a broker's max_packet_size: a client disconnected for one over it. (Not on
  // WebSocket frames: MQTT.js may put several messages in one frame.)
  const aedes = await Aedes.createBroker({
    authorizePublish: (_client, packet, done) => done(packet.payload.length > limit ? new Error(`message of ${packet.payload.length} bytes over the broker limit of ${limit}`) : null),
  });
  const server = http.createServer((_req, res) => res.writeHead(426).end('fedtab classroom broker: MQTT over WebSocket only\n'));
  const wss = new WebSocketServer({ server, path: '/mqtt', maxPayload: 64 << 20 });
  const sockets = new Map<import('ws').WebSocket, { id: string }>();
  wss.on('connection', (ws, req) => {
    sockets.set(ws, aedes.handle(createWebSocketStream(ws) as never, req as never));
    ws.on('close', () => sockets.delete(ws));
  });
  await new Promise<void>((ok) => server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  const host = opts.host && opts.host !== '0.0.0.0' ? opts.host : '127.0.0.1';
  return {
    url: `ws://${host}:${port}/mqtt`,
    dropClients: (only) => {
      for (const [s, client] of sockets) if (!only || only(client.id)) s.terminate();
    },
    close: async () => {
      for (const s of sockets.keys()) s.terminate();
      await new Promise<void>((ok) => wss.close(() => ok()));
      await new Promise<void>((ok) => server.close(() => ok()));
      await new Promise<void>((ok) => aedes.close(() => ok()));
    },
  };
}

export const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => existsSync(p)) ?? null;

/**
 * mosquitto with a WebSocket listener (the README's configuration). mosquitto 2.0 will not start with a WebSocket
 * listener alone, hence the plain MQTT listener beside it.
 */
export async function startMosquitto(opts: { wsPort: number; mqttPort: number; maxMessageBytes?: number }): Promise<RunningBroker> {
  if (!MOSQUITTO) throw new Error('mosquitto is not installed (apt-get install mosquitto)');
  const dir = mkdtempSync(join(tmpdir(), 'fedtab-mosquitto-'));
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [`listener ${opts.mqttPort} 127.0.0.1`, 'protocol mqtt', `listener ${opts.wsPort}`, 'protocol websockets', 'allow_anonymous true', `max_packet_size ${(opts.maxMessageBytes ?? 1 << 20) + 1024}`, ''].join('\n'),
  );
  const proc = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (d: Buffer) => (log += d.toString()));
  // Ready once the WebSocket port takes a connection (libwebsockets does not answer a plain GET).
  const url = `ws://127.0.0.1:${opts.wsPort}/mqtt`;
  for (let i = 0; ; i++) {
    if (proc.exitCode !== null) throw new Error(`mosquitto exited: ${log.slice(-500)}`);
    const up = await new Promise<boolean>((ok) => {
      const sock = net.connect(opts.wsPort, '127.0.0.1', () => (sock.end(), ok(true)));
      sock.on('error', () => ok(false));
    });
    if (up) break;
    if (i > 100) throw new Error(`mosquitto did not open port ${opts.wsPort}: ${log.slice(-500)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    dropClients: () => {
      throw new Error('not supported for mosquitto');
    },
    close: async () => {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    },
  };
}
