// npx tsx scripts/step-bench.ts: one CNN-S training step (batch 32, wasm, our other kernels in place) with the stock
// MaxPoolGrad and with ours, alternating blocks of 10 steps in one run; prints the two medians.
import * as tf from '@tensorflow/tfjs';
import { initBackend } from './node-runtime';
import { registerMaxPoolGrad, restoreMaxPoolGrad } from '../src/kernels/max-pool-grad';
import { buildModel } from '../src/shared/ml/models';
await initBackend();
const net = buildModel('cnn-s');
const x = tf.randomUniform([32, 28, 28, 1], 0, 1, 'float32', 1);
const y = tf.oneHot(tf.randomUniform([32], 0, 10, 'int32', 2), 10).asType('float32');
const opt = tf.train.sgd(0.01);
const step = () => { const t0 = performance.now(); tf.tidy(() => { opt.minimize(() => tf.losses.softmaxCrossEntropy(y, net.predict(x) as tf.Tensor) as tf.Scalar); }); return performance.now() - t0; };
for (let i = 0; i < 5; i++) step();
const res: Record<string, number[]> = { stock: [], ours: [] };
for (let r = 0; r < 8; r++) {
  for (const impl of r % 2 ? ['ours', 'stock'] : ['stock', 'ours']) {
    if (impl === 'stock') restoreMaxPoolGrad('wasm'); else registerMaxPoolGrad('wasm');
    step();
    const ts = Array.from({ length: 10 }, step).sort((a, b) => a - b);
    res[impl].push(ts[5]);
  }
}
const med = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1];
console.log(`CNN-S step, batch 32, wasm: stock MaxPoolGrad ${med(res.stock).toFixed(1)} ms, ours ${med(res.ours).toFixed(1)} ms (medians of 8 alternating blocks of 10 steps)`);
