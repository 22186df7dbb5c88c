/**
 * MctpStack.onEvent() as something lib/wait can wait on: a Listenable whose
 * 'event' fires with each StackEvent (interfaces, addresses, carrier). It
 * holds no state of its own: on() subscribes to the stack, off() removes that
 * subscription, so a finished wait leaves nothing behind.
 */
import type { MctpStack, StackEvent } from '../firmware/mctp/stack.js';
import type { Listenable } from '../lib/wait.js';

export const STACK_EVENT = 'event';

export function stackEvents(stack: MctpStack): Listenable {
  const subscriptions = new Map<(...args: any[]) => void, () => void>();
  return {
    on(event, listener) {
      // Only 'event' ever fires; other names (a wait's failOn) are accepted and stay silent.
      if (event !== STACK_EVENT || subscriptions.has(listener)) return;
      subscriptions.set(listener, stack.onEvent((ev: StackEvent) => listener(ev)));
    },
    off(event, listener) {
      if (event !== STACK_EVENT) return;
      subscriptions.get(listener)?.();
      subscriptions.delete(listener);
    },
  };
}
