/** The login form: one labelled password field for the admin key. */
import { escapeHtml, type ConsolePage } from './layout';

export function loginPage(error?: string): ConsolePage {
  const message = error === undefined ? '' : `<p class="bad" role="alert" id="login-error">${escapeHtml(error)}</p>`;
  return {
    title: 'Log in',
    body:
      message +
      '<form method="post" action="/console/login">' +
      '<p><label for="key">Admin key</label><br>' +
      `<input type="password" id="key" name="key" autocomplete="current-password" required autofocus${error === undefined ? '' : ' aria-describedby="login-error"'}></p>` +
      '<p><button type="submit">Log in</button></p></form>' +
      '<p class="muted">The admin key is <code>UNBROKEN_ADMIN_KEY</code>, or the key <code>unbroken start</code> generated into the data folder and printed. The write key does not open the console.</p>',
  };
}
