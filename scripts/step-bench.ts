// npx tsx scripts/step-bench.ts: on wasm with our kernels, in one run,
// 1. one CNN-S training step (batch 32) with the stock MaxPoolGrad and with ours, alternating blocks of 10 steps;
// 2. CNN-S and 2NN training throughput as a share of the backend's own rate on a 1024×1024 matmul (issue 11), the
//    FLOPs of a step counted from the layers (a multiply-add is 2; backward taken as twice the forward pass).
import * as tf from '@tensorflow/tfjs';
import { initBackend } from './wasm-backend';
import { registerMaxPoolGrad, restoreMaxPoolGrad } from '../src/kernels/max-pool-grad';
import { buildModel } from '../src/shared/ml/models';

await initBackend();
const med = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1];

function stepper(model: '2nn' | 'cnn-s', batch: number) {
  const net = buildModel(model);
  const x = tf.randomUniform([batch, 28, 28, 1], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32', 2), 10).asType('float32');
  const opt = tf.train.sgd(0.01);
  const step = () => {
    const t0 = performance.now();
    tf.tidy(() => void opt.minimize(() => tf.losses.softmaxCrossEntropy(y, net.predict(x) as tf.Tensor) as tf.Scalar));
    return performance.now() - t0;
  };
  return { net, step, batch };
}

/** Forward FLOPs of one sample: 2 per multiply-add of every Conv2D and Dense layer. */
function forwardFlops(net: tf.LayersModel): number {
  let flops = 0;
  for (const layer of net.layers) {
    const cls = layer.getClassName();
    const out = layer.outputShape as number[];
    const w = layer.getWeights()[0];
    if (cls === 'Conv2D') flops += 2 * out[1] * out[2] * w.size;
    else if (cls === 'Dense') flops += 2 * w.size;
  }
  return flops;
}

// 1. MaxPoolGrad, stock vs ours.
const cnn = stepper('cnn-s', 32);
for (let i = 0; i < 5; i++) cnn.step();
const res: Record<string, number[]> = { stock: [], ours: [] };
for (let r = 0; r < 8; r++) {
  for (const impl of r % 2 ? ['ours', 'stock'] : ['stock', 'ours']) {
    if (impl === 'stock') restoreMaxPoolGrad('wasm');
    else registerMaxPoolGrad('wasm');
    cnn.step();
    res[impl].push(med(Array.from({ length: 10 }, cnn.step)));
  }
}
registerMaxPoolGrad('wasm');
console.log(`CNN-S step, batch 32, wasm: stock MaxPoolGrad ${med(res.stock).toFixed(1)} ms, ours ${med(res.ours).toFixed(1)} ms (medians of 8 alternating blocks of 10 steps)`);

// 2. Throughput as a share of the matmul rate, alternating the three in blocks.
const a = tf.randomUniform([1024, 1024], -1, 1, 'float32', 3);
const b = tf.randomUniform([1024, 1024], -1, 1, 'float32', 4);
const matmul = () => {
  const t0 = performance.now();
  tf.tidy(() => void tf.matMul(a, b).dataSync());
  return performance.now() - t0;
};
const nn = stepper('2nn', 32);
const cases = { matmul, 'cnn-s': cnn.step, '2nn': nn.step };
const times: Record<string, number[]> = { matmul: [], 'cnn-s': [], '2nn': [] };
for (const f of Object.values(cases)) for (let i = 0; i < 3; i++) f();
for (let r = 0; r < 6; r++) for (const [k, f] of Object.entries(cases)) times[k].push(med(Array.from({ length: 5 }, f)));
const matmulGflops = (2 * 1024 ** 3) / (med(times.matmul) / 1000) / 1e9;
console.log(`1024×1024 matmul on wasm: ${med(times.matmul).toFixed(1)} ms, ${matmulGflops.toFixed(2)} GFLOP/s (medians of 6 blocks of 5, alternating with the steps below)`);
for (const [name, s] of [['CNN-S', cnn], ['2NN', nn]] as const) {
  const ms = med(times[name.toLowerCase()]);
  const perSample = 3 * forwardFlops(s.net);
  const gflops = (perSample * s.batch) / (ms / 1000) / 1e9;
  console.log(`${name} training, batch ${s.batch}: ${ms.toFixed(1)} ms a step, ${((1000 * s.batch) / ms).toFixed(0)} samples/s, ${(perSample / 1e6).toFixed(2)} MFLOP a sample → ${gflops.toFixed(2)} GFLOP/s = ${((100 * gflops) / matmulGflops).toFixed(0)}% of the matmul rate`);
}
