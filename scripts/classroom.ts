// npm run classroom: the app and an embedded MQTT broker, for a class on its own devices. It binds 127.0.0.1 unless
// asked (--lan binds every interface and prints this machine's LAN address for the students' link), and opens
// nothing itself: the teacher opens the printed dashboard URL, which shows the join link and its QR code.
//   npm run classroom -- [--lan] [--port 5173] [--broker-port 8883] [--max-message 131072] [--broker ws://host:port/path]
// --broker: use an existing broker (mosquitto, EMQX, HiveMQ…) instead of the embedded one.
import { networkInterfaces } from 'node:os';
import { parseArgs } from 'node:util';
import { preview } from 'vite';
import { parseBrokerUrl } from '../src/shared/mqtt/room-link';
import { DEFAULT_MESSAGE_BYTES, MIN_MESSAGE_BYTES } from '../src/shared/mqtt/envelope';
import { startEmbeddedBroker } from './brokers';
import { ensureBuilt } from './serve';

const ROOT = new URL('..', import.meta.url).pathname;

function fail(msg: string): never {
  console.error(`classroom: ${msg}`);
  process.exit(2);
}

/** This machine's first non-internal IPv4 address: what a phone on the same Wi-Fi can reach. */
function lanAddress(): string | null {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return null;
}

const { values } = parseArgs({
  options: {
    lan: { type: 'boolean', default: false },
    port: { type: 'string', default: '5173' },
    'broker-port': { type: 'string', default: '8883' },
    'max-message': { type: 'string', default: String(DEFAULT_MESSAGE_BYTES) },
    broker: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log('npm run classroom -- [--lan] [--port 5173] [--broker-port 8883] [--max-message 131072] [--broker ws://host:port/path]');
  process.exit(0);
}
const port = Number(values.port);
const brokerPort = Number(values['broker-port']);
const maxMessage = Number(values['max-message']);
for (const [name, n] of [['--port', port], ['--broker-port', brokerPort]] as const) if (!Number.isInteger(n) || n < 1 || n > 65535) fail(`${name} must be a port number (got ${n})`);
if (!Number.isInteger(maxMessage) || maxMessage < MIN_MESSAGE_BYTES) fail(`--max-message must be an integer ≥ ${MIN_MESSAGE_BYTES} bytes`);
let external: string | null = null;
try {
  external = values.broker ? parseBrokerUrl(values.broker) : null;
} catch (e) {
  fail(e instanceof Error ? e.message : String(e));
}

const host = values.lan ? '0.0.0.0' : '127.0.0.1';
const lan = values.lan ? lanAddress() : null;
if (values.lan && !lan) fail('--lan: this machine has no LAN IPv4 address');
const studentHost = lan ?? '127.0.0.1';

await ensureBuilt((s) => console.log(s));
const broker = external ? null : await startEmbeddedBroker({ host, port: brokerPort, maxMessageBytes: maxMessage });
const brokerUrl = external ?? broker!.url;
const studentBroker = external ?? `ws://${studentHost}:${brokerPort}/mqtt`;
const server = await preview({ root: ROOT, logLevel: 'warn', preview: { host, port, strictPort: true } });

// The teacher's dashboard stays on 127.0.0.1: a secure context (SharedWorker coordinator, WebCrypto, Web Locks).
const q = new URLSearchParams({ broker: brokerUrl, studentBroker, join: `http://${studentHost}:${port}/`, maxMessage: String(maxMessage) });
console.log(`fedtab classroom
  broker:     ${external ? `${external} (yours)` : `${brokerUrl} (embedded aedes, messages up to ${maxMessage} bytes)`}
  dashboard:  http://127.0.0.1:${port}/?${q}
  students:   the dashboard shows their join link and QR code${values.lan ? '' : '\n  (bound to 127.0.0.1: only this machine can join; add --lan for other devices)'}
Ctrl-C stops both.`);

const stop = async () => {
  await server.close();
  await broker?.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
