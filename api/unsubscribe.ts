/**
 * Unsubscribe endpoints, reached from the `List-Unsubscribe` link of marketing mail:
 *
 * - `POST /unsubscribe/:token` — RFC 8058 one-click: mailbox providers POST
 *   `List-Unsubscribe=One-Click` and expect it to take effect with no further step. The
 *   confirmation page's button posts here too.
 * - `GET /unsubscribe/:token` — a confirmation page showing the current state with an
 *   Unsubscribe or Resubscribe button. It never changes anything: mail scanners and link
 *   previewers fetch every URL in a message, and must not unsubscribe anyone by doing so.
 * - `POST /unsubscribe/:token/resubscribe` — undoes an unsubscribe from the page.
 *
 * The short links of SMS (`/u/:code`, `{{ unsubscribe_short_url }}`) have the same three routes,
 * served by the same handlers: only how the credential is resolved differs (a stored random
 * code instead of a signed token).
 *
 * There is no other authentication: the token or code is the credential, and it only ever acts
 * on the customer, channel and category it names. One that fails verification changes nothing
 * and the page says why, without revealing who it was for.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { resolveShortCode } from '../delivery/short-links';
import { assertUnsubscribeSecret, MAX_UNSUBSCRIBE_TOKEN_LENGTH, verifyUnsubscribeToken } from '../delivery/tokens';
import { isTransactional } from '../core/categories';
import type { DeliveryStore, SubscriptionStatus } from '../profiles/store';
import { escapeHtml, paragraphs, sendPage } from './pages';

export { escapeHtml } from './pages';

/** What the unsubscribe routes need: the token secret, the subscription part of the store and its short codes. */
export interface UnsubscribeDeps {
  /** Secret the worker signs links with (`UNBROKEN_UNSUBSCRIBE_SECRET`), at least 32 characters. */
  secret: string;
  store: Pick<DeliveryStore, 'setSubscription' | 'subscription' | 'unsubscribeCode'>;
  /** Clock for expiry checks and the recorded change time; defaults to the API's clock. */
  now?: () => Date;
  /**
   * UNBROKEN_PUBLIC_URL: the resubscribe POST must come from a page of this origin. Absent: of
   * the origin the request itself was sent to.
   */
  publicUrl?: string;
}

/** `source` recorded by a one-click or confirmation-page unsubscribe. */
export const ONE_CLICK_SOURCE = 'one_click';
/** `source` recorded by the page's Resubscribe button. */
export const RESUBSCRIBE_SOURCE = 'resubscribe_page';
/**
 * Route parameters longer than this are answered 404 by fastify's router before any handler
 * runs; buildApi raises its limit to fit the longest token.
 */
export const UNSUBSCRIBE_MAX_PARAM_LENGTH = MAX_UNSUBSCRIBE_TOKEN_LENGTH;

/**
 * One-click bodies are a single short form field; anything much bigger is not a mail provider.
 * Kept small because these routes take unauthenticated requests.
 */
const BODY_LIMIT_BYTES = 4096;

type PageState = 'subscribed' | 'unsubscribed' | 'just_unsubscribed' | 'just_resubscribed';

interface Target {
  customerId: string;
  channel: string;
  category: string;
}

/** Why a link was refused, as far as the customer is told: expired, or not valid at all. */
type Refusal = 'invalid' | 'expired';

/** Turns a link's credential (the route's last segment) into what it acts on, or why it cannot. */
type Resolve = (credential: string) => Promise<Target | Refusal>;

type LinkRequest = FastifyRequest<{ Params: { credential: string } }>;

/** True for a URL of the unsubscribe routes (`/unsubscribe/…`, `/u/…`). */
export function isUnsubscribePath(url: string): boolean {
  return /^\/(unsubscribe|u)(\/|$|\?)/.test(url);
}

/** The "link is not valid" answer for a link fastify could not route (too long, bad encoding). */
export function brokenLinkPage(request: FastifyRequest, reply: FastifyReply, status: number): FastifyReply {
  return failure(request, reply, status, 'invalid_link', INVALID_LINK);
}

/** Registers the unsubscribe routes on `app` (in their own scope, so body parsing stays local). */
export async function registerUnsubscribe(app: FastifyInstance, deps: UnsubscribeDeps & { now: () => Date }): Promise<void> {
  assertUnsubscribeSecret(deps.secret);
  const { store, secret, now } = deps;

  const byToken: Resolve = async (token) => {
    const result = verifyUnsubscribeToken(token, secret, now());
    if (result.ok) return { customerId: result.customerId, channel: result.channel, category: result.category };
    return result.reason === 'expired' ? 'expired' : 'invalid';
  };
  // A malformed code is refused before the store is asked; an unknown one reads like a forged token.
  const byCode: Resolve = async (code) => {
    const result = await resolveShortCode(code, (c) => store.unsubscribeCode(c), now());
    if (result.ok) return { customerId: result.customerId, channel: result.channel, category: result.category };
    return result.reason === 'expired' ? 'expired' : 'invalid';
  };

  await app.register(async (scope) => {
    // Mail providers send `application/x-www-form-urlencoded`, but some send no body, no
    // content type or something else. The body carries nothing we need (the link says it all),
    // so every body is read as an opaque string and ignored; a strict parser here would turn a
    // provider's quirk into a failed unsubscribe.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: BODY_LIMIT_BYTES }, (_request, body, done) => done(null, body));
    // People reach these routes from a mail, in a browser: every error is a page, as the rest.
    scope.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
      const status = error.statusCode ?? 500;
      if (status === 413) return failure(request, reply, 413, 'payload_too_large', TOO_LARGE);
      if (status >= 400 && status < 500) return failure(request, reply, status, 'invalid_request', INVALID_LINK);
      request.log.error({ err: error }, 'unsubscribe: unexpected error');
      return failure(request, reply, 500, 'internal', TRY_AGAIN);
    });

    for (const [prefix, resolve] of [['/unsubscribe', byToken], ['/u', byCode]] as const) {
      await scope.register(
        async (links) => {
          // A link cut short, with a stray segment, or longer than any token ever is.
          links.setNotFoundHandler((request, reply) => failure(request, reply, 404, 'not_found', INVALID_LINK));
          linkRoutes(links, resolve);
        },
        { prefix },
      );
    }
  });

  /**
   * The three routes of one kind of link (in a scope under its prefix): the confirmation page
   * (GET), the unsubscribe (POST, RFC 8058 one-click for mail) and the resubscribe. Every kind of
   * link gets exactly these pages; only `resolve` tells them apart.
   */
  function linkRoutes(scope: FastifyInstance, resolve: Resolve): void {
    scope.get<{ Params: { credential: string } }>('/:credential', async (request, reply) => {
      const target = await resolved(request, reply, resolve);
      if (target === undefined) return reply;
      const status = await atStore(request, reply, () => store.subscription(target.customerId, target.channel, target.category));
      if (status === undefined) return reply;
      return page(reply, 200, stateView(target, status, request.params.credential, ''));
    });

    scope.post<{ Params: { credential: string } }>('/:credential', { bodyLimit: BODY_LIMIT_BYTES }, async (request, reply) => {
      return change(request, reply, resolve, 'unsubscribed', ONE_CLICK_SOURCE, '');
    });

    // The result page lives one level deeper, so its forms reach the link with '../'.
    scope.post<{ Params: { credential: string } }>('/:credential/resubscribe', { bodyLimit: BODY_LIMIT_BYTES }, async (request, reply) => {
      // Unsubscribing is always welcome; subscribing again must come from our own page, not a
      // form on another site that submits itself with a customer's link.
      const foreign = foreignOrigin(request, deps.publicUrl);
      if (foreign !== undefined) {
        request.log.warn({ origin: foreign }, 'unsubscribe: resubscribe from a foreign origin refused');
        return failure(request, reply, 403, 'forbidden', FOREIGN_ORIGIN);
      }
      return change(request, reply, resolve, 'subscribed', RESUBSCRIBE_SOURCE, '../');
    });
  }

  /**
   * Sets the subscription the link names. Idempotent: repeating it leaves the same state, so a
   * provider retrying a one-click POST or a double-clicked button does no harm.
   */
  async function change(
    request: LinkRequest,
    reply: FastifyReply,
    resolve: Resolve,
    status: SubscriptionStatus,
    source: string,
    base: string,
  ): Promise<FastifyReply> {
    const target = await resolved(request, reply, resolve);
    if (target === undefined) return reply;
    const at = now().toISOString();
    const done = await atStore(request, reply, async () => {
      await store.setSubscription(target.customerId, target.channel, target.category, status, source, at);
      return true;
    });
    if (done === undefined) return reply;
    return page(reply, 200, stateView(target, status === 'unsubscribed' ? 'just_unsubscribed' : 'just_resubscribed', request.params.credential, base));
  }
}

/** The link's target, or undefined after answering with why it was refused (or that the store failed). */
async function resolved(request: LinkRequest, reply: FastifyReply, resolve: Resolve): Promise<Target | undefined> {
  const result = await atStore(request, reply, () => resolve(request.params.credential));
  if (result === undefined) return undefined;
  if (typeof result === 'object') return result;
  failure(request, reply, result === 'expired' ? 410 : 400, result === 'expired' ? 'expired' : 'invalid_link', refusedView(result));
  return undefined;
}

/**
 * Runs a store call; on failure answers 503 (providers retry one-click POSTs on 5xx) with a
 * page of our own rather than the event API's JSON error, and returns undefined.
 */
async function atStore<T>(request: FastifyRequest, reply: FastifyReply, work: () => Promise<T>): Promise<T | undefined> {
  try {
    return await work();
  } catch (error) {
    // The token or code is a credential: log what failed, not the URL.
    request.log.error({ err: error }, 'unsubscribe: the profile store failed');
    failure(request, reply, 503, 'unavailable', TRY_AGAIN);
    return undefined;
  }
}

interface View {
  title: string;
  paragraphs: string[];
  form?: { action: string; label: string };
}

function stateView(target: Target, state: PageState, credential: string, base: string): View {
  const what = `${target.category} ${channelNoun(target.channel)}`;
  // Forms post relative to the current page, so the API works behind a path prefix
  // (UNBROKEN_PUBLIC_URL=https://example.com/mail) without knowing it. From /unsubscribe/<t>
  // '<t>' is the unsubscribe route; from /unsubscribe/<t>/resubscribe it is '../<t>' (and the
  // same for /u/<code>).
  const unsubscribe = { action: `${base}${credential}`, label: 'Unsubscribe' };
  const resubscribe = { action: `${base}${credential}/resubscribe`, label: 'Resubscribe' };
  switch (state) {
    case 'subscribed':
      return {
        title: `Unsubscribe from ${what}?`,
        paragraphs: [`You are currently subscribed to ${what}. Press the button to stop receiving them.`],
        form: unsubscribe,
      };
    case 'unsubscribed':
      return {
        title: `You are unsubscribed from ${what}`,
        paragraphs: [`You will not receive ${what}. Changed your mind? You can subscribe again.`],
        form: resubscribe,
      };
    case 'just_unsubscribed':
      return {
        title: 'You are unsubscribed',
        paragraphs: [
          `You will no longer receive ${what}.` +
            // Only marketing categories carry these links, but say nothing untrue if one did not.
            (isTransactional(target.category) ? '' : ' Messages you need about your account or orders still reach you.'),
          'Unsubscribed by mistake?',
        ],
        form: resubscribe,
      };
    case 'just_resubscribed':
      return {
        title: 'You are subscribed again',
        paragraphs: [`You will receive ${what} again.`],
        form: unsubscribe,
      };
  }
}

const TRY_AGAIN: View = {
  title: 'Please try again',
  paragraphs: ['We could not update your preferences just now. Nothing was changed. Please try again in a few minutes.'],
};

const INVALID_LINK: View = refusedView('invalid');

const TOO_LARGE: View = {
  title: 'This request is too large',
  paragraphs: ['Nothing was changed. Please use the link or the button in the message again.'],
};

const FOREIGN_ORIGIN: View = {
  title: 'This request did not come from our page',
  paragraphs: ['Nothing was changed. To subscribe again, open the link in your message and use the button on that page.'],
};

/**
 * The origin a browser says a resubscribe came from, when it is not ours; undefined when it is
 * ours or when there is none. Browsers send `Origin` with every form POST (our pages' referrer
 * policy lets them), so a request with neither `Origin` nor `Referer` is not a cross-site form
 * but a client such as curl, which could post the link's URL anyway: it is let through.
 * `Origin: null` (a sandboxed or privacy-stripped page) is refused.
 */
function foreignOrigin(request: FastifyRequest, publicUrl: string | undefined): string | undefined {
  const own = publicUrl !== undefined ? new URL(publicUrl).origin : `${request.protocol}://${request.host}`;
  const origin = request.headers.origin;
  if (origin !== undefined) return origin === own ? undefined : origin;
  const referer = request.headers.referer;
  if (referer === undefined) return undefined;
  const from = URL.canParse(referer) ? new URL(referer).origin : 'null';
  return from === own ? undefined : from;
}

/**
 * Answers a refusal or failure: a page, or `{ error, message }` JSON for a client that asks for
 * JSON and not HTML in `Accept` (a script or a provider's API client, never a browser).
 */
function failure(request: FastifyRequest, reply: FastifyReply, status: number, code: string, view: View): FastifyReply {
  const accept = request.headers.accept ?? '';
  if (accept.includes('application/json') && !accept.includes('text/html')) {
    return reply.code(status).header('cache-control', 'no-store').send({ error: code, message: [view.title, ...view.paragraphs].join('. ') });
  }
  return page(reply, status, view);
}

function refusedView(reason: Refusal): View {
  const paragraphs =
    reason === 'expired'
      ? ['This unsubscribe link has expired, so nothing was changed. Please use the link in a more recent message.']
      : ['This unsubscribe link is not valid, so nothing was changed. Please check that the whole link was copied, or use the link in a more recent message.'];
  return { title: reason === 'expired' ? 'This link has expired' : 'This link is not valid', paragraphs };
}

/** How the page names a channel's messages; unknown channels get a generic phrase. */
function channelNoun(channel: string): string {
  switch (channel) {
    case 'email':
      return 'emails';
    case 'sms':
      return 'text messages';
    default:
      return `${channel} messages`;
  }
}

/** Sends the page of a view; the form posts what a one-click provider would. */
function page(reply: FastifyReply, status: number, view: View): FastifyReply {
  const form =
    view.form === undefined
      ? ''
      : `<form method="post" action="${escapeHtml(view.form.action)}">` +
        // Same field a one-click provider sends; harmless, and honest about what the POST is.
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">' +
        `<button type="submit">${escapeHtml(view.form.label)}</button></form>`;
  return sendPage(reply, status, { title: view.title, body: paragraphs(view.paragraphs) + form, referrerPolicy: 'same-origin' });
}
