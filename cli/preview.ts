/**
 * `unbroken preview`: renders one template for one profile through the send activity's own stages
 * (activities/send/: the attempt, the channel check with its address and consent rules, the
 * unsubscribe links, the rendering), so what it shows is what a send would deliver. Nothing is
 * sent and nothing is stored: the stages run against an in-memory store, and every link is
 * signed with a throw-away key.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { TemplateRenderError } from '../activities/render';
import { deliveryStoreOf, openAttempt, type ChannelAttempt } from '../activities/send/attempt';
import { admit } from '../activities/send/channel';
import { renderFor, type Outgoing } from '../activities/send/outgoing';
import type { ActivityDeps, DeliveryPolicy, SendMessageInput } from '../activities/types';
import type { TemplatePlan, TrackEvent } from '../compiler/plan';
import { smsSegments } from '../compiler/sms';
import { sendTemplates } from '../workflows/pure/channels';
import { parseYaml } from '../compiler/source';
import { shortUnsubscribeLinks, type ShortUnsubscribeLinks } from '../delivery/short-links';
import { DEFAULT_SURVEY_LINK_TTL_MS, surveyLinkBuilder } from '../delivery/survey-tokens';
import { unsubscribePolicyUrl } from '../delivery/tokens';
import { SqliteProfileStore } from '../profiles/sqlite';
import type { ConsentChange, Profile } from '../profiles/store';

/** The id every preview runs under: journey, step, workflow and idempotency key. */
export const PREVIEW_ID = 'preview';
/** The short unsubscribe code of a preview: a valid code's shape, spelled so that it reads as a sample. */
export const SAMPLE_SHORT_CODE = 'sample0000';
/** Put before the signed unsubscribe token: the link reads as a sample and no server accepts it. */
export const SAMPLE_TOKEN_PREFIX = 'sample-';

/** The parts of the template context a preview may set besides the profile (`--data`). */
const contextSchema = z.strictObject({
  trigger: z
    .strictObject({
      event: z.string().min(1).optional(),
      properties: z.record(z.string(), z.unknown()).optional(),
      timestamp: z.string().optional(),
    })
    .optional(),
  data: z.record(z.string(), z.unknown()).optional(),
  received: z.strictObject({ event: z.string().min(1).optional(), properties: z.record(z.string(), z.unknown()).optional() }).optional(),
});

/** What `--data` sets: the trigger event, the send step's `data`, the event a `wait_for` received. */
export type PreviewContext = z.infer<typeof contextSchema>;

/** Input that cannot be used (exit code 2), naming the field. */
export class PreviewInputError extends Error {}

/** A template that does not render, or a send that would be skipped for this profile (exit code 1). */
export class PreviewFailure extends Error {
  constructor(
    message: string,
    /** `templates/x.yaml:7`, when the problem is in the template file. */
    readonly where?: string,
  ) {
    super(message);
  }
}

/** Parses `--data`: a JSON object with `trigger`, `data` and `received`, each optional. */
export function parsePreviewContext(text: string): PreviewContext {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new PreviewInputError(`--data is not valid JSON (${(err as Error).message})`);
  }
  const parsed = contextSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
  const field = ['--data', ...issue.path.map(String), ...keys.slice(0, 1)].join('.');
  throw new PreviewInputError(
    `${field}: ${issue.code === 'unrecognized_keys' ? 'unknown key' : issue.message} (--data is e.g. {"trigger":{"properties":{"total":80}},"data":{"code":"VIP"}})`,
  );
}

/** What a preview produced: the rendered message and, for SMS, how the SMS channel counts it. */
export type PreviewResult =
  | { channel: 'email'; template: string; category: string; from: string; to: string; subject: string; headers: Record<string, string>; text?: string; html?: string }
  | { channel: 'sms'; template: string; category: string; to: string; from?: string; body: string; characters: number; encoding: 'GSM-7' | 'UCS-2'; segments: number }
  | { channel: 'webhook'; template: string; category: string; url: string; body: unknown };

export interface PreviewOptions {
  template: TemplatePlan;
  /** Another channel's section of the template (`sms:`, …) to render instead of its top level, as a send with `channels:` would. */
  channel?: TemplatePlan['channel'];
  /** The definitions folder the template came from: errors name its file. Absent (a deployed plan): errors name no line. */
  definitionsDir?: string;
  profile: Profile;
  /** What the store holds about a real customer's consent and addresses, so the preview skips as a send to them would. */
  stored?: StoredConsent;
  context?: PreviewContext;
  publicUrl: string;
  mailFrom: string;
  unsubscribeTtlMs: number;
  consentModes?: DeliveryPolicy['consentModes'];
  /** The journey clock: `{{ now }}` and the links' lifetimes. */
  now?: Date;
}

/** A stored customer's consent statements (oldest first) and the suppressions of their addresses. */
export interface StoredConsent {
  consentChanges: readonly Pick<ConsentChange, 'channel' | 'category' | 'status' | 'source' | 'happenedAt'>[];
  suppressions: readonly { channel: string; address: string; reason: string; at: string }[];
}

/**
 * Renders `template` for `profile` as `sendMessage` would, through its stages, and answers the
 * message; throws PreviewFailure when the template does not render (with the file and line) or
 * when a send to this profile would be skipped (no address, unsubscribed, …).
 */
export async function preview(opts: PreviewOptions): Promise<PreviewResult> {
  const now = opts.now ?? new Date();
  const template = opts.channel === undefined ? opts.template : channelVersion(opts.template, opts.channel);
  const store = new SqliteProfileStore(':memory:');
  try {
    const { id, ...traits } = opts.profile;
    await store.identify(id, traits);
    await replay(store, id, opts.stored);
    const deps = previewDeps(store, opts, now);
    const input = previewInput(opts, now);
    const attempt = await openAttempt(deps, deliveryStoreOf(store), input);
    const onChannel: ChannelAttempt = { ...attempt, template, passedOver: [] };
    try {
      const verdict = await admit(onChannel, template);
      if (!('passed' in verdict)) throw new PreviewFailure(skipMessage(template, verdict.reason, verdict.error));
      return describe(template, await renderFor(onChannel, verdict.passed));
    } catch (err) {
      if (err instanceof TemplateRenderError) throw new PreviewFailure(err.message, locate(opts, err));
      throw err;
    }
  } finally {
    await store.close();
  }
}

/** Puts a stored customer's consent and suppressions into the preview's own store, in the order they happened. */
async function replay(store: SqliteProfileStore, id: string, stored: StoredConsent | undefined): Promise<void> {
  for (const c of stored?.consentChanges ?? []) await store.setSubscription(id, c.channel, c.category, c.status, c.source, c.happenedAt);
  for (const s of stored?.suppressions ?? []) await store.suppress(s.channel, s.address, s.reason, s.at);
}

/**
 * The preview's stand-ins, all in this one place: an in-memory store, providers that are never
 * called, links signed with a throw-away key and marked as samples.
 */
function previewDeps(store: SqliteProfileStore, opts: PreviewOptions, now: Date): ActivityDeps {
  const throwAway = randomBytes(32).toString('hex');
  const clock = () => now;
  const signed = unsubscribePolicyUrl(opts.publicUrl, throwAway, opts.unsubscribeTtlMs, clock);
  const short = shortUnsubscribeLinks(opts.publicUrl, opts.unsubscribeTtlMs, clock);
  const sampleShort: ShortUnsubscribeLinks = { url: () => short.url(SAMPLE_SHORT_CODE), lifetime: () => short.lifetime() };
  const never = (): never => {
    throw new Error('a preview sends nothing');
  };
  return {
    store,
    mailer: { send: never },
    mailFrom: opts.mailFrom,
    sms: { name: 'preview', send: never },
    webhook: { send: never },
    delivery: {
      caps: [],
      consentModes: opts.consentModes,
      unsubscribeUrl: (customer, channel, category) =>
        signed(customer, channel, category).replace(/\/unsubscribe\/([^/]*)$/, `/unsubscribe/${SAMPLE_TOKEN_PREFIX}$1`),
      shortUnsubscribe: sampleShort,
      surveyLink: surveyLinkBuilder(opts.publicUrl, throwAway, DEFAULT_SURVEY_LINK_TTL_MS, clock),
    },
  };
}

function previewInput(opts: PreviewOptions, now: Date): SendMessageInput {
  const at = now.toISOString();
  const ctx = opts.context ?? {};
  const trigger: TrackEvent = { event: ctx.trigger?.event ?? PREVIEW_ID, properties: ctx.trigger?.properties ?? {}, timestamp: ctx.trigger?.timestamp ?? at };
  const received: TrackEvent | undefined = ctx.received && { event: ctx.received.event ?? PREVIEW_ID, properties: ctx.received.properties ?? {}, timestamp: at };
  return {
    idempotencyKey: PREVIEW_ID,
    context: { workflowId: PREVIEW_ID, journeyId: PREVIEW_ID, version: PREVIEW_ID, customerId: opts.profile.id, enteredAt: at, trigger },
    stepId: PREVIEW_ID,
    template: opts.channel === undefined ? opts.template : channelVersion(opts.template, opts.channel),
    data: ctx.data ?? {},
    now: at,
    ...(received ? { received } : {}),
  };
}

/** Whether `value` names a channel. */
export function isChannel(value: string): value is TemplatePlan['channel'] {
  return value === 'email' || value === 'sms' || value === 'webhook';
}

/** The channels a template has content for: its own, then its sections. */
export function templateChannels(template: TemplatePlan): TemplatePlan['channel'][] {
  return [template.channel, ...(Object.keys(template.alternatives ?? {}) as TemplatePlan['channel'][])];
}

/** The template as a send with `channels: [channel]` uses it (workflows/pure/channels.ts). */
function channelVersion(template: TemplatePlan, channel: TemplatePlan['channel']): TemplatePlan {
  if (!templateChannels(template).includes(channel)) {
    throw new PreviewInputError(`--channel ${channel}: template ${template.id} has content for ${templateChannels(template).join(', ')} only`);
  }
  return sendTemplates(template, [channel], template.category)[0];
}

const SKIP_EXPLAINED: Readonly<Record<string, string>> = {
  no_address: 'the profile has no address for this channel (email, or phone for sms)',
  invalid_address: 'the address in the profile is not valid',
  suppressed: 'the address is suppressed',
  forgotten: 'the address belongs to a forgotten customer',
};

function skipMessage(template: TemplatePlan, reason: string, error?: string): string {
  const consent = `the customer has not consented to ${template.channel} ${template.category} messages (opted out, or the channel is opt-in); add "subscriptions": {"${template.channel}": {"${template.category}": true}} to the profile`;
  const why = error ?? (reason === 'unsubscribed' ? consent : (SKIP_EXPLAINED[reason] ?? reason));
  return `a send of ${template.id} to this profile would be skipped (${reason}): ${why}; change the profile to see the message`;
}

function describe(template: TemplatePlan, out: Outgoing): PreviewResult {
  const base = { template: template.id, category: template.category };
  switch (out.channel) {
    case 'email': {
      const { from, to, subject, headers = {}, text, html } = out.mail;
      return { channel: 'email', ...base, from, to, subject, headers: { 'Message-ID': out.mail.messageId, ...headers }, ...(text !== undefined ? { text } : {}), ...(html !== undefined ? { html } : {}) };
    }
    case 'sms': {
      const counted = smsSegments(out.body);
      return { channel: 'sms', ...base, to: out.to, ...(out.from ? { from: out.from } : {}), body: out.body, characters: [...out.body].length, encoding: counted.encoding, segments: counted.segments };
    }
    case 'webhook':
      // renderWebhook has checked that the body parses.
      return { channel: 'webhook', ...base, url: out.url, body: JSON.parse(out.body) as unknown };
  }
}

/**
 * `file:line` of a render error: the line of the template file that names the missing variable,
 * else the line where the part starts. A variable from `--data` has no line in the template.
 */
function locate(opts: PreviewOptions, err: TemplateRenderError): string | undefined {
  if (opts.definitionsDir === undefined) return undefined;
  const file = path.join(opts.definitionsDir, opts.template.file);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const part = err.part.split(/[.[]/, 1)[0];
  const source = parseYaml(text).file;
  const section = opts.channel !== undefined && opts.channel !== opts.template.channel ? opts.channel : undefined;
  const holder = (section === undefined ? source?.value : (source?.value as Record<string, unknown> | undefined)?.[section]) as Record<string, unknown> | undefined;
  if (!source || typeof holder !== 'object' || holder === null || !(part in holder)) return file;
  // From the part's key: its text follows, on the key's line or indented below it.
  const start = source.locate(section === undefined ? [part] : [section, part], true).line;
  const lines = text.split(/\r?\n/);
  if (err.variable !== undefined) {
    const indent = /^\s*/.exec(lines[start - 1] ?? '')?.[0].length ?? 0;
    for (let i = start - 1; i < lines.length; i++) {
      // The part ends where the next key of its map (or one further out) begins.
      const key = /^(\s*)[A-Za-z_][\w-]*:/.exec(lines[i]);
      if (i > start - 1 && key && key[1].length <= indent) break;
      if (lines[i].includes(err.variable)) return `${file}:${i + 1}`;
    }
  }
  return `${file}:${start}`;
}

/** The preview as people read it: the header lines, then the text (email), body (sms, webhook). */
export function formatPreview(p: PreviewResult, htmlNote?: string): string {
  const title = `${p.template} (${p.channel}, ${p.category})`;
  switch (p.channel) {
    case 'email': {
      const lines = [`template: ${title}`, `From: ${p.from}`, `To: ${p.to}`, `Subject: ${p.subject}`];
      for (const [name, value] of Object.entries(p.headers)) lines.push(`${name}: ${value}`);
      lines.push('', p.text?.trimEnd() ?? '(no text part)', '');
      lines.push(htmlNote ?? (p.html === undefined ? '(no HTML part)' : `HTML part: ${Buffer.byteLength(p.html)} bytes (write it with --out FILE)`));
      return lines.join('\n');
    }
    case 'sms':
      return [
        `template: ${title}`,
        `To: ${p.to}${p.from ? `\nFrom: ${p.from}` : ''}`,
        `${p.characters} characters, ${p.encoding}, ${p.segments} segment${p.segments === 1 ? '' : 's'}`,
        '',
        p.body,
      ].join('\n');
    case 'webhook':
      return [`template: ${title}`, `POST ${p.url}`, '', JSON.stringify(p.body, null, 2)].join('\n');
  }
}
