// A client thread's entry: worker threads do not inherit tsx's loader, so this registers it, then loads the TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('./client-thread.ts');
