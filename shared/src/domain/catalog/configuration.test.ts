import { describe, expect, it } from 'vitest';
import { DomainError } from '../../errors.ts';
import {
  type ConfigurableOption,
  configurableOptionsSchema,
  priceConfiguredUnit,
  resolveConfiguration,
} from './configuration.ts';

const sofa: ConfigurableOption[] = [
  {
    name: 'fabric',
    type: 'choice',
    choices: [
      { value: 'linen', priceDelta: 0 },
      { value: 'boucle', priceDelta: 15000, leadTimeDays: 21 },
    ],
  },
  { name: 'widthCm', type: 'range', min: 160, max: 280, step: 10, pricePerStep: 2500, default: 200 },
];

function refusal(run: () => unknown): DomainError {
  try {
    run();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('configurable options', () => {
  it('accept choices and a range whose bounds are whole steps apart', () => {
    expect(configurableOptionsSchema.safeParse(sofa).success).toBe(true);
  });

  it('refuse a range off its steps, a default outside it, and repeated names or values', () => {
    const range = sofa[1] as ConfigurableOption;
    expect(configurableOptionsSchema.safeParse([{ ...range, max: 275 }]).success).toBe(false);
    expect(configurableOptionsSchema.safeParse([{ ...range, default: 205 }]).success).toBe(false);
    expect(configurableOptionsSchema.safeParse([{ ...range, min: 300 }]).success).toBe(false);
    expect(configurableOptionsSchema.safeParse([range, range]).success).toBe(false);
    const fabric = sofa[0] as Extract<ConfigurableOption, { type: 'choice' }>;
    const twice = { ...fabric, choices: [fabric.choices[0], fabric.choices[0]] };
    expect(configurableOptionsSchema.safeParse([twice]).success).toBe(false);
  });
});

describe('resolveConfiguration', () => {
  it('keeps a valid configuration and fills a range left out with its default', () => {
    expect(resolveConfiguration(sofa, { fabric: 'boucle', widthCm: 240 })).toEqual({ fabric: 'boucle', widthCm: 240 });
    expect(resolveConfiguration(sofa, { fabric: 'linen' })).toEqual({ fabric: 'linen', widthCm: 200 });
  });

  it('refuses an unknown choice, an unknown option, a missing choice and a width off the steps, naming the option', () => {
    const cases: Array<[Record<string, string | number>, string]> = [
      [{ fabric: 'velvet', widthCm: 220 }, 'fabric'],
      [{ fabric: 'linen', legs: 'oak' }, 'legs'],
      [{ widthCm: 220 }, 'fabric'],
      [{ fabric: 'linen', widthCm: 245 }, 'widthCm'],
      [{ fabric: 'linen', widthCm: 300 }, 'widthCm'],
      [{ fabric: 'linen', widthCm: '240' }, 'widthCm'],
      [{ fabric: 15, widthCm: 240 }, 'fabric'],
    ];
    for (const [configuration, option] of cases) {
      const error = refusal(() => resolveConfiguration(sofa, configuration));
      expect(error.kind).toBe('invalid_input');
      expect(error.code).toBe('invalid_configuration');
      expect(error.message.startsWith(`${option}:`)).toBe(true);
      expect(error.details).toEqual({ issues: [expect.objectContaining({ path: `configuration.${option}` })] });
    }
  });

  it('refuses any configuration of a product that has no options, and accepts none', () => {
    expect(resolveConfiguration(undefined, undefined)).toBeUndefined();
    expect(resolveConfiguration([], {})).toBeUndefined();
    expect(refusal(() => resolveConfiguration(undefined, { fabric: 'linen' })).message).toContain('not configurable');
  });
});

describe('priceConfiguredUnit', () => {
  it('adds the choice delta and the steps above the range minimum to base and variant', () => {
    const product = { basePrice: 129900, configurableOptions: sofa };
    expect(priceConfiguredUnit(product, {}, { fabric: 'boucle', widthCm: 240 })).toEqual({
      base: 129900,
      variant: 0,
      options: [
        { option: 'fabric', value: 'boucle', amount: 15000 },
        { option: 'widthCm', value: 240, amount: 20000 },
      ],
      unitPrice: 164900,
      leadTimeDays: 21,
    });
    const variantPriced = priceConfiguredUnit(product, { price: 139900 }, { fabric: 'linen', widthCm: 160 });
    expect(variantPriced).toMatchObject({ variant: 10000, unitPrice: 139900 });
    expect(variantPriced).not.toHaveProperty('leadTimeDays');
  });

  it('prices a product without options at its variant price', () => {
    expect(priceConfiguredUnit({ basePrice: 5000 }, { price: 4500 }, undefined)).toEqual({
      base: 5000,
      variant: -500,
      options: [],
      unitPrice: 4500,
    });
  });

  it('refuses a configuration whose deltas take the price below zero', () => {
    const cheap: ConfigurableOption[] = [
      { name: 'finish', type: 'choice', choices: [{ value: 'raw', priceDelta: -600 }] },
    ];
    expect(
      refusal(() => priceConfiguredUnit({ basePrice: 500, configurableOptions: cheap }, {}, { finish: 'raw' })).code,
    ).toBe('invalid_configuration');
  });
});
