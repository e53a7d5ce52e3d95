import { describe, expect, it } from 'vitest';
import { applyStockEvent } from './apply.ts';
import { onHandStep } from './history.ts';
import { emptyPartition, type PartitionState } from './partition.ts';
import type { StockEventBody } from './schemas.ts';

const sku = 'SOFA-HISTORY';

describe('onHandStep: the on-hand change of a ledger event', () => {
  it('agrees with applyStockEvent on every step of a ledger', () => {
    const ledger: StockEventBody[] = [
      { sku, type: 'receive', quantity: 10, bin: 'A-01' },
      { sku, type: 'move', quantity: 2, fromBin: 'A-01', toBin: 'B-02' },
      { sku, type: 'damage', quantity: 1 },
      { sku, type: 'pick', quantity: 3, bin: 'A-01' },
      { sku, type: 'ship', quantity: 3 },
      { sku, type: 'quota_grant', quantity: 2 },
      { sku, type: 'instore_sale', quantity: 1 },
      { sku, type: 'quota_return', quantity: 1 },
      { sku, type: 'transfer_out', quantity: 1, transferId: 'T-1', toWarehouseId: 'W2' },
      { sku, type: 'transfer_in', quantity: 4, transferId: 'T-2', fromWarehouseId: 'W2' },
      { sku, type: 'count', delta: -2, bin: 'B-02' },
      { sku, type: 'adjust', delta: 5, reason: 'found' },
      { sku, type: 'return_restock', quantity: 1, condition: 'sellable', returnId: 'R-1' },
    ] as StockEventBody[];
    let state: PartitionState = emptyPartition();
    for (const event of ledger) {
      const result = applyStockEvent(state, event);
      if (!result.ok) throw new Error(`${event.type}: ${result.message}`);
      const step = onHandStep(event);
      expect(step, event.type).toEqual({ kind: 'delta', delta: result.state.onHand - state.onHand });
      state = result.state;
    }
    expect(state.onHand).toBeGreaterThan(0);
  });

  it('gives a reconcile as the restated figure', () => {
    const restated = { ...emptyPartition(), onHand: 7, bins: [['A-01', 7]] as Array<[string, number]> };
    expect(onHandStep({ sku, type: 'reconcile', state: restated } as StockEventBody)).toEqual({
      kind: 'restated',
      onHand: 7,
    });
  });
});
