/**
 * The keyed hash a forgotten customer's addresses are kept under (table forgotten_addresses): an
 * HMAC-SHA256 of the canonical address, so the list can answer "was this address forgotten?" for
 * an address in hand, yet reveals no address to whoever reads the table or a backup of it.
 */
import { createHmac } from 'node:crypto';
import { normaliseAddress } from '../profiles/rules';

/**
 * Derives the hashing key from the server's link-signing secret (UNBROKEN_UNSUBSCRIBE_SECRET or
 * the data folder's), so every process that sends already has it and nothing new must be shared;
 * the label keeps it distinct from the key that signs links.
 */
export function forgottenAddressKey(secret: string): Buffer {
  return createHmac('sha256', secret).update('unbroken forgotten-address key v1').digest();
}

/** Builds `(channel, address) => hex hash` of the canonical address (profiles/rules.ts normaliseAddress). */
export function addressHasher(secret: string): (channel: string, address: string) => string {
  const key = forgottenAddressKey(secret);
  return (channel, address) => {
    // Text that is no address still gets one stable form (normaliseAddress never throws), so its
    // erasure is still remembered.
    const canonical = normaliseAddress(channel, address);
    return createHmac('sha256', key).update(`${channel}\n${canonical}`, 'utf8').digest('hex');
  };
}
