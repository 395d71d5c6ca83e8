import { createHash } from 'node:crypto';
import type { RecordedEvent } from '../../ports/event-store';
import { canonicalJson } from './canonical-json';

/**
 * The tamper-evidence chain of a stream: each event stores
 * `hash = sha256_hex(prev_hash || canonical(event))`, with prev_hash '' for revision 0, so editing,
 * reordering or deleting any event except the last breaks every hash after it. (Truncating the
 * tail is visible only against the stream's recorded revision, not from the chain alone.)
 */

/** The genesis prev_hash of every stream. */
export const GENESIS_HASH = '';

export interface HashedEvent {
  readonly streamId: string;
  readonly revision: number;
  readonly id: string;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: unknown;
  readonly recordedAt: Date;
}

export function eventHash(prevHash: string, event: HashedEvent): string {
  return chainHash(prevHash, canonicalEvent(event));
}

/**
 * The text an event is hashed over: the canonical JSON of its envelope. A store may write the
 * event's fields from this very text, so that what it stores is exactly what it hashed.
 */
export function canonicalEvent(event: HashedEvent): string {
  return canonicalJson({
    stream_id: event.streamId,
    revision: event.revision,
    event_id: event.id,
    type: event.type,
    data: event.data,
    metadata: event.metadata,
    recorded_at: event.recordedAt.toISOString(),
  });
}

/** sha256_hex(prevHash || canonical), both as UTF-8. */
export function chainHash(prevHash: string, canonical: string): string {
  return createHash('sha256').update(prevHash, 'utf8').update(canonical, 'utf8').digest('hex');
}

export type ChainFailureReason = 'hash_mismatch' | 'prev_hash_mismatch' | 'revision_gap';

export type ChainVerdict = { readonly ok: true } | { readonly ok: false; readonly revision: number; readonly reason: ChainFailureReason };

/**
 * Checks one stream, as `read(streamId)` returns it (ordered by revision), and names the first
 * event that fails. Each event is checked for, in order: its revision being the next one, its
 * prev_hash being the stored hash of the event before, and its own hash matching its content.
 * For a gap, `revision` is the revision that is missing.
 */
export function verifyChain(events: readonly RecordedEvent[]): ChainVerdict {
  const streamId = events[0]?.streamId;
  let expectedPrevHash = GENESIS_HASH;
  for (const [index, event] of events.entries()) {
    if (event.streamId !== streamId) {
      throw new TypeError(`verifyChain takes one stream, got ${String(streamId)} and ${event.streamId}`);
    }
    if (event.revision !== index) return { ok: false, revision: index, reason: 'revision_gap' };
    if (event.prevHash !== expectedPrevHash) return { ok: false, revision: index, reason: 'prev_hash_mismatch' };
    if (event.hash !== eventHash(event.prevHash, event)) return { ok: false, revision: index, reason: 'hash_mismatch' };
    expectedPrevHash = event.hash;
  }
  return { ok: true };
}
