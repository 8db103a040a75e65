// Recovery and verification with the `link` method, against the second server run.sh starts
// (`use: link`). The SDK starts the flows and submits the address; the link from the delivered
// mail is opened like a browser would (plain GET with the flow's cookies), and the outcome is read
// back with the SDK.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertShape } from '../lib/shape.js';
import {
  browserFrontend, courierApi, csrfToken, freshEmail, identityApi, linkAdminUrl, linkPublicUrl, nativeFrontend,
} from '../lib/client.js';
import { linkIn, waitForMail } from '../lib/mail.js';

const password = 'a-Long-and-unusual-passw0rd!';
const newPassword = 'An0ther-long-and-unusual-passphrase';

async function registerNative(email) {
  const frontend = nativeFrontend(linkPublicUrl);
  const { data: flow } = await frontend.createNativeRegistrationFlow();
  const { data } = await frontend.updateRegistrationFlow({
    flow: flow.id,
    updateRegistrationFlowBody: { method: 'password', password, traits: { email } },
  });
  return assertShape(data, 'SuccessfulNativeRegistration');
}

/** The session cookie among a response's Set-Cookie headers. */
function sessionCookie(response) {
  return response.headers.getSetCookie().map((c) => c.split(';')[0]).find((c) => c.startsWith('ory_kratos_session='));
}

test('link verification after registration: show_verification_ui, GET the link, verified', async () => {
  const email = freshEmail('link-verify');
  const registered = await registerNative(email);
  const shown = registered.continue_with.find((c) => c.action === 'show_verification_ui');
  assert.ok(shown, JSON.stringify(registered.continue_with));
  const link = linkIn(await waitForMail(email, /verif|confirm/i), '/self-service/verification');
  assert.ok(link.startsWith(linkPublicUrl), link);
  assert.equal(new URL(link).searchParams.get('flow'), shown.flow.id);

  const response = await fetch(link, { redirect: 'manual' });
  assert.equal(response.status, 303, await response.clone().text());
  const { data: flow } = await nativeFrontend(linkPublicUrl).getVerificationFlow({ id: shown.flow.id });
  assertShape(flow, 'VerificationFlow');
  assert.equal(flow.state, 'passed_challenge');
  const { data: identity } = await identityApi(linkAdminUrl).getIdentity({ id: registered.identity.id });
  assert.equal(identity.verifiable_addresses[0].verified, true);
});

test('SPA link recovery: submit the email, GET the link with the cookies, session + settings', async () => {
  const email = freshEmail('link-recovery');
  await registerNative(email);
  const browser = browserFrontend(linkPublicUrl);
  const { data: flow } = await browser.api.createBrowserRecoveryFlow();
  assertShape(flow, 'RecoveryFlow');
  const { data: sent } = await browser.api.updateRecoveryFlow({
    flow: flow.id, updateRecoveryFlowBody: { method: 'link', email, csrf_token: csrfToken(flow) },
  });
  assert.equal(sent.state, 'sent_email');
  const link = linkIn(await waitForMail(email, /recover/i), '/self-service/recovery');
  assert.equal(new URL(link).searchParams.get('flow'), flow.id);

  const response = await fetch(link, { redirect: 'manual', headers: { cookie: browser.cookieHeader() } });
  assert.equal(response.status, 303, await response.clone().text());
  const location = new URL(response.headers.get('location'));
  assert.equal(location.origin + location.pathname, 'http://127.0.0.1:4455/settings');
  const cookie = sessionCookie(response);
  assert.ok(cookie, 'link recovery set the session cookie');

  const { data: session } = await nativeFrontend(linkPublicUrl).toSession({ cookie });
  assertShape(session, 'Session');
  assert.equal(session.identity.traits.email, email);
  assert.ok(session.authentication_methods.some((m) => m.method === 'link_recovery'), JSON.stringify(session.authentication_methods));

  // Continue in the SPA with the recovered session: change the password in the settings flow.
  browser.jar.set('ory_kratos_session', cookie.slice('ory_kratos_session='.length));
  const settingsId = location.searchParams.get('flow');
  const { data: settings } = await browser.api.getSettingsFlow({ id: settingsId });
  const { data: changed } = await browser.api.updateSettingsFlow({
    flow: settingsId,
    updateSettingsFlowBody: { method: 'password', password: newPassword, csrf_token: csrfToken(settings) },
  });
  assert.equal(changed.state, 'success');

  const { data: messages } = await courierApi(linkAdminUrl).listCourierMessages({ recipient: email, status: 'sent' });
  assert.ok(messages.some((m) => m.template_type === 'recovery_valid'), JSON.stringify(messages.map((m) => m.template_type)));
});
