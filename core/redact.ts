/**
 * Hiding credentials in text that reaches a terminal, an error message or a log. Sandbox-safe:
 * plain string work, so the workflow side may import it too.
 */

/**
 * Hides the credentials of a connection URL (`smtp://user:pass@host` → `smtp://user:***@host`),
 * also in a malformed one (`smtp//user:pass@host`, `smtps://user:pass@`): everything between the
 * scheme and the last `@` is the user information, and only its user name survives. User
 * information without a colon may itself be a token (`smtp://apikey@host`), so all of it goes.
 */
export function redactUrl(url: string): string {
  const at = url.lastIndexOf('@');
  if (at < 0) return url;
  const slashes = url.indexOf('//');
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url);
  const start = slashes >= 0 && slashes < at ? slashes + 2 : scheme ? scheme[0].length : 0;
  const userInfo = url.slice(start, at);
  const colon = userInfo.indexOf(':');
  const hidden = colon >= 0 ? `${userInfo.slice(0, colon)}:***` : '***';
  return `${url.slice(0, start)}${hidden}${url.slice(at)}`;
}
