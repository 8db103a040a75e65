// Native (API) flows through FrontendApi: registration, login, whoami, settings, logout, sessions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertShape } from '../lib/shape.js';
import { freshEmail, messageIds, nativeFrontend, rejected } from '../lib/client.js';

const frontend = nativeFrontend();
const password = 'a-Long-and-unusual-passw0rd!';

async function register(email) {
  const { data: flow, status } = await frontend.createNativeRegistrationFlow();
  assert.equal(status, 200);
  assertShape(flow, 'RegistrationFlow');
  assert.equal(flow.type, 'api');
  const { data } = await frontend.updateRegistrationFlow({
    flow: flow.id,
    updateRegistrationFlowBody: { method: 'password', password, traits: { email, name: { first: 'Ada', last: 'Lovelace' } } },
  });
  return assertShape(data, 'SuccessfulNativeRegistration');
}

async function login(email, pw = password) {
  const { data: flow } = await frontend.createNativeLoginFlow();
  assertShape(flow, 'LoginFlow');
  const { data } = await frontend.updateLoginFlow({
    flow: flow.id,
    updateLoginFlowBody: { method: 'password', identifier: email, password: pw },
  });
  return assertShape(data, 'SuccessfulNativeLogin');
}

test('native registration returns a session token that toSession accepts', async () => {
  const email = freshEmail('native-reg');
  const registered = await register(email);
  assert.equal(registered.identity.traits.email, email);
  assert.equal(registered.identity.schema_id, 'default');
  assert.ok(registered.session_token, 'session hook issued a token');
  assert.equal(registered.session.identity.id, registered.identity.id);
  assert.equal(registered.session.active, true);

  const { data: session } = await frontend.toSession({ xSessionToken: registered.session_token });
  assertShape(session, 'Session');
  assert.equal(session.id, registered.session.id);
  assert.equal(session.identity.traits.email, email);
  assert.equal(session.authenticator_assurance_level, 'aal1');
  assert.deepEqual(session.authentication_methods.map((m) => m.method), ['password']);
});

test('native login returns a token for toSession via X-Session-Token', async () => {
  const email = freshEmail('native-login');
  const registered = await register(email);
  const loggedIn = await login(email);
  assert.ok(loggedIn.session_token);
  assert.notEqual(loggedIn.session_token, registered.session_token);
  assert.equal(loggedIn.session.identity.id, registered.identity.id);

  const { data: session } = await frontend.toSession({ xSessionToken: loggedIn.session_token });
  assertShape(session, 'Session');
  assert.equal(session.id, loggedIn.session.id);
  assert.equal(session.identity.id, registered.identity.id);
});

test('toSession without credentials is a 401 generic error', async () => {
  const response = await rejected(frontend.toSession());
  assert.equal(response.status, 401);
  assertShape(response.data, 'ErrorGeneric');
  assert.equal(response.data.error.code, 401);
  assert.equal(response.data.error.id, 'session_inactive');
});

test('wrong password: 400 with the login flow carrying message 4000006', async () => {
  const email = freshEmail('native-wrong');
  await register(email);
  const { data: flow } = await frontend.createNativeLoginFlow();
  const response = await rejected(frontend.updateLoginFlow({
    flow: flow.id,
    updateLoginFlowBody: { method: 'password', identifier: email, password: 'not-the-password' },
  }));
  assert.equal(response.status, 400);
  assertShape(response.data, 'LoginFlow');
  assert.equal(response.data.id, flow.id);
  assert.ok(messageIds(response.data).includes(4000006), JSON.stringify(response.data.ui));
  // The identifier is kept, the password is not echoed back.
  const identifier = response.data.ui.nodes.find((n) => n.attributes.name === 'identifier');
  assert.equal(identifier.attributes.value, email);
  const pw = response.data.ui.nodes.find((n) => n.attributes.name === 'password');
  assert.ok(!pw.attributes.value, 'password not echoed');
});

test('missing required fields: 400 with the registration flow carrying message 4000002', async () => {
  const { data: flow } = await frontend.createNativeRegistrationFlow();
  const response = await rejected(frontend.updateRegistrationFlow({
    flow: flow.id,
    updateRegistrationFlowBody: { method: 'password', password, traits: {} },
  }));
  assert.equal(response.status, 400);
  assertShape(response.data, 'RegistrationFlow');
  assert.equal(response.data.id, flow.id);
  const email = response.data.ui.nodes.find((n) => n.attributes.name === 'traits.email');
  assert.ok(email, 'traits.email node');
  assert.ok(email.messages.some((m) => m.id === 4000002 && m.type === 'error'), JSON.stringify(email.messages));
});

test('getLoginFlow / getRegistrationFlow return the stored flows', async () => {
  const { data: login } = await frontend.createNativeLoginFlow();
  const { data: again } = await frontend.getLoginFlow({ id: login.id });
  assertShape(again, 'LoginFlow');
  assert.equal(again.id, login.id);
  assert.equal(again.ui.action, login.ui.action);

  const { data: registration } = await frontend.createNativeRegistrationFlow();
  const { data: reg } = await frontend.getRegistrationFlow({ id: registration.id });
  assertShape(reg, 'RegistrationFlow');
  assert.equal(reg.id, registration.id);

  const missing = await rejected(frontend.getLoginFlow({ id: '00000000-0000-0000-0000-000000000000' }));
  assert.equal(missing.status, 404);
  assertShape(missing.data, 'ErrorGeneric');
});

test('settings API flow: profile update, then password change, then login with the new password', async () => {
  const email = freshEmail('native-settings');
  const { session_token: token, identity } = await register(email);

  const { data: flow } = await frontend.createNativeSettingsFlow({ xSessionToken: token });
  assertShape(flow, 'SettingsFlow');
  assert.equal(flow.identity.id, identity.id);
  assert.equal(flow.state, 'show_form');

  const { data: updated } = await frontend.updateSettingsFlow({
    flow: flow.id,
    xSessionToken: token,
    updateSettingsFlowBody: { method: 'profile', traits: { email, name: { first: 'Grace', last: 'Hopper' } } },
  });
  assertShape(updated, 'SettingsFlow');
  assert.equal(updated.state, 'success');
  assert.equal(updated.identity.traits.name.first, 'Grace');

  const newPassword = 'another-Long-passw0rd-for-settings';
  const { data: pwFlow } = await frontend.createNativeSettingsFlow({ xSessionToken: token });
  const { data: changed } = await frontend.updateSettingsFlow({
    flow: pwFlow.id,
    xSessionToken: token,
    updateSettingsFlowBody: { method: 'password', password: newPassword },
  });
  assertShape(changed, 'SettingsFlow');
  assert.equal(changed.state, 'success');

  const { data: fetched } = await frontend.getSettingsFlow({ id: pwFlow.id, xSessionToken: token });
  assertShape(fetched, 'SettingsFlow');
  assert.equal(fetched.state, 'success');

  const old = await rejected(login(email));
  assert.equal(old.status, 400);
  const relogin = await login(email, newPassword);
  assert.equal(relogin.session.identity.traits.name.first, 'Grace');
});

test('performNativeLogout revokes the session token', async () => {
  const { session_token: token } = await register(freshEmail('native-logout'));
  const { status } = await frontend.performNativeLogout({ performNativeLogoutBody: { session_token: token } });
  assert.equal(status, 204);
  const response = await rejected(frontend.toSession({ xSessionToken: token }));
  assert.equal(response.status, 401);
  assertShape(response.data, 'ErrorGeneric');
});

test('listMySessions and disableMyOtherSessions', async () => {
  const email = freshEmail('native-sessions');
  const first = await register(email);
  const second = await login(email);
  const third = await login(email);

  const { data: others } = await frontend.listMySessions({ xSessionToken: third.session_token });
  assertShape(others, 'Array<Session>');
  const ids = others.map((s) => s.id).sort();
  assert.deepEqual(ids, [first.session.id, second.session.id].sort(), 'lists the other sessions, not the current one');
  // Kratos lists sessions with their identity expanded (ExpandEverything).
  for (const session of others) assert.equal(session.identity?.id, first.identity.id);

  const { data: count } = await frontend.disableMyOtherSessions({ xSessionToken: third.session_token });
  assertShape(count, 'DeleteMySessionsCount');
  assert.equal(count.count, 2);

  const { data: after } = await frontend.listMySessions({ xSessionToken: third.session_token });
  assert.deepEqual(after, []);
  assert.equal((await rejected(frontend.toSession({ xSessionToken: first.session_token }))).status, 401);
  const { data: still } = await frontend.toSession({ xSessionToken: third.session_token });
  assert.equal(still.id, third.session.id);
});

test('an expired settings flow answers 410 with self_service_flow_expired', async () => {
  const { session_token: token } = await register(freshEmail('native-expired'));
  const { data: flow } = await frontend.createNativeSettingsFlow({ xSessionToken: token });
  await new Promise((resolve) => setTimeout(resolve, Date.parse(flow.expires_at) - Date.now() + 500));
  const response = await rejected(frontend.updateSettingsFlow({
    flow: flow.id,
    xSessionToken: token,
    updateSettingsFlowBody: { method: 'profile', traits: { email: freshEmail('expired') } },
  }));
  assert.equal(response.status, 410);
  assertShape(response.data, 'ErrorGeneric');
  assert.equal(response.data.error.id, 'self_service_flow_expired');
  assert.equal(response.data.error.code, 410);
});
