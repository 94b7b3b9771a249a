// Backend set-up shared by clients and the coordinator: wasm binaries (served by vite), our training kernels,
// and switching tf to a named backend. The `auto` probe that picks one for a client is in src/client/backend.ts.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import type { BackendName } from '../config';
import { registerBatchMatMul } from '../../kernels/batch-matmul';
import { registerConv2DBackpropFilter } from '../../kernels/conv2d-backprop-filter';
import { registerMaxPoolGrad } from '../../kernels/max-pool-grad';
import { registerConv2DBackpropInput } from '../../kernels/conv2d-backprop-input';

setWasmPaths({
  'tfjs-backend-wasm.wasm': wasmPlain,
  'tfjs-backend-wasm-simd.wasm': wasmSimd,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
});
// Stock tfjs-wasm cannot train a CNN without a filter-gradient kernel, and its input-gradient and transposed
// matmul kernels are naive loops; ours are built on XNNPACK's Conv2D/MatMul (a CNN-S step: ~145 → ~63 ms).
// On cpu only the filter gradient is faster than stock (11–40×). Numbers: src/kernels/kernels.bench.ts.
registerConv2DBackpropFilter('wasm');
registerConv2DBackpropInput('wasm');
registerBatchMatMul('wasm');
registerMaxPoolGrad('wasm');
registerConv2DBackpropFilter('cpu');

export function available(name: BackendName): boolean {
  const g = globalThis as { navigator?: { gpu?: unknown }; OffscreenCanvas?: unknown; document?: unknown };
  if (name === 'webgpu') return !!g.navigator?.gpu;
  if (name === 'webgl') return !!g.document || !!g.OffscreenCanvas;
  return true;
}

export async function useBackend(name: BackendName): Promise<boolean> {
  if (!available(name)) return false;
  try {
    const ok = await tf.setBackend(name);
    await tf.ready();
    return ok && tf.getBackend() === name;
  } catch {
    return false;
  }
}
