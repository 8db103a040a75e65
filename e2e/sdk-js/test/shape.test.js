// The model checker must itself reject malformed bodies, or every other assertion is vacuous.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shapeProblems } from '../lib/shape.js';

test('the SDK model checker reports missing fields, wrong types, unknown enum values and union tags', () => {
  assert.ok(shapeProblems({}, 'LoginFlow').includes('LoginFlow.id: required by LoginFlow, missing'));
  const session = { id: 'x', active: 'yes', identity: { id: 'i', schema_id: 'default', schema_url: 'u', traits: {}, state: 'sleeping' } };
  const problems = shapeProblems(session, 'Session');
  assert.ok(problems.some((p) => p.startsWith('Session.active: expected boolean')), problems.join('\n'));
  assert.ok(problems.some((p) => p.startsWith('Session.identity.state: "sleeping" is not a IdentityState')), problems.join('\n'));
  assert.ok(shapeProblems({ node_type: 'marquee' }, 'UiNodeAttributes')[0].includes('unknown node_type'));
  assert.ok(shapeProblems({ node_type: 'input' }, 'UiNodeAttributes').some((p) => p.includes('.name: required')));
  assert.deepEqual(shapeProblems([{ count: 1 }], 'Array<DeleteMySessionsCount>'), []);
});
