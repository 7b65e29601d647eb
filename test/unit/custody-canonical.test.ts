import { describe, expect, it } from 'vitest';
import { canonicalJson, jsonSha256, sha256Hex } from '../../src/custody/index.js';

/** An IEEE 754 double from its 16-hex-digit bit pattern, as RFC 8785 Appendix B lists them. */
function double(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

describe('canonicalJson (RFC 8785)', () => {
  it('produces the RFC 8785 section 3.2.2 example output', () => {
    // The input is the RFC's, written as JSON text so that number literals are parsed as the RFC means.
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",' +
        ' "literals": [null, true, false]}',
    ) as unknown;
    expect(canonicalJson(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('sorts keys by UTF-16 code units, as in RFC 8785 section 3.2.3', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    expect(canonicalJson(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it.each([
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['41b3de4355555553', '333333333.3333332'],
    ['c3e0000000000001', '-9223372036854778000'],
  ])('formats the double %s as %s (RFC 8785 appendix B)', (hex, expected) => {
    expect(canonicalJson(double(hex))).toBe(expected);
    expect(canonicalJson([double(hex)])).toBe(`[${expected}]`);
  });

  it('writes 1e30 as 1e+30 and -0 as 0', () => {
    expect(canonicalJson({ big: 1e30, negZero: -0 })).toBe('{"big":1e+30,"negZero":0}');
  });

  it('escapes control characters in lowercase \\u form and leaves other unicode as is', () => {
    expect(canonicalJson('\u001f\u00e9\u2028\ud83d\ude00')).toBe('"\\u001fé\u2028😀"');
    expect(canonicalJson('tab\there')).toBe('"tab\\there"');
  });

  it('omits members whose value is undefined, as JSON.stringify does', () => {
    expect(canonicalJson({ b: 1, a: undefined })).toBe('{"b":1}');
  });

  it.each([
    ['undefined at the top level', undefined],
    ['NaN', { n: Number.NaN }],
    ['Infinity', [Number.POSITIVE_INFINITY]],
    ['a lone surrogate', { s: '\ud800' }],
    ['a bigint', { n: 10n }],
  ])('refuses %s', (_what, value) => {
    expect(() => canonicalJson(value)).toThrow(/cannot be canonicalized/);
  });

  it('refuses a circular structure', () => {
    const a: Record<string, unknown> = {};
    a['self'] = a;
    expect(() => canonicalJson(a)).toThrow(/cannot be canonicalized/);
  });
});

describe('sha256Hex and jsonSha256', () => {
  it('hashes the UTF-8 bytes (FIPS 180-2 "abc" vector)', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex(new TextEncoder().encode('abc'))).toBe(sha256Hex('abc'));
  });

  it('gives the same digest for the same value written in another key order or spacing', () => {
    const a = JSON.parse('{"b": [1, 2.0], "a": {"y": null, "x": "€"}}') as unknown;
    const b = JSON.parse('{"a":{"x":"\\u20ac","y":null},"b":[1,2]}') as unknown;
    expect(jsonSha256(a)).toBe(jsonSha256(b));
    expect(jsonSha256(a)).not.toBe(jsonSha256({ ...(b as object), c: 1 }));
  });
});
