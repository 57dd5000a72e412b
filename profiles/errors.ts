/** Why a profile-store call was refused; `code` is stable, the message says how to fix it. */
export type ProfileStoreErrorCode = 'invalid_change' | 'unsupported_url' | 'schema_too_new';

/** A profile-store call that can never succeed as written (bad change, bad URL, newer schema). */
export class ProfileStoreError extends Error {
  override readonly name = 'ProfileStoreError';

  constructor(
    readonly code: ProfileStoreErrorCode,
    message: string,
    readonly details: { customerId?: string; field?: string; url?: string } = {},
  ) {
    super(message);
  }
}
