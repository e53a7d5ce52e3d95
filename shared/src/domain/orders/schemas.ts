import { z } from 'zod';
import * as limits from '../../limits.ts';
import { configurationSchema } from '../catalog/configuration.ts';
import { noteSchema, quantitySchema, referenceSchema, skuSchema } from '../stock/schemas.ts';
import { staffSettableOrderStatuses } from './transitions.ts';

/**
 * Request bodies of the order API, strict: unknown fields are refused, so a typo or a field
 * a client is not allowed to set (`status`, `total`, `customer.email` on PATCH) is a 400, not ignored.
 */

/** ISO 3166-1 alpha-2, officially assigned codes only (249): `UK`, `EU` and `XK` are not among them. */
export const countryCodes = [
  'AD',
  'AE',
  'AF',
  'AG',
  'AI',
  'AL',
  'AM',
  'AO',
  'AQ',
  'AR',
  'AS',
  'AT',
  'AU',
  'AW',
  'AX',
  'AZ',
  'BA',
  'BB',
  'BD',
  'BE',
  'BF',
  'BG',
  'BH',
  'BI',
  'BJ',
  'BL',
  'BM',
  'BN',
  'BO',
  'BQ',
  'BR',
  'BS',
  'BT',
  'BV',
  'BW',
  'BY',
  'BZ',
  'CA',
  'CC',
  'CD',
  'CF',
  'CG',
  'CH',
  'CI',
  'CK',
  'CL',
  'CM',
  'CN',
  'CO',
  'CR',
  'CU',
  'CV',
  'CW',
  'CX',
  'CY',
  'CZ',
  'DE',
  'DJ',
  'DK',
  'DM',
  'DO',
  'DZ',
  'EC',
  'EE',
  'EG',
  'EH',
  'ER',
  'ES',
  'ET',
  'FI',
  'FJ',
  'FK',
  'FM',
  'FO',
  'FR',
  'GA',
  'GB',
  'GD',
  'GE',
  'GF',
  'GG',
  'GH',
  'GI',
  'GL',
  'GM',
  'GN',
  'GP',
  'GQ',
  'GR',
  'GS',
  'GT',
  'GU',
  'GW',
  'GY',
  'HK',
  'HM',
  'HN',
  'HR',
  'HT',
  'HU',
  'ID',
  'IE',
  'IL',
  'IM',
  'IN',
  'IO',
  'IQ',
  'IR',
  'IS',
  'IT',
  'JE',
  'JM',
  'JO',
  'JP',
  'KE',
  'KG',
  'KH',
  'KI',
  'KM',
  'KN',
  'KP',
  'KR',
  'KW',
  'KY',
  'KZ',
  'LA',
  'LB',
  'LC',
  'LI',
  'LK',
  'LR',
  'LS',
  'LT',
  'LU',
  'LV',
  'LY',
  'MA',
  'MC',
  'MD',
  'ME',
  'MF',
  'MG',
  'MH',
  'MK',
  'ML',
  'MM',
  'MN',
  'MO',
  'MP',
  'MQ',
  'MR',
  'MS',
  'MT',
  'MU',
  'MV',
  'MW',
  'MX',
  'MY',
  'MZ',
  'NA',
  'NC',
  'NE',
  'NF',
  'NG',
  'NI',
  'NL',
  'NO',
  'NP',
  'NR',
  'NU',
  'NZ',
  'OM',
  'PA',
  'PE',
  'PF',
  'PG',
  'PH',
  'PK',
  'PL',
  'PM',
  'PN',
  'PR',
  'PS',
  'PT',
  'PW',
  'PY',
  'QA',
  'RE',
  'RO',
  'RS',
  'RU',
  'RW',
  'SA',
  'SB',
  'SC',
  'SD',
  'SE',
  'SG',
  'SH',
  'SI',
  'SJ',
  'SK',
  'SL',
  'SM',
  'SN',
  'SO',
  'SR',
  'SS',
  'ST',
  'SV',
  'SX',
  'SY',
  'SZ',
  'TC',
  'TD',
  'TF',
  'TG',
  'TH',
  'TJ',
  'TK',
  'TL',
  'TM',
  'TN',
  'TO',
  'TR',
  'TT',
  'TV',
  'TW',
  'TZ',
  'UA',
  'UG',
  'UM',
  'US',
  'UY',
  'UZ',
  'VA',
  'VC',
  'VE',
  'VG',
  'VI',
  'VN',
  'VU',
  'WF',
  'WS',
  'YE',
  'YT',
  'ZA',
  'ZM',
  'ZW',
] as const;
const countryCodeSet: ReadonlySet<string> = new Set(countryCodes);
export const countryCodeSchema = z
  .string()
  .regex(/^[A-Z]{2}$/, 'country: ISO 3166-1 alpha-2 in capitals, e.g. "FR"')
  .refine((code) => countryCodeSet.has(code), 'country: not an assigned ISO 3166-1 alpha-2 code');

/** Where an order ships from or to, for allocation by distance (docs/architecture.md, "Orders"). Both or neither. */
export const geoPointSchema = z.strictObject({
  lat: z.number().min(-90).max(90),
  lon: z.number().min(-180).max(180),
});
export type GeoPoint = z.infer<typeof geoPointSchema>;

const text = (max: number) => z.string().trim().min(1).max(max);

/**
 * A postal address. `region` (state, province) is optional and not in the issue: US, Canadian and
 * Australian addresses need it. `location` is optional; without it allocation ignores distance.
 */
export const addressSchema = z.strictObject({
  line1: text(limits.addressLineLengthMax),
  line2: text(limits.addressLineLengthMax).optional(),
  city: text(limits.cityLengthMax),
  region: text(limits.regionLengthMax).optional(),
  postalCode: text(limits.postalCodeLengthMax),
  country: countryCodeSchema,
  location: geoPointSchema.optional(),
});
export type Address = z.infer<typeof addressSchema>;

export const emailSchema = z.email().max(limits.emailLengthMax);

/** An e-mail as orders are looked up by it (customer service types it as it comes): trimmed, lower case. */
export function lookupEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** As people write them (`+33 1 42 68 53 00`, `(555) 010-0199`): 6 to 15 digits, E.164's maximum. */
export const phoneSchema = z
  .string()
  .trim()
  .max(limits.phoneLengthMax)
  .regex(/^\+?[0-9(][0-9 ().-]*$/, 'phone: digits, spaces, ( ) . - and an optional leading +')
  .refine((phone) => {
    const digits = phone.replace(/[^0-9]/g, '').length;
    return digits >= limits.phoneDigitsMin && digits <= limits.phoneDigitsMax;
  }, `phone: ${limits.phoneDigitsMin} to ${limits.phoneDigitsMax} digits`);

export const customerSchema = z.strictObject({
  email: emailSchema,
  name: text(limits.customerNameLengthMax),
  phone: phoneSchema.optional(),
});
export type Customer = z.infer<typeof customerSchema>;

/** A line; `configuration` chooses the product's configurable options (fabric, width…). */
export const orderLineSchema = z.strictObject({
  sku: skuSchema,
  quantity: quantitySchema,
  configuration: configurationSchema.optional(),
});
export type OrderLine = z.infer<typeof orderLineSchema>;

export const orderLinesSchema = z
  .array(orderLineSchema)
  .min(1)
  .max(limits.orderLinesMax)
  .refine((lines) => new Set(lines.map((line) => line.sku)).size === lines.length, 'each SKU appears on one line');

export const holdIdSchema = z.uuid();
export const orderIdSchema = z.uuid();

/**
 * `POST /api/v1/orders`: from a checkout hold (`holdId`) or from lines the hub holds itself, exactly
 * one of the two. One object with a refinement rather than a union, so the error names the field.
 */
export const orderCreateSchema = z
  .strictObject({
    holdId: holdIdSchema.optional(),
    lines: orderLinesSchema.optional(),
    customer: customerSchema,
    shippingAddress: addressSchema,
    billingAddress: addressSchema.optional(),
    note: noteSchema.optional(),
  })
  .superRefine((body, context) => {
    if ((body.holdId === undefined) === (body.lines === undefined)) {
      context.addIssue({
        code: 'custom',
        path: body.holdId === undefined ? ['lines'] : ['holdId'],
        message: 'give either holdId or lines, not both',
      });
    }
  });
export type OrderCreate = z.infer<typeof orderCreateSchema>;

/**
 * `PATCH /api/v1/orders/{id}`: the whitelist. The customer's e-mail is not on it (it receives the
 * notifications and identifies the customer's own orders); lines are not (they are held and
 * allocated stock). Which fields a given status still allows is `orderPatchRefusal`'s decision.
 */
export const orderPatchSchema = z
  .strictObject({
    shippingAddress: addressSchema.optional(),
    billingAddress: addressSchema.optional(),
    customer: z
      .strictObject({ name: text(limits.customerNameLengthMax).optional(), phone: phoneSchema.optional() })
      .refine((customer) => customer.name !== undefined || customer.phone !== undefined, 'customer: name or phone')
      .optional(),
    note: noteSchema.optional(),
  })
  .refine((patch) => Object.values(patch).some((value) => value !== undefined), 'nothing to change');
export type OrderPatch = z.infer<typeof orderPatchSchema>;

export const orderStatusReasonSchema = text(limits.orderStatusReasonLengthMax);

/** `PUT /api/v1/orders/{id}/status`: staff set only the statuses the hub owns (see transitions.ts). */
export const orderStatusUpdateSchema = z.strictObject({
  status: z.enum(staffSettableOrderStatuses),
  reason: orderStatusReasonSchema.optional(),
});
export type OrderStatusUpdate = z.infer<typeof orderStatusUpdateSchema>;

/** `POST /api/v1/orders/{id}/payment`: the payment provider's reference. */
export const orderPaymentSchema = z.strictObject({ reference: referenceSchema });
export type OrderPayment = z.infer<typeof orderPaymentSchema>;

/** `POST /api/v1/orders/{id}/cancel`. */
export const orderCancelSchema = z.strictObject({ reason: orderStatusReasonSchema.optional() });
export type OrderCancel = z.infer<typeof orderCancelSchema>;
