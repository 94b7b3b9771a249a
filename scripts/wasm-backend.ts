// tfjs on wasm with fedtab's training kernels, single-threaded like the browser's (no cross-origin isolation there):
// the Node runtime's coordinator thread and each of its client threads start it the same way.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerBatchMatMul } from '../src/kernels/batch-matmul';
import { registerConv2DBackpropFilter } from '../src/kernels/conv2d-backprop-filter';
import { registerConv2DBackpropInput } from '../src/kernels/conv2d-backprop-input';
import { registerMaxPoolGrad } from '../src/kernels/max-pool-grad';

let backendReady: Promise<void> | null = null;
export function initBackend(): Promise<void> {
  backendReady ??= (async () => {
    registerConv2DBackpropFilter('wasm');
    registerConv2DBackpropInput('wasm');
    registerBatchMatMul('wasm');
    registerMaxPoolGrad('wasm');
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    if (!(await tf.setBackend('wasm'))) throw new Error('the tfjs wasm backend did not start in Node');
    await tf.ready();
  })();
  return backendReady;
}
