// A run that failed for a reason worth one line (no stack). Its own module so that `npm run federate --runtime node`
// can name it without loading the browser runner (Playwright and vite: ~140 MB of RSS a Node-runtime run never uses).
export class RunnerError extends Error {
  override name = 'RunnerError';
}
