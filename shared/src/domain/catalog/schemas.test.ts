import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  catalogProductSchema,
  gtinSchema,
  isValidGtinCheckDigit,
  variantOptionsSchema,
  warehouseSchema,
} from './schemas.ts';

/** Independent GS1 check digit (weights 3,1,3,1… from the right of the payload), to build valid GTINs. */
function gs1CheckDigit(payload: string): number {
  const reversed = [...payload].reverse();
  const sum = reversed.reduce((total, digit, i) => total + Number(digit) * (i % 2 === 0 ? 3 : 1), 0);
  return (10 - (sum % 10)) % 10;
}

// Published, real-world codes.
const validGtins = [
  { kind: 'GTIN-13', gtin: '4006381333931' }, // EAN-13 on a STABILO BOSS highlighter
  { kind: 'GTIN-13', gtin: '5901234123457' }, // GS1 EAN-13 specimen
  { kind: 'GTIN-13', gtin: '9780306406157' }, // ISBN-13 Bookland EAN
  { kind: 'GTIN-8', gtin: '96385074' }, // EAN-8 specimen
  { kind: 'GTIN-8', gtin: '73513537' }, // EAN-8
  { kind: 'GTIN-12', gtin: '036000291452' }, // UPC-A specimen
  { kind: 'GTIN-14', gtin: '10614141000415' }, // GS1 US case code (packaging indicator 1)
  { kind: 'GTIN-14', gtin: '00012345600012' }, // GTIN-12 012345600001 padded to 14 digits
];

describe('GTIN check digit', () => {
  it.each(validGtins)('accepts the valid $kind $gtin', ({ gtin }) => {
    expect(isValidGtinCheckDigit(gtin)).toBe(true);
    expect(gtinSchema.safeParse(gtin).success).toBe(true);
    expect(gs1CheckDigit(gtin.slice(0, -1))).toBe(Number(gtin.at(-1)));
  });

  it.each(validGtins)('refuses $gtin with each other check digit', ({ gtin }) => {
    const payload = gtin.slice(0, -1);
    for (let digit = 0; digit <= 9; digit++) {
      if (String(digit) === gtin.at(-1)) continue;
      expect(isValidGtinCheckDigit(payload + digit)).toBe(false);
      expect(gtinSchema.safeParse(payload + digit).success).toBe(false);
    }
  });

  it('refuses specific corrupted codes: a wrong digit and a transposition', () => {
    expect(isValidGtinCheckDigit('4006381333932')).toBe(false);
    expect(isValidGtinCheckDigit('4006381333913')).toBe(false);
    expect(isValidGtinCheckDigit('4006381339331')).toBe(false);
    expect(isValidGtinCheckDigit('96385047')).toBe(false);
    expect(isValidGtinCheckDigit('10614141000416')).toBe(false);
  });

  it('refuses codes that are not all digits', () => {
    for (const bad of ['', '4006381333 31', '400638133393a', '-96385074', '9638507.4']) {
      expect(isValidGtinCheckDigit(bad)).toBe(false);
    }
  });

  it('detects every single-digit error in a valid GTIN of any length', () => {
    const gtin = fc
      .constantFrom(7, 11, 12, 13)
      .chain((length) => fc.array(fc.integer({ min: 0, max: 9 }), { minLength: length, maxLength: length }))
      .map((digits) => {
        const payload = digits.join('');
        return payload + gs1CheckDigit(payload);
      });
    fc.assert(
      fc.property(gtin, fc.nat(), fc.integer({ min: 1, max: 9 }), (valid, at, shift) => {
        expect(isValidGtinCheckDigit(valid)).toBe(true);
        expect(gtinSchema.safeParse(valid).success).toBe(true);
        const position = at % valid.length;
        const corrupted =
          valid.slice(0, position) + String((Number(valid[position]) + shift) % 10) + valid.slice(position + 1);
        expect(isValidGtinCheckDigit(corrupted)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('the schema accepts only 8, 12, 13 or 14 digits even with a valid check digit', () => {
    for (const payload of ['123456', '12345678', '1234567890']) {
      // 7-, 9- and 11-digit codes with a correct mod-10 check digit are still not GTINs.
      const code = payload + gs1CheckDigit(payload);
      expect(isValidGtinCheckDigit(code)).toBe(true);
      expect(gtinSchema.safeParse(code).success).toBe(false);
    }
    expect(gtinSchema.safeParse('0000000000000000').success).toBe(false);
  });
});

describe('catalog schemas', () => {
  const product = {
    id: 'p-1',
    name: 'Lune sofa',
    category: 'sofa',
    basePrice: 129_900,
    currency: 'EUR',
    variants: [{ sku: 'LUNE-3S-SAND', gtin: '4006381333931', options: { fabric: 'boucle', color: 'sand' } }],
    archived: false,
    version: 1,
  };

  it('accepts a product with a valid variant', () => {
    expect(catalogProductSchema.parse(product)).toEqual(product);
  });

  it('refuses a variant with a bad GTIN, naming the field', () => {
    const result = catalogProductSchema.safeParse({
      ...product,
      variants: [{ ...product.variants[0], gtin: '4006381333932' }],
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path.join('.'))).toEqual(['variants.0.gtin']);
  });

  it('refuses unknown fields, lower-case currencies and unknown categories', () => {
    expect(catalogProductSchema.safeParse({ ...product, colour: 'red' }).success).toBe(false);
    expect(catalogProductSchema.safeParse({ ...product, currency: 'eur' }).success).toBe(false);
    expect(catalogProductSchema.safeParse({ ...product, category: 'spaceship' }).success).toBe(false);
  });

  it('allows at most ten variant options with camel-case names', () => {
    const ten = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`opt${i}`, 'v']));
    expect(variantOptionsSchema.safeParse(ten).success).toBe(true);
    expect(variantOptionsSchema.safeParse({ ...ten, opt10: 'v' }).success).toBe(false);
    expect(variantOptionsSchema.safeParse({ Fabric: 'boucle' }).success).toBe(false);
  });

  it('refuses a warehouse outside valid coordinates', () => {
    const warehouse = { id: 'berlin', name: 'Berlin', kind: 'warehouse', location: { lat: 52.5, lon: 13.4 } };
    expect(warehouseSchema.safeParse(warehouse).success).toBe(true);
    expect(warehouseSchema.safeParse({ ...warehouse, location: { lat: 91, lon: 0 } }).success).toBe(false);
    expect(warehouseSchema.safeParse({ ...warehouse, location: { lat: 0, lon: -181 } }).success).toBe(false);
  });
});
