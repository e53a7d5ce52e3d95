import { z } from 'zod';
import { badRequest } from '../../errors.ts';
import * as limits from '../../limits.ts';
import { minorUnitsSchema } from './schemas.ts';

/**
 * Made-to-measure furniture (docs/catalog.md): a product declares what a buyer may configure — a
 * choice from a list (fabric, leg finish), each choice with a price delta and an optional lead time,
 * or a number in a range with a step (width 160–280 cm by 10) priced per step above the minimum. An
 * order or hold line carries `configuration: {option: value}`; the rules below check it against the
 * product and price it, the same on every caller. Money is integer minor units.
 */

const optionNameSchema = z
  .string()
  .min(1)
  .max(32)
  .regex(/^[a-z][a-zA-Z0-9_]*$/, 'option name: a lower-case letter, then letters, digits, _');

const choiceValueSchema = z.string().trim().min(1).max(64);

/** A price delta may lower the price (a cheaper fabric) but never by more than the base allows. */
const priceDeltaSchema = z.int().min(-100_000_000_00).max(100_000_000_00);

export const choiceOptionSchema = z.strictObject({
  name: optionNameSchema,
  type: z.literal('choice'),
  choices: z
    .array(
      z.strictObject({
        value: choiceValueSchema,
        priceDelta: priceDeltaSchema,
        leadTimeDays: z.int().min(0).max(limits.configurationLeadTimeDaysMax).optional(),
      }),
    )
    .min(1)
    .max(limits.productConfigurableChoicesMax)
    .refine(
      (choices) => new Set(choices.map((choice) => choice.value)).size === choices.length,
      'choice values must not repeat',
    ),
});

const rangeNumber = z.int().min(0).max(1_000_000);

export const rangeOptionSchema = z
  .strictObject({
    name: optionNameSchema,
    type: z.literal('range'),
    min: rangeNumber,
    max: rangeNumber,
    step: z.int().min(1).max(1_000_000),
    pricePerStep: minorUnitsSchema,
    default: rangeNumber.optional(),
  })
  .superRefine((option, context) => {
    if (option.max < option.min) context.addIssue({ code: 'custom', path: ['max'], message: 'max is below min' });
    else if ((option.max - option.min) % option.step !== 0)
      context.addIssue({ code: 'custom', path: ['step'], message: 'max - min must be a whole number of steps' });
    if (option.default !== undefined && !inRange(option, option.default))
      context.addIssue({ code: 'custom', path: ['default'], message: 'default must be a step of the range' });
  });

export const configurableOptionSchema = z.discriminatedUnion('type', [choiceOptionSchema, rangeOptionSchema]);
export type ConfigurableOption = z.infer<typeof configurableOptionSchema>;
export type RangeOption = z.infer<typeof rangeOptionSchema>;

export const configurableOptionsSchema = z
  .array(configurableOptionSchema)
  .max(limits.productConfigurableOptionsMax)
  .refine(
    (options) => new Set(options.map((option) => option.name)).size === options.length,
    'option names must not repeat',
  );

/** What a line asks for: option name → chosen value (a choice's value, or a number in the range). */
export const configurationSchema = z
  .record(optionNameSchema, z.union([choiceValueSchema, z.int().min(0).max(1_000_000)]))
  .refine((configuration) => Object.keys(configuration).length <= limits.productConfigurableOptionsMax, {
    message: `at most ${limits.productConfigurableOptionsMax} options`,
  });
export type Configuration = z.infer<typeof configurationSchema>;

/** One priced component of a configured unit. */
export type PriceComponent = { option: string; value: string | number; amount: number };

/** How a configured unit's price was built: base + variant + each option, in minor units. */
export const priceBreakdownSchema = z.strictObject({
  base: z.int(),
  variant: z.int(),
  options: z.array(z.strictObject({ option: z.string(), value: z.union([z.string(), z.number()]), amount: z.int() })),
  unitPrice: z.int().min(0),
  leadTimeDays: z.int().min(0).optional(),
});
export type PriceBreakdown = z.infer<typeof priceBreakdownSchema>;

function inRange(option: Pick<RangeOption, 'min' | 'max' | 'step'>, value: number): boolean {
  return (
    Number.isInteger(value) && value >= option.min && value <= option.max && (value - option.min) % option.step === 0
  );
}

function refuse(option: string, message: string) {
  return badRequest('invalid_configuration', `${option}: ${message}`, {
    issues: [{ path: `configuration.${option}`, message, code: 'invalid_configuration' }],
  });
}

/**
 * Checks a line's configuration against the product's options and completes it: a range option
 * left out takes its default (or is refused when it has none); a choice option left out is refused.
 * An unknown option, an unknown choice or a number off the range's steps is a `DomainError` naming
 * the option. A product without options accepts only an empty or absent configuration.
 */
export function resolveConfiguration(
  options: readonly ConfigurableOption[] | undefined,
  configuration: Configuration | undefined,
): Configuration | undefined {
  const declared = options ?? [];
  const given = configuration ?? {};
  for (const name of Object.keys(given)) {
    if (!declared.some((option) => option.name === name)) {
      throw refuse(name, declared.length === 0 ? 'this product is not configurable' : 'not an option of this product');
    }
  }
  if (declared.length === 0) return undefined;
  const resolved: Configuration = {};
  for (const option of declared) {
    const value = given[option.name];
    if (option.type === 'choice') {
      if (value === undefined)
        throw refuse(option.name, `choose one of ${option.choices.map((c) => c.value).join(', ')}`);
      if (typeof value !== 'string' || !option.choices.some((choice) => choice.value === value))
        throw refuse(
          option.name,
          `${JSON.stringify(value)} is not one of ${option.choices.map((c) => c.value).join(', ')}`,
        );
      resolved[option.name] = value;
    } else {
      const chosen = value ?? option.default;
      if (chosen === undefined) throw refuse(option.name, `give a number from ${option.min} to ${option.max}`);
      if (typeof chosen !== 'number' || !inRange(option, chosen))
        throw refuse(option.name, `must be a number from ${option.min} to ${option.max} in steps of ${option.step}`);
      resolved[option.name] = chosen;
    }
  }
  return resolved;
}

/**
 * The unit price of a configured line: the product's base price, the variant's own price as a delta
 * on it, each chosen choice's delta, and for each range the steps above its minimum × pricePerStep.
 * The configuration must already be resolved (see {@link resolveConfiguration}). Lead time is the
 * longest of the chosen choices'.
 */
export function priceConfiguredUnit(
  product: { basePrice: number; configurableOptions?: readonly ConfigurableOption[] | undefined },
  variant: { price?: number | undefined },
  configuration: Configuration | undefined,
): PriceBreakdown {
  const base = product.basePrice;
  const variantDelta = variant.price === undefined ? 0 : variant.price - base;
  const components: PriceComponent[] = [];
  let leadTimeDays: number | undefined;
  for (const option of product.configurableOptions ?? []) {
    const value = configuration?.[option.name];
    if (value === undefined) continue;
    if (option.type === 'choice') {
      const choice = option.choices.find((candidate) => candidate.value === value);
      if (!choice) continue;
      components.push({ option: option.name, value, amount: choice.priceDelta });
      if (choice.leadTimeDays !== undefined) leadTimeDays = Math.max(leadTimeDays ?? 0, choice.leadTimeDays);
    } else if (typeof value === 'number') {
      components.push({
        option: option.name,
        value,
        amount: ((value - option.min) / option.step) * option.pricePerStep,
      });
    }
  }
  const unitPrice = base + variantDelta + components.reduce((sum, component) => sum + component.amount, 0);
  if (unitPrice < 0) throw badRequest('invalid_configuration', 'the configured price would be below zero');
  return {
    base,
    variant: variantDelta,
    options: components,
    unitPrice,
    ...(leadTimeDays !== undefined ? { leadTimeDays } : {}),
  };
}
