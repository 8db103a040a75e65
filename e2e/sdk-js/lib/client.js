// SDK clients for the server started by run.sh, and a cookie jar for browser (SPA) flows.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import axios from 'axios';
import { Configuration, CourierApi, FrontendApi, IdentityApi } from '@ory/kratos-client';
import { checked } from './checked.js';

export const publicUrl = process.env.KRATOS_PUBLIC_URL ?? assert.fail('KRATOS_PUBLIC_URL is not set (use run.sh)');
export const adminUrl = process.env.KRATOS_ADMIN_URL ?? assert.fail('KRATOS_ADMIN_URL is not set (use run.sh)');
/** A second server whose recovery and verification use the `link` method. */
export const linkPublicUrl = process.env.KRATOS_LINK_PUBLIC_URL ?? assert.fail('KRATOS_LINK_PUBLIC_URL is not set (use run.sh)');
export const linkAdminUrl = process.env.KRATOS_LINK_ADMIN_URL ?? assert.fail('KRATOS_LINK_ADMIN_URL is not set (use run.sh)');

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
