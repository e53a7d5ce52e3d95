import { describe, expect, it } from 'vitest';
import { gs1Separator as GS, normalizeGtin, parseGs1 } from './gs1.ts';

// 09501101530003 is the GTIN of GS1's own specimen labels; 4006381333931 an EAN-13 on a highlighter.
const gtin = '09501101530003';

describe('parseGs1', () => {
  it('reads the parenthesised form into GTIN, lot and serial', () => {
    expect(parseGs1(`(01)${gtin}(10)LOT42(21)SN-7`)).toEqual({
      ok: true,
      gtin,
      lot: 'LOT42',
      serial: 'SN-7',
      elements: { '01': gtin, '10': 'LOT42', '21': 'SN-7' },
    });
  });

  it('reads the raw form a keyboard-wedge scanner types, FNC1 ending a variable field', () => {
    expect(parseGs1(`01${gtin}10LOT42${GS}21SN-7`)).toMatchObject({ ok: true, gtin, lot: 'LOT42', serial: 'SN-7' });
    // A fixed-length field needs no separator; the last field needs none either.
    expect(parseGs1(`01${gtin}17271231` + `21ABC`)).toMatchObject({ gtin, expiry: '271231', serial: 'ABC' });
  });

  it('strips a symbology identifier and a leading FNC1', () => {
    expect(parseGs1(`]C1${GS}01${gtin}10L1`)).toMatchObject({ ok: true, gtin, lot: 'L1' });
    expect(parseGs1(`]d201${gtin}21S9`)).toMatchObject({ ok: true, gtin, serial: 'S9' });
    expect(parseGs1(`]Q3(01)${gtin}`)).toMatchObject({ ok: true, gtin });
  });

  it('takes a bare EAN/UPC as a GTIN-14', () => {
    expect(parseGs1('4006381333931')).toMatchObject({ ok: true, gtin: '04006381333931' });
    expect(parseGs1('96385074')).toMatchObject({ ok: true, gtin: '00000096385074' });
    expect(parseGs1('036000291452')).toMatchObject({ ok: true, gtin: '00036000291452' });
  });

  it('reads counts and trade measures', () => {
    expect(parseGs1(`(01)${gtin}(37)12(3103)001250`)).toMatchObject({
      ok: true,
      count: 12,
      elements: { '3103': '001250' },
    });
  });

  it('leaves internal SKUs and bin labels alone', () => {
    for (const code of ['OSLO-SOFA-GREY', 'A-01', '1042-B', '10LOT', '4006381333932', '']) {
      expect(parseGs1(code), code).toBeUndefined();
    }
  });

  it('refuses malformed GS1 data with a reason', () => {
    expect(parseGs1(`(01)${gtin.slice(0, -1)}4`)).toEqual({
      ok: false,
      message: 'the GTIN check digit does not match',
    });
    expect(parseGs1('(01)123')).toEqual({ ok: false, message: 'GS1 (01) must be 14 characters, got 3' });
    expect(parseGs1(`(01)${gtin}(10)${'x'.repeat(21)}`)).toEqual({
      ok: false,
      message: 'GS1 (10) is at most 20 characters',
    });
    expect(parseGs1(`(01)${gtin}(99)x`)).toEqual({ ok: false, message: 'unknown GS1 application identifier (99)' });
    expect(parseGs1(`(01)${gtin}(10)A(10)B`)).toEqual({ ok: false, message: 'GS1 (10) appears twice' });
    expect(parseGs1(`(01)${gtin}junk`)).toMatchObject({ ok: false });
    expect(parseGs1(`]C101${gtin}99x`)).toMatchObject({ ok: false, message: expect.stringContaining('unknown') });
    expect(parseGs1(`(01)${gtin}(17)27AB31`)).toEqual({ ok: false, message: 'GS1 (17) must be digits' });
  });
});

describe('normalizeGtin', () => {
  it('pads every valid GTIN length to 14 digits and refuses the rest', () => {
    expect(normalizeGtin('5901234123457')).toBe('05901234123457');
    expect(normalizeGtin(gtin)).toBe(gtin);
    expect(normalizeGtin('5901234123458')).toBeUndefined();
    expect(normalizeGtin('123456789')).toBeUndefined();
    expect(normalizeGtin('abc')).toBeUndefined();
  });
});
