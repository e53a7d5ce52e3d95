import type { Address, Customer } from '@dovetail/shared';
import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';
import { erased, erasedAddress as erasedAddressFields, vaultOf } from '../db/personal-data.ts';

/**
 * An order's personal fields as stored (docs/operations.md, "Personal data"): customer and
 * addresses sealed under the customer's data key, `customer_email` the keyed hash orders are found by.
 */
export type SealedOrderFields = {
  customer_json: string;
  customer_email: string | null;
  shipping_json: string;
  billing_json: string | null;
};

export async function sealOrderFields(
  db: Kysely<Database>,
  customer: Customer,
  shipping: Address,
  billing: Address | undefined | null,
): Promise<SealedOrderFields> {
  if (customer.email === erased) {
    // An erased customer's order (an exchange's replacement) holds only "erased" and a country: nothing to seal.
    return {
      customer_json: JSON.stringify(customer),
      customer_email: null,
      shipping_json: JSON.stringify(shipping),
      billing_json: billing ? JSON.stringify(billing) : null,
    };
  }
  const vault = vaultOf(db);
  const seal = await vault.sealer(db, customer.email);
  return {
    customer_json: seal(customer),
    customer_email: vault.emailKey(customer.email),
    shipping_json: seal(shipping),
    billing_json: billing ? seal(billing) : null,
  };
}

/** The keyed hash `customer_email` holds for this e-mail. */
export function emailLookupKey(db: Kysely<Database>, email: string): string {
  return vaultOf(db).emailKey(email);
}

export const erasedCustomer: Customer = { email: erased, name: erased };
export const erasedAddress: Address = { ...erasedAddressFields };

/** The order's customer, or `erased` in every field once the customer was erased. */
export async function openCustomer(db: Kysely<Database>, stored: string): Promise<Customer> {
  return (await vaultOf(db).open<Customer>(db, stored)) ?? erasedCustomer;
}

/** An order's (shipping or billing) address, or `erased` in every field once the customer was erased. */
export async function openAddress(db: Kysely<Database>, stored: string): Promise<Address> {
  return (await vaultOf(db).open<Address>(db, stored)) ?? erasedAddress;
}
