// setTimeout is throttled to once a second in background tabs; a MessageChannel message is not.
const channel = typeof MessageChannel !== 'undefined' ? new MessageChannel() : null;
const waiting: Array<() => void> = [];
if (channel) {
  channel.port1.onmessage = () => waiting.shift()?.();
  // Node (unit tests): an idle port must not keep the process alive.
  (channel.port1 as { unref?: () => void }).unref?.();
}

export function yieldToEventLoop(): Promise<void> {
  if (!channel) return new Promise((resolve) => setTimeout(resolve, 0));
  return new Promise((resolve) => {
    waiting.push(resolve);
    channel.port2.postMessage(null);
  });
}
