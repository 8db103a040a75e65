// Every response an SDK client receives is checked against the SDK model its route promises, so
// a body the official SDK would misread fails the call that received it.
import { shapeProblems } from './shape.js';

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

export function checked(instance) {
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
