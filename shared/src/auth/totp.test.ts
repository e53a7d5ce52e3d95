import { describe, expect, it } from 'vitest';
import { base32Decode, base32Encode, hotp, matchTotp, newTotpSecret, otpauthUri, totp, totpStep } from './totp.ts';

const ascii = (text: string) => new Uint8Array(Buffer.from(text, 'ascii'));

describe('HOTP (RFC 4226 appendix D)', () => {
  it('computes the published codes for counters 0 to 9', () => {
    const secret = ascii('12345678901234567890');
    const expected = [
      '755224',
      '287082',
      '359152',
      '969429',
      '338314',
      '254676',
      '287922',
      '162583',
      '399871',
      '520489',
    ];
    expect(expected.map((_, counter) => hotp(secret, counter))).toEqual(expected);
  });
});

describe('TOTP (RFC 6238 appendix B)', () => {
  const seconds = [59, 1111111109, 1111111111, 1234567890, 2000000000, 20000000000];
  const vectors = {
    sha1: {
      secret: ascii('12345678901234567890'),
      codes: ['94287082', '07081804', '14050471', '89005924', '69279037', '65353130'],
    },
    sha256: {
      secret: ascii('12345678901234567890123456789012'),
      codes: ['46119246', '68084774', '67062674', '91819424', '90698825', '77737706'],
    },
    sha512: {
      secret: ascii('1234567890123456789012345678901234567890123456789012345678901234'),
      codes: ['90693936', '25091201', '99943326', '93441116', '38618901', '47863826'],
    },
  } as const;

  for (const [algorithm, { secret, codes }] of Object.entries(vectors)) {
    it(`computes the published 8-digit ${algorithm} codes`, () => {
      expect(
        seconds.map((time) => totp(secret, time * 1000, { digits: 8, algorithm: algorithm as keyof typeof vectors })),
      ).toEqual(codes);
    });
  }

  it('defaults to SHA-1, 6 digits and 30-second steps (the last 6 digits of the SHA-1 vectors)', () => {
    const secret = vectors.sha1.secret;
    expect(seconds.map((time) => totp(secret, time * 1000))).toEqual(vectors.sha1.codes.map((code) => code.slice(2)));
    expect(totpStep(59_000)).toBe(1);
    expect(totpStep(60_000)).toBe(2);
  });
});

describe('matchTotp', () => {
  const secret = ascii('12345678901234567890');
  const now = 1_234_567_890_000;

  it('accepts the current step and one either side, naming the step, and nothing further', () => {
    const step = totpStep(now);
    expect(matchTotp(secret, totp(secret, now), now)).toBe(step);
    expect(matchTotp(secret, totp(secret, now - 30_000), now)).toBe(step - 1);
    expect(matchTotp(secret, totp(secret, now + 30_000), now)).toBe(step + 1);
    expect(matchTotp(secret, totp(secret, now - 60_000), now)).toBeNull();
    expect(matchTotp(secret, totp(secret, now + 60_000), now)).toBeNull();
  });

  it('refuses malformed codes without throwing', () => {
    for (const code of ['', '12345', '1234567', 'abcdef', ' 12345', '١٢٣٤٥٦'])
      expect(matchTotp(secret, code, now)).toBeNull();
  });
});

describe('base32 and the otpauth URI', () => {
  it('round-trips bytes and matches RFC 4648 test vectors (padding dropped)', () => {
    const cases: Array<[string, string]> = [
      ['', ''],
      ['f', 'MY'],
      ['fo', 'MZXQ'],
      ['foo', 'MZXW6'],
      ['foob', 'MZXW6YQ'],
      ['fooba', 'MZXW6YTB'],
      ['foobar', 'MZXW6YTBOI'],
    ];
    for (const [plain, encoded] of cases) {
      expect(base32Encode(ascii(plain))).toBe(encoded);
      expect(Buffer.from(base32Decode(encoded)).toString('ascii')).toBe(plain);
    }
    const secret = newTotpSecret();
    expect(secret).toHaveLength(20);
    expect(base32Decode(base32Encode(secret).toLowerCase())).toEqual(secret);
    expect(() => base32Decode('MZ1W')).toThrow(RangeError);
  });

  it('builds the key URI authenticator apps scan', () => {
    const uri = new URL(otpauthUri('Dovetail hub', 'ana@hub', ascii('12345678901234567890')));
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe('/Dovetail hub:ana@hub');
    expect(Object.fromEntries(uri.searchParams)).toEqual({
      secret: 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ',
      issuer: 'Dovetail hub',
      algorithm: 'SHA1',
      digits: '6',
      period: '30',
    });
  });
});
