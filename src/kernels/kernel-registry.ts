import {
  engine,
  getKernel,
  registerKernel,
  unregisterKernel,
  type KernelConfig,
  type KernelFunc,
} from '@tensorflow/tfjs';

/** Our kernel per kernel name and backend, plus whatever it replaced (if anything) for restoring. */
const installed = new Map<string, { ours: KernelConfig; previous?: KernelConfig }>();
const key = (kernelName: string, backendName: string) => `${kernelName}_${backendName}`;

/** Our kernel minus its name and backend, which `overrideKernel` fills in. */
export type KernelImpl = Omit<KernelConfig, 'kernelName' | 'backendName'>;

/**
 * Registers `make(previous)` as `kernelName` for `backendName`, where `previous` is the kernel registered there
 * now (if any), which `restoreKernel` puts back. Idempotent: while ours is in place, does nothing (`make` not called).
 */
export function overrideKernel(
  kernelName: string,
  backendName: string,
  make: (previous: KernelConfig | undefined) => KernelImpl,
): void {
  const current = getKernel(kernelName, backendName);
  if (current && installed.get(key(kernelName, backendName))?.ours === current) return;
  const ours: KernelConfig = { ...make(current), kernelName, backendName };
  // Unregister first: re-registering works but logs an "already registered" warning.
  if (current) unregisterKernel(kernelName, backendName);
  registerKernel(ours);
  installed.set(key(kernelName, backendName), { ours, previous: current });
  if (getKernel(kernelName, backendName)?.kernelFunc !== ours.kernelFunc) {
    throw new Error(`${kernelName} registration for '${backendName}' did not take effect`);
  }
}

/** Undoes `overrideKernel` if ours is still registered: restores the replaced kernel, or leaves none. */
export function restoreKernel(kernelName: string, backendName: string): void {
  const k = key(kernelName, backendName);
  const entry = installed.get(k);
  if (!entry || getKernel(kernelName, backendName) !== entry.ours) return;
  unregisterKernel(kernelName, backendName);
  if (entry.previous) {
    registerKernel(entry.previous);
    // The engine runs kernel setups on setBackend; if the backend was initialised while ours was registered, the
    // replaced kernel's setup (stock wasm: binding its C++ function) may not have run. Running it again is harmless.
    const backend = engine().registry[backendName];
    if (backend && entry.previous.setupFunc) entry.previous.setupFunc(backend);
  }
  installed.delete(k);
}

/** The kernel functions registered on `backendName` for `names`; throws naming `user` if one is missing. */
export function backendKernels(backendName: string, user: string, names: readonly string[]): KernelFunc[] {
  return names.map((name) => {
    const k = getKernel(name, backendName);
    if (!k) throw new Error(`${user} for '${backendName}' needs its '${name}' kernel`);
    return k.kernelFunc;
  });
}
