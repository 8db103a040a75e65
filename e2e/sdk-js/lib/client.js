// SDK clients for the server started by run.sh, and a cookie jar for browser (SPA) flows.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import axios from 'axios';
import { Configuration, CourierApi, FrontendApi, IdentityApi } from '@ory/kratos-client';
import { shapeProblems } from './shape.js';

export const publicUrl = process.env.KRATOS_PUBLIC_URL ?? assert.fail('KRATOS_PUBLIC_URL is not set (use run.sh)');
export const adminUrl = process.env.KRATOS_ADMIN_URL ?? assert.fail('KRATOS_ADMIN_URL is not set (use run.sh)');
/** A second server whose recovery and verification use the `link` method. */
export const linkPublicUrl = process.env.KRATOS_LINK_PUBLIC_URL ?? assert.fail('KRATOS_LINK_PUBLIC_URL is not set (use run.sh)');
export const linkAdminUrl = process.env.KRATOS_LINK_ADMIN_URL ?? assert.fail('KRATOS_LINK_ADMIN_URL is not set (use run.sh)');

// The SDK model each answer must be, by method, path and status: every body the server sends
// in this suite is checked, not only those a test looks at.
const models = [
  ['GET', /^\/self-service\/(login|registration|settings)\/(api|browser|flows)$/, 200, (m) => ({ login: 'LoginFlow', registration: 'RegistrationFlow', settings: 'SettingsFlow' })[m[1]]],
  ['POST', /^\/self-service\/login$/, 200, 'SuccessfulNativeLogin'],
  ['POST', /^\/self-service\/registration$/, 200, 'SuccessfulNativeRegistration'],
  ['POST', /^\/self-service\/(login|registration|settings)$/, 400, (m) => ({ login: 'LoginFlow', registration: 'RegistrationFlow', settings: 'SettingsFlow' })[m[1]]],
  ['POST', /^\/self-service\/settings$/, 200, 'SettingsFlow'],
  ['GET', /^\/self-service\/(recovery|verification)\/(api|browser|flows)$/, 200, (m) => ({ recovery: 'RecoveryFlow', verification: 'VerificationFlow' })[m[1]]],
  ['POST', /^\/self-service\/(recovery|verification)$/, 200, (m) => ({ recovery: 'RecoveryFlow', verification: 'VerificationFlow' })[m[1]]],
  ['POST', /^\/self-service\/(recovery|verification)$/, 400, (m) => ({ recovery: 'RecoveryFlow', verification: 'VerificationFlow' })[m[1]]],
  ['POST', /^\/admin\/recovery\/code$/, 201, 'RecoveryCodeForIdentity'],
  ['POST', /^\/admin\/recovery\/link$/, 200, 'RecoveryLinkForIdentity'],
  ['GET', /^\/self-service\/logout\/browser$/, 200, 'LogoutFlow'],
  ['GET', /^\/sessions\/whoami$/, 200, 'Session'],
  ['GET', /^\/sessions$/, 200, 'Array<Session>'],
  ['DELETE', /^\/sessions$/, 200, 'DeleteMySessionsCount'],
  ['GET', /^\/admin\/identities$/, 200, 'Array<Identity>'],
  ['POST', /^\/admin\/identities$/, 201, 'Identity'],
  ['GET', /^\/admin\/identities\/[^/]+$/, 200, 'Identity'],
  ['PATCH', /^\/admin\/identities\/[^/]+$/, 200, 'Identity'],
  ['GET', /^\/admin\/identities\/[^/]+\/sessions$/, 200, 'Array<Session>'],
  ['GET', /^\/admin\/sessions\/[^/]+$/, 200, 'Session'],
  ['PATCH', /^\/admin\/sessions\/[^/]+\/extend$/, 200, 'Session'],
  ['PUT', /^\/admin\/identities\/[^/]+$/, 200, 'Identity'],
  ['GET', /^\/schemas$/, 200, 'Array<IdentitySchemaContainer>'],
  ['GET', /^\/admin\/courier\/messages$/, 200, 'Array<Message>'],
  ['GET', /^\/admin\/courier\/messages\/[^/]+$/, 200, 'Message'],
];

/** Why `response`'s body is not the SDK model its route promises (empty when it is). */
export function bodyProblems(response) {
  const method = response.config.method.toUpperCase();
  const path = new URL(response.config.url).pathname;
  const status = response.status;
  if (status === 204) return response.data === '' || response.data == null ? [] : [`204 with a body: ${response.data}`];
  // A single schema document is arbitrary JSON Schema.
  if (/^\/schemas\/[^/]+$/.test(path) && status === 200) return [];
  // The SDK declares ErrorBrowserLocationChangeRequired.error as ErrorGeneric ({ error: ... }),
  // but Kratos (selfservice/flow/error.go) embeds the herodot error itself under `error`: check
  // the body as Kratos sends it.
  if (status === 422 && /^\/self-service\/[a-z]+$/.test(path)) {
    return [
      ...shapeProblems(response.data?.error, 'GenericError'),
      ...(typeof response.data?.redirect_browser_to === 'string' ? [] : ['422 without redirect_browser_to']),
    ];
  }
  for (const [m, pattern, s, model] of models) {
    const match = pattern.exec(path);
    if (m === method && match && s === status) {
      return shapeProblems(response.data, typeof model === 'function' ? model(match) : model);
    }
  }
  if (status >= 400) return shapeProblems(response.data, 'ErrorGeneric');
  return [`no SDK model known for ${method} ${path} ${status}`];
}

function checked(instance) {
  const fail = (response, problems) =>
    new Error(`${response.config.method.toUpperCase()} ${response.config.url} -> ${response.status}: body does not fit the SDK model:\n${problems.join('\n')}`);
  instance.interceptors.response.use(
    (response) => {
      const problems = bodyProblems(response);
      if (problems.length > 0) throw fail(response, problems);
      return response;
    },
    (error) => {
      const problems = error.response ? bodyProblems(error.response) : [];
      return Promise.reject(problems.length > 0 ? fail(error.response, problems) : error);
    },
  );
  return instance;
}

/** FrontendApi for native (API) flows: no cookies. */
export function nativeFrontend(base = publicUrl) {
  return new FrontendApi(new Configuration({ basePath: base }), base, checked(axios.create()));
}

/**
 * FrontendApi acting like a single-page app in a browser: every request sends the cookies the
 * server set earlier and asks for JSON, redirects are not followed.
 */
export function browserFrontend(base = publicUrl) {
  const jar = new Map();
  const instance = axios.create({ maxRedirects: 0 });
  instance.interceptors.request.use((config) => {
    if (jar.size > 0) {
      config.headers.set('Cookie', [...jar].map(([name, value]) => `${name}=${value}`).join('; '));
    }
    config.headers.set('Accept', 'application/json');
    return config;
  });
  const remember = (response) => {
    for (const header of response?.headers?.['set-cookie'] ?? []) {
      const [pair, ...attributes] = header.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age=(0|-)/i.test(a)) || value === '';
      if (expired) jar.delete(name);
      else jar.set(name, value);
    }
  };
  instance.interceptors.response.use(
    (response) => { remember(response); return response; },
    (error) => { remember(error.response); return Promise.reject(error); },
  );
  const api = new FrontendApi(new Configuration({ basePath: base }), base, checked(instance));
  return { api, jar, cookieHeader: () => [...jar].map(([n, v]) => `${n}=${v}`).join('; ') };
}

export function identityApi(base = adminUrl) {
  return new IdentityApi(new Configuration({ basePath: base }), base, checked(axios.create()));
}

export function courierApi(base = adminUrl) {
  return new CourierApi(new Configuration({ basePath: base }), base, checked(axios.create()));
}

/** A fresh e-mail address, so tests do not depend on each other. */
export function freshEmail(prefix = 'user') {
  return `${prefix}-${randomUUID()}@example.org`;
}

/** The value of the hidden csrf_token input node of a flow's UI. */
export function csrfToken(flow) {
  const node = flow.ui.nodes.find((n) => n.attributes.node_type === 'input' && n.attributes.name === 'csrf_token');
  assert.ok(node, 'flow has a csrf_token node');
  assert.equal(typeof node.attributes.value, 'string');
  assert.ok(node.attributes.value.length > 0);
  return node.attributes.value;
}

/** Awaits a call the SDK must reject, and returns the axios error's response. */
export async function rejected(promise) {
  try {
    const response = await promise;
    assert.fail(`expected an error response, got ${response.status}: ${JSON.stringify(response.data)}`);
  } catch (error) {
    if (!error.response) throw error;
    return error.response;
  }
}

/** Every message id on a flow: UI-level and per node. */
export function messageIds(flow) {
  return [
    ...(flow.ui.messages ?? []).map((m) => m.id),
    ...flow.ui.nodes.flatMap((n) => n.messages.map((m) => m.id)),
  ];
}
