// One step of a user's journey through the official SDK (@ory/kratos-client), per invocation, for
// suites in other languages (e2e/tests/journey.rs). Prints one JSON object on stdout; an HTTP
// error answer the step can expect (a refused registration) is printed, anything else fails
// with a non-zero exit. Every response is checked against its SDK model (lib/checked.js).
//
//   node lib/user-cli.js register <public-url> <password> <traits-json>
//     -> {"ok":true,"identity_id":...,"verification_flow_id":...} | {"ok":false,"status":400,"body":{...}}
//   node lib/user-cli.js verify <public-url> <flow-id> <email>   (reads the code from $SMTP_SPOOL)
//     -> {"state":"passed_challenge"}
//   node lib/user-cli.js login <public-url> <identifier> <password> -> {"session_token":...}
//   node lib/user-cli.js whoami <public-url> <session-token>
//     -> {"identity_id":...,"verified":{"<address>":true|false}}
import axios from 'axios';
import { Configuration, FrontendApi } from '@ory/kratos-client';
import { checked } from './checked.js';

const [command, url, ...args] = process.argv.slice(2);
const api = new FrontendApi(new Configuration({ basePath: url }), url, checked(axios.create()));

const steps = {
  async register(password, traits) {
    const { data: flow } = await api.createNativeRegistrationFlow();
    try {
      const { data } = await api.updateRegistrationFlow({
        flow: flow.id,
        updateRegistrationFlowBody: { method: 'password', password, traits: JSON.parse(traits) },
      });
      const verification = (data.continue_with ?? []).find((c) => c.action === 'show_verification_ui');
      return { ok: true, identity_id: data.identity.id, verification_flow_id: verification?.flow.id ?? null };
    } catch (error) {
      if (error.response?.status !== 400) throw error;
      return { ok: false, status: error.response.status, body: error.response.data };
    }
  },

  async verify(flowId, email) {
    // Imported here: it needs $SMTP_SPOOL, which only this step uses.
    const { codeIn, waitForMail } = await import('./mail.js');
    const code = codeIn(await waitForMail(email, /verif/i));
    const { data } = await api.updateVerificationFlow({
      flow: flowId,
      updateVerificationFlowBody: { method: 'code', code },
    });
    return { state: data.state };
  },

  async login(identifier, password) {
    const { data: flow } = await api.createNativeLoginFlow();
    const { data } = await api.updateLoginFlow({
      flow: flow.id,
      updateLoginFlowBody: { method: 'password', identifier, password },
    });
    return { session_token: data.session_token };
  },

  async whoami(token) {
    const { data } = await api.toSession({ xSessionToken: token });
    const verified = Object.fromEntries(
      (data.identity.verifiable_addresses ?? []).map((a) => [a.value, a.verified]),
    );
    return { identity_id: data.identity.id, verified };
  },
};

const step = steps[command];
if (!step || !url) {
  console.error(`usage: node lib/user-cli.js <${Object.keys(steps).join('|')}> <public-url> ...`);
  process.exit(2);
}
try {
  console.log(JSON.stringify(await step(...args)));
} catch (error) {
  const answer = error.response ? ` (${error.response.status}: ${JSON.stringify(error.response.data)})` : '';
  console.error(`${command} failed: ${error.message}${answer}`);
  process.exit(1);
}
