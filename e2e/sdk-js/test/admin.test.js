// Admin APIs through IdentityApi and CourierApi.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertShape } from '../lib/shape.js';
import { courierApi, freshEmail, identityApi, nativeFrontend, rejected } from '../lib/client.js';

const identities = identityApi();
const password = 'a-Long-and-unusual-passw0rd!';

test('identity lifecycle: create, get, list, patch, delete', async () => {
  const email = freshEmail('admin');
  const { data: created, status } = await identities.createIdentity({
    createIdentityBody: {
      schema_id: 'default',
      traits: { email, name: { first: 'Admin', last: 'Created' } },
      credentials: { password: { config: { password } } },
      metadata_public: { plan: 'free' },
    },
  });
  assert.equal(status, 201);
  assertShape(created, 'Identity');
  assert.equal(created.traits.email, email);
  assert.equal(created.state, 'active');
  assert.deepEqual(created.metadata_public, { plan: 'free' });

  const { data: fetched } = await identities.getIdentity({ id: created.id, includeCredential: ['password'] });
  assertShape(fetched, 'Identity');
  assert.equal(fetched.id, created.id);
  assert.deepEqual(fetched.credentials.password.identifiers, [email]);

  const { data: listed, headers } = await identities.listIdentities({ credentialsIdentifier: email });
  assertShape(listed, 'Array<Identity>');
  assert.deepEqual(listed.map((i) => i.id), [created.id]);
  assert.ok(headers.link === undefined || typeof headers.link === 'string');

  const { data: all } = await identities.listIdentities({ pageSize: 500 });
  assertShape(all, 'Array<Identity>');
  assert.ok(all.some((i) => i.id === created.id));

  const { data: patched } = await identities.patchIdentity({
    id: created.id,
    jsonPatch: [
      { op: 'replace', path: '/traits/name/first', value: 'Patched' },
      { op: 'add', path: '/metadata_admin', value: { note: 'vip' } },
    ],
  });
  assertShape(patched, 'Identity');
  assert.equal(patched.traits.name.first, 'Patched');
  assert.deepEqual(patched.metadata_admin, { note: 'vip' });

  const { status: deleted } = await identities.deleteIdentity({ id: created.id });
  assert.equal(deleted, 204);
  const gone = await rejected(identities.getIdentity({ id: created.id }));
  assert.equal(gone.status, 404);
  assertShape(gone.data, 'ErrorGeneric');
  assert.equal(gone.data.error.code, 404);
});

test('invalid traits on create: 400 generic error', async () => {
  const response = await rejected(identities.createIdentity({
    createIdentityBody: { schema_id: 'default', traits: { email: 42 } },
  }));
  assert.equal(response.status, 400);
  assertShape(response.data, 'ErrorGeneric');
});

test('listIdentitySessions shows sessions created by native login', async () => {
  const email = freshEmail('admin-sessions');
  const { data: identity } = await identities.createIdentity({
    createIdentityBody: { schema_id: 'default', traits: { email }, credentials: { password: { config: { password } } } },
  });
  const frontend = nativeFrontend();
  const { data: flow } = await frontend.createNativeLoginFlow();
  const { data: login } = await frontend.updateLoginFlow({
    flow: flow.id,
    updateLoginFlowBody: { method: 'password', identifier: email, password },
  });

  const { data: sessions } = await identities.listIdentitySessions({ id: identity.id });
  assertShape(sessions, 'Array<Session>');
  assert.deepEqual(sessions.map((s) => s.id), [login.session.id]);
  assert.equal(sessions[0].identity.id, identity.id);

  const { data: session } = await identities.getSession({ id: login.session.id });
  assertShape(session, 'Session');
  assert.equal(session.id, login.session.id);

  const { status } = await identities.deleteIdentitySessions({ id: identity.id });
  assert.equal(status, 204);
  assert.equal((await rejected(frontend.toSession({ xSessionToken: login.session_token }))).status, 401);
});

test('identity schemas: list and get', async () => {
  const { data: schemas } = await identities.listIdentitySchemas();
  assertShape(schemas, 'Array<IdentitySchemaContainer>');
  assert.deepEqual(schemas.map((s) => s.id), ['default']);
  assert.equal(schemas[0].schema.title, 'Person');

  const { data: schema } = await identities.getIdentitySchema({ id: 'default' });
  assert.equal(schema.title, 'Person');
  assert.equal(schema.properties.traits.required[0], 'email');

  const missing = await rejected(identities.getIdentitySchema({ id: 'no-such-schema' }));
  assert.equal(missing.status, 404);
  assertShape(missing.data, 'ErrorGeneric');
});

test('courier messages: list answers an array of messages; unknown id is 404', async () => {
  const courier = courierApi();
  const { data: messages } = await courier.listCourierMessages();
  assertShape(messages, 'Array<Message>');
  const missing = await rejected(courier.getCourierMessage({ id: '00000000-0000-0000-0000-000000000000' }));
  assert.equal(missing.status, 404);
  assertShape(missing.data, 'ErrorGeneric');
});
