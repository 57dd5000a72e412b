/** Message channels beyond email, and the HTTP delivery they share with `do: http_post`. */
export {
  IDEMPOTENCY_HEADER,
  MAX_RETRY_AFTER_MS,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  postJson,
  postRequest,
  signBody,
  signedString,
  verifySignature,
  type Destinations,
  type JsonPost,
} from './http';
export {
  SMS_TIMEOUT_MS,
  createSmsProvider,
  logSmsProvider,
  normalizePhoneNumber,
  twilioSmsProvider,
  type LogSmsOptions,
  type SmsConfig,
  type TwilioOptions,
} from './sms';
export { WEBHOOK_TIMEOUT_MS, webhookSender, type WebhookOptions } from './webhook';
export { DestinationDenied, deniedRange, parseAllowList, type AllowEntry, type AllowList, type Resolver } from './destination';
