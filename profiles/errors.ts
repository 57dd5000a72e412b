/** Why a profile-store call was refused; `code` is stable, the message says how to fix it. */
export type ProfileStoreErrorCode =
  | 'invalid_change'
  | 'invalid_identity'
  | 'invalid_cap'
  | 'unsupported_url'
  | 'unreachable'
  | 'schema_too_new'
  | 'schema_behind';

/**
 * A profile-store call that cannot succeed as written (bad change, no identity, bad URL, newer
 * schema) or a database that cannot be reached at open.
 */
export class ProfileStoreError extends Error {
  override readonly name = 'ProfileStoreError';

  constructor(
    readonly code: ProfileStoreErrorCode,
    message: string,
    readonly details: { customerId?: string; field?: string; url?: string; idempotencyKey?: string } = {},
  ) {
    super(message);
  }
}
