// DISCO's side of scripts/disco-compare.ts. It is copied into a patched DISCO checkout as cli/src/fedtab-disco-side.ts
// and run there with tsx (so '@tensorflow/tfjs' and '@epfml/discojs' resolve to DISCO's own packages), one process
// per run: DISCO's server and its K federated clients in this process, as DISCO's own CLI (cli/src/cli.ts) runs them.
// Argument: a JSON spec written by disco-compare.ts; it writes its result JSON to spec.out.
// Not type-checked by fedtab's tsconfig (it imports DISCO's packages); it is plain tfjs + discojs API.
import { ready } from './wasm.js';

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { List, Range } from 'immutable';
import { Dataset, Disco, Image, aggregator as aggregators, client as clients, defaultTasks, models } from '@epfml/discojs';
import type { RoundLogs, Task, TaskProvider, TypedLabeledDataset } from '@epfml/discojs';
import { Server } from 'server';

interface Spec {
  dataDir: string;
  clients: number;
  rounds: number;
  epochs: number;
  batchSize: number;
  lr: number;
  validationSplit: number;
  model: 'cnn-s' | 'disco-mnist';
  out: string;
}

const t0 = performance.now();
await ready;
const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Spec;
const LABELS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
const PIXELS = 28 * 28;

/** DISCO expands every image to 3 channels (expandToMulticolor); CNN-S reads one, so this layer keeps channel 0. */
class FirstChannel extends tf.layers.Layer {
  static className = 'FedtabFirstChannel';
  override computeOutputShape(s: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = s as tf.Shape;
    return [...shape.slice(0, -1), 1];
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
    return tf.slice(x, [0, 0, 0, 0], [-1, -1, -1, 1]);
  }
}
tf.serialization.registerClass(FirstChannel);

/** fedtab's CNN-S (src/shared/ml/architectures/cnn-s.ts, 225,034 parameters), softmax + cross-entropy, plain SGD. */
function cnnS(): tf.LayersModel {
  const m = tf.sequential();
  m.add(new FirstChannel({ inputShape: [28, 28, 3] }));
  m.add(tf.layers.conv2d({ name: 'conv1', filters: 32, kernelSize: 3, padding: 'valid', activation: 'relu' }));
  m.add(tf.layers.maxPooling2d({ name: 'pool1', poolSize: 2, strides: 2 }));
  m.add(tf.layers.conv2d({ name: 'conv2', filters: 64, kernelSize: 3, padding: 'valid', activation: 'relu' }));
  m.add(tf.layers.maxPooling2d({ name: 'pool2', poolSize: 2, strides: 2 }));
  m.add(tf.layers.flatten({ name: 'flat' }));
  m.add(tf.layers.dense({ name: 'fc1', units: 128, activation: 'relu' }));
  m.add(tf.layers.dense({ name: 'out', units: 10, activation: 'softmax' }));
  m.compile({ optimizer: tf.train.sgd(spec.lr), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return m;
}

const base = defaultTasks.mnist;
const provider: TaskProvider = {
  getTask(): Task {
    const task = base.getTask();
    // DISCO's MNIST task (preprocessing Resize + Normalize kept), federated with the mean aggregator and all K
    // clients per round. A DISCO "round" is roundDuration epochs; epochs is the total over all rounds.
    task.trainingInformation = {
      ...task.trainingInformation,
      scheme: 'federated',
      aggregationStrategy: 'mean',
      minNbOfParticipants: spec.clients,
      epochs: spec.rounds * spec.epochs,
      roundDuration: spec.epochs,
      batchSize: spec.batchSize,
      validationSplit: spec.validationSplit,
    };
    return task;
  },
  getModel: () => (spec.model === 'cnn-s' ? Promise.resolve(new models.TFJS(cnnS())) : base.getModel()),
};

function clientData(k: number): TypedLabeledDataset {
  const images = new Uint8Array(readFileSync(join(spec.dataDir, `client-${k}-images.u8`)));
  const labels = new Uint8Array(readFileSync(join(spec.dataDir, `client-${k}-labels.u8`)));
  const samples = Array.from(labels, (l, i) => [new Image(images.subarray(i * PIXELS, (i + 1) * PIXELS), 28, 28, 1), LABELS[l]!] as [Image, string]);
  return ['image', new Dataset(samples)];
}

async function arrayFromAsync<T>(iter: AsyncIterable<T>): Promise<T[]> {
  const ret: T[] = [];
  for await (const e of iter) ret.push(e);
  return ret;
}

const data = Range(0, spec.clients).map(clientData).toArray();
const testImages = new Uint8Array(readFileSync(join(spec.dataDir, 'test-images.u8')));
const testLabels = new Uint8Array(readFileSync(join(spec.dataDir, 'test-labels.u8')));
const tReady = performance.now();

const task = provider.getTask();
const [server, url] = await new Server().serve(undefined, provider);
const discos: Disco[] = [];
const logs = await Promise.all(
  data.map(async (d) => {
    const aggregator = aggregators.getAggregator(task);
    const client = clients.getClient(task.trainingInformation.scheme, url, task, aggregator);
    const disco = new Disco(task, client, { scheme: task.trainingInformation.scheme });
    discos.push(disco);
    return List(await arrayFromAsync(disco.trainByRound(d)));
  }),
);
const tTrained = performance.now();

// The final global model, on the first N test images, once (as fedtab's coordinator does with --eval-every = rounds).
const net = (discos[0]!.trainer.model as models.TFJS).extract();
const n = testLabels.length;
const accuracy = tf.tidy(() => {
  const gray = tf.tensor4d(testImages, [n, 28, 28, 1], 'int32').toFloat().div(255);
  const xs = tf.concat([gray, gray, gray], 3);
  const ys = tf.oneHot(tf.tensor1d(testLabels, 'int32'), 10);
  const [, acc] = net.evaluate(xs, ys, { batchSize: 256 }) as tf.Scalar[];
  return acc!.dataSync()[0]!;
});
const tDone = performance.now();

const lastRound = logs[0]!.last() as RoundLogs | undefined;
const lastEpoch = lastRound?.epochs.last();
const mem = process.memoryUsage();
const result = {
  tool: 'disco',
  backend: tf.getBackend(),
  spec,
  federationSeconds: (tDone - tReady) / 1000,
  trainingSeconds: (tTrained - tReady) / 1000,
  startupSeconds: (tReady - t0) / 1000,
  finalTestAccuracy: accuracy,
  rounds: logs.map((l) => l.size),
  lastValidation: lastEpoch?.validation ?? null,
  participants: lastRound?.participants ?? null,
  maxRssBytes: process.resourceUsage().maxRSS * 1024,
  memoryAtEnd: { rss: mem.rss, heapUsed: mem.heapUsed, external: mem.external, arrayBuffers: mem.arrayBuffers },
  tfMemory: tf.memory(),
};
writeFileSync(spec.out, JSON.stringify(result, null, 2));
console.log(`disco: ${spec.clients} clients, ${spec.rounds} rounds in ${result.federationSeconds.toFixed(1)} s; test accuracy ${accuracy.toFixed(4)}`);
await Promise.all(discos.map((d) => d.close()));
await new Promise<void>((resolve, reject) => {
  server.once('close', resolve);
  server.close(reject);
});
process.exit(0);
