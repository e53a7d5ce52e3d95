/**
 * GS1 barcode data (GS1-128, GS1 DataMatrix, GS1 QR) as a scanner delivers it, parsed into fields.
 *
 * This module imports nothing: the edge also serves it to the scanner app's browser as a plain ES
 * module (type annotations stripped), so one parser serves the server and the handheld.
 *
 * Forms accepted:
 * - human-readable, parenthesised: `(01)09501101530003(10)LOT42(21)SN-7`;
 * - raw element string as a keyboard-wedge scanner types it: an optional symbology identifier
 *   (`]C1`, `]d2`, `]Q3`, `]e0`), then AI + value pairs, variable-length values ended by the FNC1
 *   separator (ASCII 29, GS) unless last: `0109501101530003` `10LOT42` GS `21SN-7`;
 * - a bare GTIN-8/12/13/14 (an EAN/UPC barcode), when its check digit is right.
 */

export type Gs1Fields = {
  /** GTIN-14 (AI 01), left-padded with zeros so every GTIN length compares equal. */
  gtin?: string;
  /** Batch or lot (AI 10). */
  lot?: string;
  /** Serial number (AI 21). */
  serial?: string;
  /** Expiry date YYMMDD (AI 17). */
  expiry?: string;
  /** Count of items (AI 30 or 37). */
  count?: number;
  /** Every element string read, AI → value. */
  elements: Record<string, string>;
};
export type Gs1Parse = ({ ok: true } & Gs1Fields) | { ok: false; message: string };

/** FNC1 as scanners transmit it in the data: ASCII 29 (group separator). */
export const gs1Separator = '\u001d';

/** Application identifiers this parser knows: fixed length or the maximum of a variable one. */
const applicationIdentifiers: Record<string, { length: number; fixed: boolean; numeric: boolean }> = {
  '00': { length: 18, fixed: true, numeric: true }, // SSCC
  '01': { length: 14, fixed: true, numeric: true }, // GTIN
  '02': { length: 14, fixed: true, numeric: true }, // GTIN of contained items
  '10': { length: 20, fixed: false, numeric: false }, // batch / lot
  '11': { length: 6, fixed: true, numeric: true }, // production date
  '12': { length: 6, fixed: true, numeric: true }, // due date
  '13': { length: 6, fixed: true, numeric: true }, // packaging date
  '15': { length: 6, fixed: true, numeric: true }, // best before
  '16': { length: 6, fixed: true, numeric: true }, // sell by
  '17': { length: 6, fixed: true, numeric: true }, // expiry
  '20': { length: 2, fixed: true, numeric: true }, // internal variant
  '21': { length: 20, fixed: false, numeric: false }, // serial
  '22': { length: 20, fixed: false, numeric: false }, // consumer product variant
  '30': { length: 8, fixed: false, numeric: true }, // variable count
  '37': { length: 8, fixed: false, numeric: true }, // count of trade items
  '240': { length: 30, fixed: false, numeric: false }, // additional product id
  '241': { length: 30, fixed: false, numeric: false }, // customer part number
  '250': { length: 30, fixed: false, numeric: false }, // secondary serial
  '400': { length: 30, fixed: false, numeric: false }, // customer's purchase order
  '410': { length: 13, fixed: true, numeric: true }, // ship to GLN
  '414': { length: 13, fixed: true, numeric: true }, // location GLN
};
/** Trade measures 310n–369n (4-digit AI, last digit the decimal places): six digits each. */
const measure = /^3[1-6]\d\d$/;

/** GS1 mod-10 check digit: weights 3,1,3,1… from the right, excluding the check digit. */
export function isValidGtinCheckDigit(gtin: string): boolean {
  if (!/^\d+$/.test(gtin)) return false;
  const digits = gtin.split('').map(Number);
  const check = digits.pop() as number;
  let sum = 0;
  for (let i = digits.length - 1, weight = 3; i >= 0; i--, weight = 4 - weight) sum += (digits[i] as number) * weight;
  return (10 - (sum % 10)) % 10 === check;
}

/** A GTIN of any length as GTIN-14, or undefined when it is no GTIN. */
export function normalizeGtin(code: string): string | undefined {
  if (!/^(\d{8}|\d{12}|\d{13}|\d{14})$/.test(code) || !isValidGtinCheckDigit(code)) return undefined;
  return code.padStart(14, '0');
}

function definitionOf(ai: string) {
  if (measure.test(ai)) return { length: 6, fixed: true, numeric: true };
  return applicationIdentifiers[ai];
}

/** Reads the AI at the start of `rest`: 2, 3 or 4 digits, whichever the table knows. */
function readAi(rest: string): string | undefined {
  for (const size of [2, 3, 4]) {
    const ai = rest.slice(0, size);
    if (/^\d+$/.test(ai) && ai.length === size && definitionOf(ai)) return ai;
  }
  return undefined;
}

function finish(elements: Record<string, string>): Gs1Parse {
  for (const [ai, value] of Object.entries(elements)) {
    const definition = definitionOf(ai);
    if (!definition) return { ok: false, message: `unknown GS1 application identifier (${ai})` };
    if (value.length === 0) return { ok: false, message: `GS1 (${ai}) is empty` };
    if (definition.fixed && value.length !== definition.length)
      return { ok: false, message: `GS1 (${ai}) must be ${definition.length} characters, got ${value.length}` };
    if (!definition.fixed && value.length > definition.length)
      return { ok: false, message: `GS1 (${ai}) is at most ${definition.length} characters` };
    if (definition.numeric && !/^\d+$/.test(value)) return { ok: false, message: `GS1 (${ai}) must be digits` };
    if (!/^[\x21-\x7e]+$/.test(value)) return { ok: false, message: `GS1 (${ai}) holds characters not allowed` };
  }
  const fields: Gs1Fields = { elements };
  if (elements['01'] !== undefined) {
    if (!isValidGtinCheckDigit(elements['01'])) return { ok: false, message: 'the GTIN check digit does not match' };
    fields.gtin = elements['01'];
  }
  if (elements['10'] !== undefined) fields.lot = elements['10'];
  if (elements['21'] !== undefined) fields.serial = elements['21'];
  if (elements['17'] !== undefined) fields.expiry = elements['17'];
  const count = elements['37'] ?? elements['30'];
  if (count !== undefined) fields.count = Number(count);
  return { ok: true, ...fields };
}

function parseParenthesised(text: string): Gs1Parse {
  const elements: Record<string, string> = {};
  const pattern = /\((\d{2,4})\)([^()]*)/y;
  let index = 0;
  while (index < text.length) {
    pattern.lastIndex = index;
    const match = pattern.exec(text);
    if (!match) return { ok: false, message: 'not a GS1 element string: expected (AI)value' };
    const ai = match[1] as string;
    if (elements[ai] !== undefined) return { ok: false, message: `GS1 (${ai}) appears twice` };
    elements[ai] = (match[2] as string).replaceAll(gs1Separator, '');
    index = pattern.lastIndex;
  }
  return finish(elements);
}

function parseRaw(text: string): Gs1Parse {
  const elements: Record<string, string> = {};
  let rest = text;
  while (rest.length > 0) {
    if (rest.startsWith(gs1Separator)) {
      rest = rest.slice(1);
      continue;
    }
    const ai = readAi(rest);
    if (ai === undefined) return { ok: false, message: `unknown GS1 application identifier at "${rest.slice(0, 4)}"` };
    const definition = definitionOf(ai) as { length: number; fixed: boolean };
    rest = rest.slice(ai.length);
    let value: string;
    if (definition.fixed) {
      value = rest.slice(0, definition.length);
      rest = rest.slice(definition.length);
    } else {
      const end = rest.indexOf(gs1Separator);
      value = end === -1 ? rest : rest.slice(0, end);
      rest = end === -1 ? '' : rest.slice(end + 1);
    }
    if (elements[ai] !== undefined) return { ok: false, message: `GS1 (${ai}) appears twice` };
    elements[ai] = value;
  }
  return finish(elements);
}

/**
 * Parses what a scanner read. Returns `undefined` when the text is not GS1 data at all (an internal
 * SKU or bin label); a GS1-looking text that is malformed is `{ok: false, message}`.
 */
export function parseGs1(scanned: string): Gs1Parse | undefined {
  let text = scanned.trim();
  const symbology = /^\](C1|d2|Q3|e0|J1)/.exec(text);
  if (symbology) text = text.slice(3);
  if (text.startsWith(gs1Separator)) text = text.slice(1);
  if (text.length === 0) return undefined;
  const bare = normalizeGtin(text);
  if (bare !== undefined) return { ok: true, gtin: bare, elements: { '01': bare } };
  if (text.startsWith('(')) return parseParenthesised(text);
  // Without a symbology identifier, only data that starts with a GTIN or SSCC and holds digits
  // first is taken for GS1: "1042-B" is a SKU, not AI 10 with the lot "42-B".
  if (symbology || /^(01\d{14}|00\d{18})/.test(text) || text.includes(gs1Separator)) return parseRaw(text);
  return undefined;
}
