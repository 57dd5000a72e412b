/** Message categories: what consent, caps and quiet hours are decided by. */

/** The category consent, caps and quiet hours never block (receipts, password resets). */
export const TRANSACTIONAL = 'transactional';

/** The category of a template that names none. */
export const MARKETING = 'marketing';

/** True for messages the customer needs whatever they opted out of. */
export function isTransactional(category: string | undefined): boolean {
  return category === TRANSACTIONAL;
}
