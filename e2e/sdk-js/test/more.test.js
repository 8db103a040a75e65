// Further FrontendApi / IdentityApi calls: duplicate registration, refresh login, already-logged-in
// login, return_to, revoking one session, admin session management, full identity update.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertShape } from '../lib/shape.js';
import { browserFrontend, csrfToken, freshEmail, identityApi, messageIds, nativeFrontend, rejected } from '../lib/client.js';

const frontend = nativeFrontend();
const identities = identityApi();
const password = 'a-Long-and-unusual-passw0rd!';

async function register(email) {
  const { data: flow } = await frontend.createNativeRegistrationFlow();
  const { data } = await frontend.updateRegistrationFlow({
    flow: flow.id,
    updateRegistrationFlowBody: { method: 'password', password, traits: { email } },
  });
  return data;
}

async function login(email) {
  const { data: flow } = await frontend.createNativeLoginFlow();
  const { data } = await frontend.updateLoginFlow({
    flow: flow.id,
    updateLoginFlowBody: { method: 'password', identifier: email, password },
  });
  return data;
}

test('registering an existing e-mail again: 400 with message 4000007', async () => {
  const email = freshEmail('duplicate');
  await register(email);
  const { data: flow } = await frontend.createNativeRegistrationFlow();
  const response = await rejected(frontend.updateRegistrationFlow({
    flow: flow.id,
    updateRegistrationFlowBody: { method: 'password', password, traits: { email } },
  }));
  assert.equal(response.status, 400);
  assertShape(response.data, 'RegistrationFlow');
  assert.ok(messageIds(response.data).includes(4000007), JSON.stringify(response.data.ui.messages));
});

test('login while logged in: session_already_available; refresh=true gives a refresh flow', async () => {
  const { session_token: token } = await register(freshEmail('refresh'));
  const response = await rejected(frontend.createNativeLoginFlow({ xSessionToken: token }));
  assert.equal(response.status, 400);
  assert.equal(response.data.error.id, 'session_already_available');

  const { data: flow } = await frontend.createNativeLoginFlow({ refresh: true, xSessionToken: token });
  assertShape(flow, 'LoginFlow');
  assert.equal(flow.refresh, true);
});

test('browser flows keep an allowed return_to and refuse another one', async () => {
  const browser = browserFrontend();
  const { data: flow } = await browser.api.createBrowserLoginFlow({ returnTo: 'http://127.0.0.1:4455/after' });
  assertShape(flow, 'LoginFlow');
  assert.equal(flow.return_to, 'http://127.0.0.1:4455/after');
  csrfToken(flow);

  const refused = await rejected(browser.api.createBrowserLoginFlow({ returnTo: 'https://evil.example/' }));
  assert.equal(refused.status, 400);
  assertShape(refused.data, 'ErrorGeneric');
});

test('disableMySession revokes one other session; the current one is refused', async () => {
  const email = freshEmail('disable-one');
  const first = await register(email);
  const second = await login(email);
  const { status } = await frontend.disableMySession({ id: first.session.id, xSessionToken: second.session_token });
  assert.equal(status, 204);
  assert.equal((await rejected(frontend.toSession({ xSessionToken: first.session_token }))).status, 401);
  const self = await rejected(frontend.disableMySession({ id: second.session.id, xSessionToken: second.session_token }));
  assert.equal(self.status, 400);
  assertShape(self.data, 'ErrorGeneric');
});

test('admin sessions: getSession with identity, extendSession, disableSession', async () => {
  const email = freshEmail('admin-session');
  const registered = await register(email);
  const id = registered.session.id;

  const { data: session } = await identities.getSession({ id, expand: ['identity'] });
  assertShape(session, 'Session');
  assert.equal(session.identity.traits.email, email);

  const { data: extended, status } = await identities.extendSession({ id });
  assert.equal(status, 200);
  assertShape(extended, 'Session');
  assert.equal(extended.id, id);
  assert.ok(Date.parse(extended.expires_at) >= Date.parse(registered.session.expires_at));

  const { status: disabled } = await identities.disableSession({ id });
  assert.equal(disabled, 204);
  const { data: after } = await identities.getSession({ id });
  assert.equal(after.active, false);
  assert.equal((await rejected(frontend.toSession({ xSessionToken: registered.session_token }))).status, 401);
});

test('updateIdentity replaces traits and state; an inactive identity cannot log in', async () => {
  const email = freshEmail('update');
  const registered = await register(email);
  const { data: updated } = await identities.updateIdentity({
    id: registered.identity.id,
    updateIdentityBody: { schema_id: 'default', traits: { email, name: { last: 'Updated' } }, state: 'inactive' },
  });
  assertShape(updated, 'Identity');
  assert.equal(updated.state, 'inactive');
  assert.equal(updated.traits.name.last, 'Updated');

  const { data: flow } = await frontend.createNativeLoginFlow();
  const response = await rejected(frontend.updateLoginFlow({
    flow: flow.id,
    updateLoginFlowBody: { method: 'password', identifier: email, password },
  }));
  assert.equal(response.status, 401);
  assertShape(response.data, 'ErrorGeneric');
  assert.equal(response.data.error.code, 401);
});
