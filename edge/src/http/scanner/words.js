// Wording for warehouse staff: what a refusal means and what to do next, in words, never codes.
// The codes are the ones the edge answers with and the hub sends back for refused scans
// (docs/sync-protocol.md); an unknown code falls back to the server's own sentence.

/** code → [what happened, what to do] */
const refusals = {
  unknown_sku: [
    'Head office does not know this product code.',
    'Check the label. If it is a new product, ask head office to add it to the catalog, then scan the units again with the right code.',
  ],
  unknown_code: ['This barcode is not a product in this warehouse’s catalog.', 'Check the label or type the product code.'],
  insufficient_on_hand: ['There are not that many units in stock here.', 'Count the shelf, then scan again.'],
  insufficient_sellable: [
    'Not enough units free to sell or move.',
    'Count the stock, or check for damaged or already picked units.',
  ],
  insufficient_in_bin: ['That bin does not hold that many.', 'Check the bin label, or count the bin first.'],
  insufficient_lot: ['That lot does not hold that many.', 'Check the lot number on the label.'],
  insufficient_picked: ['Fewer units were picked than that.', 'Pick the units first.'],
  insufficient_damaged: ['Fewer damaged units are recorded than that.', 'Check the damaged units, then scan again.'],
  serial_count_mismatch: ['The serial numbers do not match the quantity.', 'Scan one serial number per unit.'],
  serial_already_in_stock: [
    'That serial number is already in stock.',
    'Check the label: every unit has its own serial number.',
  ],
  serial_not_in_stock: ['That serial number is not in stock here.', 'Check the label.'],
  serial_required: ['This product needs a serial number for every unit.', 'Scan the serial number of each unit.'],
  quota_exhausted: [
    'This store has no in-store allowance left for this product.',
    'Ask head office for more in-store allowance, or sell it online.',
  ],
  wrong_warehouse: ['This scan belongs to another warehouse.', 'Ask a supervisor.'],
  unknown_fulfillment: ['Head office does not know this order.', 'Ask a supervisor: the order may have been cancelled.'],
  fulfillment_state_conflict: [
    'The order changed at head office (it may have been cancelled).',
    'Put the units back on the shelf and check the pick list.',
  ],
  unknown_return: ['Head office does not know this return.', 'Ask a supervisor.'],
  return_state_conflict: ['The return changed at head office.', 'Ask a supervisor before receiving more of it.'],
  exceeds_authorized: [
    'More units than this return expects.',
    'Check the parcel; receive the extra units as an unexpected return with a supervisor.',
  ],
  return_not_expected: ['This return is no longer expected here.', 'Refresh the list.'],
  sku_not_in_return: ['That product is not on this return.', 'Check the parcel against the return.'],
  sku_not_in_fulfillment: ['That product is not on this order.', 'Check the label against the order.'],
  too_many_picks: ['More than the order needs.', 'Pick only what is left on the order.'],
  over_pick: ['More than the order needs.', 'Pick only what is left on the order.'],
  forbidden: ['Your account may not do this.', 'Ask a supervisor.'],
  too_many_attempts: ['Too many wrong passwords.', 'Wait a moment, then try again.'],
  invalid_input: ['Something on the form is not right.', 'Check the highlighted fields.'],
};

/** A refusal as staff read it: {what, todo}. */
export function refusalText(code, serverMessage) {
  const known = refusals[code];
  if (known) return { what: known[0], todo: known[1] };
  const sentence = String(serverMessage ?? 'The scan was refused.');
  return { what: sentence.charAt(0).toUpperCase() + sentence.slice(1), todo: '' };
}

/** Field names in the API's validation issues, as the form labels them. */
const fieldNames = {
  sku: 'product',
  quantity: 'quantity',
  countedQuantity: 'quantity counted',
  bin: 'bin',
  fromBin: 'from bin',
  toBin: 'to bin',
  lot: 'lot',
  serials: 'serial numbers',
  transferId: 'transfer reference',
  toWarehouseId: 'warehouse',
  fromWarehouseId: 'warehouse',
  carrier: 'carrier',
  trackingNumber: 'tracking number',
  packages: 'parcel',
};

/** An error answer `{error: {code, message, details}}` as one sentence, with the fields to fix. */
export function errorSentence(error) {
  const { what, todo } = refusalText(error?.code, error?.message);
  const issues = error?.details?.issues ?? [];
  const fields = [...new Set(issues.map((issue) => fieldNames[String(issue.path).split('.')[0]] ?? issue.path))];
  if (error?.code === 'invalid_input' && fields.length > 0) return `Check the ${fields.join(', ')}.`;
  return todo ? `${what} ${todo}` : what;
}

const plural = (count, one, many) => `${count} ${count === 1 ? one : many}`;
export { plural };

/** "12:03" today, "3 Dec 12:03" another day. */
export function clock(iso) {
  if (!iso) return 'never';
  const at = new Date(iso);
  const sameDay = at.toDateString() === new Date().toDateString();
  const time = at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  return sameDay ? time : `${at.toLocaleDateString([], { day: 'numeric', month: 'short' })} ${time}`;
}

/** "5 s ago", "3 min ago", "2 h ago". */
export function ago(iso) {
  if (!iso) return '';
  const seconds = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  return `${Math.round(seconds / 3600)} h ago`;
}
