/**
 * Envelopes already taken in, so a redelivery runs nothing twice. Slack redelivers an envelope it saw no
 * ack for, with `retry_attempt` set (docs/domain.md#socket-mode); the last retry comes about 5 minutes after
 * the first delivery, so keys are kept for 10.
 *
 * Two keys per envelope: its `envelope_id` (always), and what the payload itself names — `event_id` for
 * events, `trigger_id` for slash commands and interactions — which only a retry is matched against, so a
 * redelivery under a new envelope id is caught without ever merging two first deliveries.
 */
export class EnvelopeDedup {
  readonly #seen = new Map<string, number>();
  readonly #ttlMs: number;
  readonly #max: number;

  constructor(opts: { readonly ttlMs?: number; readonly max?: number } = {}) {
    this.#ttlMs = opts.ttlMs ?? 10 * 60_000;
    this.#max = opts.max ?? 20_000;
  }

  /** True the first time an envelope is seen (and remembers it); false for a redelivery. */
  admit(
    envelope: { envelope_id: string; retry_attempt?: number; payload?: unknown },
    now = Date.now(),
  ): boolean {
    this.#expire(now);
    const idKey = `envelope:${envelope.envelope_id}`;
    const contentKey = payloadKey(envelope.payload);
    if (this.#seen.has(idKey)) return false;
    if (contentKey && (envelope.retry_attempt ?? 0) > 0 && this.#seen.has(contentKey)) {
      this.#seen.set(idKey, now);
      return false;
    }
    this.#seen.set(idKey, now);
    if (contentKey) this.#seen.set(contentKey, now);
    return true;
  }

  #expire(now: number): void {
    // Insertion order is time order: stop at the first key still fresh.
    for (const [key, at] of this.#seen) {
      if (now - at <= this.#ttlMs && this.#seen.size <= this.#max) break;
      this.#seen.delete(key);
    }
  }
}

function payloadKey(payload: unknown): string | undefined {
  if (!payload || typeof payload !== 'object') return undefined;
  const p = payload as Record<string, unknown>;
  if (typeof p.event_id === 'string' && p.event_id) return `event:${p.event_id}`;
  if (typeof p.trigger_id === 'string' && p.trigger_id) return `trigger:${p.trigger_id}`;
  return undefined;
}
