// setTimeout is throttled to once a second in background tabs; a MessageChannel message is not.
// Node (tests, scripts) has setImmediate, which also keeps the process alive while it waits.
const channel = typeof setImmediate === 'undefined' && typeof MessageChannel !== 'undefined' ? new MessageChannel() : null;
const waiting: Array<() => void> = [];
if (channel) channel.port1.onmessage = () => waiting.shift()?.();

export function yieldToEventLoop(): Promise<void> {
  if (!channel) return new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));
  return new Promise((resolve) => {
    waiting.push(resolve);
    channel.port2.postMessage(null);
  });
}
