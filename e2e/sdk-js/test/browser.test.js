// Browser flows as a single-page app drives them: JSON responses, cookies, csrf_token from the
// flow's UI nodes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertShape } from '../lib/shape.js';
import { browserFrontend, csrfToken, freshEmail, messageIds, rejected } from '../lib/client.js';

const password = 'a-Long-and-unusual-passw0rd!';

async function registerInBrowser(browser, email) {
  const { data: flow, status } = await browser.api.createBrowserRegistrationFlow();
  assert.equal(status, 200);
  assertShape(flow, 'RegistrationFlow');
  assert.equal(flow.type, 'browser');
  assert.ok(browser.jar.size > 0, 'the flow set the CSRF cookie');
  const { data } = await browser.api.updateRegistrationFlow({
    flow: flow.id,
    updateRegistrationFlowBody: { method: 'password', csrf_token: csrfToken(flow), password, traits: { email } },
  });
  return assertShape(data, 'SuccessfulNativeRegistration');
}

async function loginInBrowser(browser, email, pw = password) {
  const { data: flow } = await browser.api.createBrowserLoginFlow();
  assertShape(flow, 'LoginFlow');
  assert.equal(flow.type, 'browser');
  const { data } = await browser.api.updateLoginFlow({
    flow: flow.id,
    updateLoginFlowBody: { method: 'password', csrf_token: csrfToken(flow), identifier: email, password: pw },
  });
  return assertShape(data, 'SuccessfulNativeLogin');
}

test('SPA registration sets the session cookie; whoami with the cookie', async () => {
  const browser = browserFrontend();
  const email = freshEmail('spa-reg');
  const registered = await registerInBrowser(browser, email);
  assert.equal(registered.identity.traits.email, email);
  assert.equal(registered.session_token, undefined, 'browser flows do not hand out tokens');
  assert.ok(registered.session?.id, 'session hook ran');

  assert.ok(browser.jar.has('ory_kratos_session'), `session cookie set: ${[...browser.jar.keys()]}`);
  assert.ok([...browser.jar.keys()].some((name) => name.startsWith('csrf_token')), 'CSRF cookie set');
  const { data: session } = await browser.api.toSession({ cookie: browser.cookieHeader() });
  assertShape(session, 'Session');
  assert.equal(session.id, registered.session.id);
  assert.equal(session.identity.traits.email, email);
});

test('SPA login, whoami, then logout via createBrowserLogoutFlow + updateLogoutFlow', async () => {
  const email = freshEmail('spa-login');
  const registered = await registerInBrowser(browserFrontend(), email);

  const browser = browserFrontend();
  const loggedIn = await loginInBrowser(browser, email);
  assert.equal(loggedIn.session.identity.traits.email, email);
  const { data: session } = await browser.api.toSession();
  assertShape(session, 'Session');
  assert.equal(session.id, loggedIn.session.id);

  // The session cookie also works for the session list: the other one is registration's.
  const { data: others } = await browser.api.listMySessions();
  assert.deepEqual(others.map((s) => s.id), [registered.session.id]);

  const { data: logout } = await browser.api.createBrowserLogoutFlow();
  assertShape(logout, 'LogoutFlow');
  assert.ok(logout.logout_token);
  assert.ok(logout.logout_url.includes(logout.logout_token));

  const { status } = await browser.api.updateLogoutFlow({ token: logout.logout_token });
  assert.equal(status, 204);
  const after = await rejected(browser.api.toSession());
  assert.equal(after.status, 401);
  assertShape(after.data, 'ErrorGeneric');
});

test('SPA login without the csrf_token is refused with a generic error', async () => {
  const email = freshEmail('spa-csrf');
  await registerInBrowser(browserFrontend(), email);
  const browser = browserFrontend();
  const { data: flow } = await browser.api.createBrowserLoginFlow();
  const response = await rejected(browser.api.updateLoginFlow({
    flow: flow.id,
    updateLoginFlowBody: { method: 'password', identifier: email, password },
  }));
  assert.equal(response.status, 403);
  assertShape(response.data, 'ErrorGeneric');
  assert.equal(response.data.error.id, 'security_csrf_violation');
});

test('SPA wrong password: 400 with the flow (4000006) and a usable csrf_token', async () => {
  const email = freshEmail('spa-wrong');
  await registerInBrowser(browserFrontend(), email);
  const browser = browserFrontend();
  const { data: flow } = await browser.api.createBrowserLoginFlow();
  const response = await rejected(browser.api.updateLoginFlow({
    flow: flow.id,
    updateLoginFlowBody: { method: 'password', csrf_token: csrfToken(flow), identifier: email, password: 'wrong-password-123' },
  }));
  assert.equal(response.status, 400);
  assertShape(response.data, 'LoginFlow');
  assert.ok(messageIds(response.data).includes(4000006));

  // The same flow still works with the right password.
  const { data } = await browser.api.updateLoginFlow({
    flow: flow.id,
    updateLoginFlowBody: { method: 'password', csrf_token: csrfToken(response.data), identifier: email, password },
  });
  assertShape(data, 'SuccessfulNativeLogin');
});

test('SPA settings flow with the session cookie', async () => {
  const browser = browserFrontend();
  const email = freshEmail('spa-settings');
  await registerInBrowser(browser, email);
  const { data: flow } = await browser.api.createBrowserSettingsFlow();
  assertShape(flow, 'SettingsFlow');
  assert.equal(flow.type, 'browser');
  const { data } = await browser.api.updateSettingsFlow({
    flow: flow.id,
    updateSettingsFlowBody: { method: 'profile', csrf_token: csrfToken(flow), traits: { email, name: { first: 'Katherine' } } },
  });
  assertShape(data, 'SettingsFlow');
  assert.equal(data.state, 'success');
  assert.equal(data.identity.traits.name.first, 'Katherine');
});
