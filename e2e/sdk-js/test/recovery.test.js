// Recovery and verification with the `code` method (and admin-issued links), with mail really
// delivered by the courier worker to the suite's SMTP sink (lib/smtp-sink.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertShape } from '../lib/shape.js';
import {
  browserFrontend, courierApi, csrfToken, freshEmail, identityApi, nativeFrontend, publicUrl, rejected,
} from '../lib/client.js';
import { codeIn, waitForMail } from '../lib/mail.js';

const recoverySubject = /recover/i;
const verificationSubject = /verif|confirm/i;

const password = 'a-Long-and-unusual-passw0rd!';
const newPassword = 'An0ther-long-and-unusual-passphrase';

async function registerNative(email) {
  const frontend = nativeFrontend();
  const { data: flow } = await frontend.createNativeRegistrationFlow();
  const { data } = await frontend.updateRegistrationFlow({
    flow: flow.id,
    updateRegistrationFlowBody: { method: 'password', password, traits: { email } },
  });
  return assertShape(data, 'SuccessfulNativeRegistration');
}

async function loginNative(email, pw) {
  const frontend = nativeFrontend();
  const { data: flow } = await frontend.createNativeLoginFlow();
  const { data } = await frontend.updateLoginFlow({
    flow: flow.id,
    updateLoginFlowBody: { method: 'password', identifier: email, password: pw },
  });
  return assertShape(data, 'SuccessfulNativeLogin');
}

function continueWith(list, action) {
  const item = (list ?? []).find((c) => c.action === action);
  assert.ok(item, `continue_with has ${action}: ${JSON.stringify(list)}`);
  return item;
}

test('native recovery by code: mail, session token, settings flow, new password', async () => {
  const email = freshEmail('native-recovery');
  await registerNative(email);
  const frontend = nativeFrontend();
  const { data: flow, status } = await frontend.createNativeRecoveryFlow();
  assert.equal(status, 200);
  assertShape(flow, 'RecoveryFlow');
  assert.equal(flow.type, 'api');
  assert.equal(flow.state, 'choose_method');

  const { data: sent } = await frontend.updateRecoveryFlow({
    flow: flow.id, updateRecoveryFlowBody: { method: 'code', email },
  });
  assertShape(sent, 'RecoveryFlow');
  assert.equal(sent.state, 'sent_email');
  const code = codeIn(await waitForMail(email, recoverySubject));

  const { data: done } = await frontend.updateRecoveryFlow({
    flow: flow.id, updateRecoveryFlowBody: { method: 'code', code },
  });
  assertShape(done, 'RecoveryFlow');
  assert.equal(done.state, 'passed_challenge');
  const token = continueWith(done.continue_with, 'set_ory_session_token').ory_session_token;
  const settingsId = continueWith(done.continue_with, 'show_settings_ui').flow.id;

  const { data: session } = await frontend.toSession({ xSessionToken: token });
  assertShape(session, 'Session');
  assert.equal(session.identity.traits.email, email);
  assert.ok(session.authentication_methods.some((m) => m.method === 'code_recovery'), JSON.stringify(session.authentication_methods));

  const { data: settings } = await frontend.getSettingsFlow({ id: settingsId, xSessionToken: token });
  assertShape(settings, 'SettingsFlow');
  const { data: changed } = await frontend.updateSettingsFlow({
    flow: settingsId, xSessionToken: token,
    updateSettingsFlowBody: { method: 'password', password: newPassword },
  });
  assertShape(changed, 'SettingsFlow');
  assert.equal(changed.state, 'success');
  assert.equal((await loginNative(email, newPassword)).session.identity.traits.email, email);

  const { data: messages } = await courierApi().listCourierMessages({ recipient: email, status: 'sent' });
  assert.ok(messages.some((m) => m.template_type === 'recovery_code_valid'), JSON.stringify(messages.map((m) => m.template_type)));
});

test('SPA recovery by code: csrf, 422 browser_location_change_required, session cookie', async () => {
  const email = freshEmail('spa-recovery');
  await registerNative(email);
  const browser = browserFrontend();
  const { data: flow } = await browser.api.createBrowserRecoveryFlow();
  assertShape(flow, 'RecoveryFlow');
  assert.equal(flow.type, 'browser');
  const csrf = csrfToken(flow);
  const { data: sent } = await browser.api.updateRecoveryFlow({
    flow: flow.id, updateRecoveryFlowBody: { method: 'code', email, csrf_token: csrf },
  });
  assert.equal(sent.state, 'sent_email');
  const code = codeIn(await waitForMail(email, recoverySubject));

  const response = await rejected(browser.api.updateRecoveryFlow({
    flow: flow.id, updateRecoveryFlowBody: { method: 'code', code, csrf_token: csrfToken(sent) },
  }));
  assert.equal(response.status, 422);
    assert.equal(response.data.error.id, 'browser_location_change_required');
  assert.match(response.data.redirect_browser_to, /\/settings\?flow=/);
  assert.ok(browser.jar.has('ory_kratos_session'), 'recovery set the session cookie');

  const { data: session } = await browser.api.toSession();
  assert.equal(session.identity.traits.email, email);
  const settingsId = new URL(response.data.redirect_browser_to).searchParams.get('flow');
  const { data: settings } = await browser.api.getSettingsFlow({ id: settingsId });
  const { data: changed } = await browser.api.updateSettingsFlow({
    flow: settingsId,
    updateSettingsFlowBody: { method: 'password', password: newPassword, csrf_token: csrfToken(settings) },
  });
  assert.equal(changed.state, 'success');
  await loginNative(email, newPassword);
});

test('native verification after registration: show_verification_ui, code, verified address', async () => {
  const email = freshEmail('native-verify');
  const registered = await registerNative(email);
  const flowId = continueWith(registered.continue_with, 'show_verification_ui').flow.id;
  const code = codeIn(await waitForMail(email, verificationSubject));

  const frontend = nativeFrontend();
  const { data: flow } = await frontend.getVerificationFlow({ id: flowId });
  assertShape(flow, 'VerificationFlow');
  assert.equal(flow.state, 'sent_email');
  const { data: done } = await frontend.updateVerificationFlow({
    flow: flowId, updateVerificationFlowBody: { method: 'code', code },
  });
  assertShape(done, 'VerificationFlow');
  assert.equal(done.state, 'passed_challenge');

  const { data: identity } = await identityApi().getIdentity({ id: registered.identity.id });
  const address = identity.verifiable_addresses.find((a) => a.value === email);
  assert.equal(address.verified, true);
  assert.equal(address.status, 'completed');
  const { data: messages } = await courierApi().listCourierMessages({ recipient: email, status: 'sent' });
  assert.ok(messages.some((m) => m.template_type === 'verification_code_valid'), JSON.stringify(messages.map((m) => m.template_type)));
});

test('SPA verification: email, then code, with csrf', async () => {
  const email = freshEmail('spa-verify');
  const registered = await registerNative(email);
  await waitForMail(email, verificationSubject); // the mail registration triggered
  const browser = browserFrontend();
  const { data: flow } = await browser.api.createBrowserVerificationFlow();
  assertShape(flow, 'VerificationFlow');
  assert.equal(flow.type, 'browser');
  const { data: sent } = await browser.api.updateVerificationFlow({
    flow: flow.id, updateVerificationFlowBody: { method: 'code', email, csrf_token: csrfToken(flow) },
  });
  assert.equal(sent.state, 'sent_email');
  const code = codeIn(await waitForMail(email, verificationSubject, 2));
  const { data: done } = await browser.api.updateVerificationFlow({
    flow: flow.id, updateVerificationFlowBody: { method: 'code', code, csrf_token: csrfToken(sent) },
  });
  assert.equal(done.state, 'passed_challenge');
  const { data: identity } = await identityApi().getIdentity({ id: registered.identity.id });
  assert.equal(identity.verifiable_addresses[0].verified, true);
});

test('wrong recovery code: 200 with the flow and an error message', async () => {
  const email = freshEmail('wrong-code');
  await registerNative(email);
  const frontend = nativeFrontend();
  const { data: flow } = await frontend.createNativeRecoveryFlow();
  await frontend.updateRecoveryFlow({ flow: flow.id, updateRecoveryFlowBody: { method: 'code', email } });
  // Kratos answers an invalid code with the flow itself (200), carrying the error message.
  const { data: again, status } = await frontend.updateRecoveryFlow({
    flow: flow.id, updateRecoveryFlowBody: { method: 'code', code: '000000' },
  });
  assert.equal(status, 200);
  assert.equal(again.state, 'sent_email');
  assert.ok(again.ui.messages.some((m) => m.id === 4060006), JSON.stringify(again.ui.messages));
});

test('admin createRecoveryCodeForIdentity (api flow) then native code submission', async () => {
  const email = freshEmail('admin-code');
  const registered = await registerNative(email);
  const { data, status } = await identityApi().createRecoveryCodeForIdentity({
    createRecoveryCodeForIdentityBody: { identity_id: registered.identity.id, flow_type: 'api' },
  });
  assert.equal(status, 201);
  assertShape(data, 'RecoveryCodeForIdentity');
  const flowId = new URL(data.recovery_link).searchParams.get('flow');
  const { data: done } = await nativeFrontend().updateRecoveryFlow({
    flow: flowId, updateRecoveryFlowBody: { method: 'code', code: data.recovery_code },
  });
  assert.equal(done.state, 'passed_challenge');
  const token = continueWith(done.continue_with, 'set_ory_session_token').ory_session_token;
  const { data: session } = await nativeFrontend().toSession({ xSessionToken: token });
  assert.equal(session.identity.id, registered.identity.id);
});

test('admin createRecoveryLinkForIdentity: the link (plain browser GET) gives a session', async () => {
  const email = freshEmail('admin-link');
  const registered = await registerNative(email);
  const { data } = await identityApi().createRecoveryLinkForIdentity({
    createRecoveryLinkForIdentityBody: { identity_id: registered.identity.id, expires_in: '1h' },
  });
  assertShape(data, 'RecoveryLinkForIdentity');
  assert.ok(data.recovery_link.startsWith(publicUrl), data.recovery_link);

  const response = await fetch(data.recovery_link, { redirect: 'manual' });
  assert.equal(response.status, 303, await response.clone().text());
  assert.match(response.headers.get('location'), /^http:\/\/127\.0\.0\.1:4455\/settings\?flow=/);
  const cookie = response.headers.getSetCookie().map((c) => c.split(';')[0]).find((c) => c.startsWith('ory_kratos_session='));
  assert.ok(cookie, 'link recovery set the session cookie');
  const { data: session } = await nativeFrontend().toSession({ cookie });
  assertShape(session, 'Session');
  assert.equal(session.identity.id, registered.identity.id);
  assert.ok(session.authentication_methods.some((m) => m.method === 'link_recovery'), JSON.stringify(session.authentication_methods));
});
