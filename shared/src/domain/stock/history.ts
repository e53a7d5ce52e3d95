import { assertNever } from '../../assert.ts';
import type { StockEventBody } from './schemas.ts';

/**
 * How one ledger event changes a partition's on-hand, for charts that walk a ledger backwards from
 * today's figure: a `delta` (the same one `applyStockEvent` applies), or, for a `reconcile`, the
 * restated figure (what came before it is not known from the event alone).
 */
export type OnHandStep = { kind: 'delta'; delta: number } | { kind: 'restated'; onHand: number };

export function onHandStep(event: StockEventBody): OnHandStep {
  switch (event.type) {
    case 'receive':
    case 'transfer_in':
    case 'return_restock':
      return { kind: 'delta', delta: event.quantity };
    case 'adjust':
    case 'count':
      return { kind: 'delta', delta: event.delta };
    case 'transfer_out':
    case 'ship':
    case 'instore_sale':
      return { kind: 'delta', delta: -event.quantity };
    case 'damage':
    case 'move':
    case 'pick':
    case 'unpick':
    case 'quota_grant':
    case 'quota_return':
      return { kind: 'delta', delta: 0 };
    case 'reconcile':
      return { kind: 'restated', onHand: event.state.onHand };
    default:
      return assertNever(event, 'unknown stock event type');
  }
}
