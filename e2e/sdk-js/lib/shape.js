// Checks JSON bodies against the model types of the official SDK itself. @ory/kratos-client is
// generated with typescript-axios, which has no runtime `...FromJSON` decoders; its models exist
// only as TypeScript declarations (dist/api.d.ts) plus runtime enum objects (dist/api.js). This
// module reads those declarations and checks a value the way a strict decoder would: required
// properties present, primitive types right, enum values known, nested models and discriminated
// unions (UiNodeAttributes, ContinueWith, ...) checked recursively.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';
import * as sdk from '@ory/kratos-client';

const require = createRequire(import.meta.url);
const declarations = readFileSync(
  require.resolve('@ory/kratos-client/dist/api.d.ts'),
  'utf8',
);

/** interface name -> Map(property -> { optional, type }) */
const interfaces = new Map();
/** union alias name -> { discriminator, variants: Map(tag -> interface name) } */
const unions = new Map();
/** enum alias names (their values are the runtime object of the same name) */
const enums = new Set();

for (const match of declarations.matchAll(/^export interface (\w+) \{\n([\s\S]*?)^\}/gm)) {
  const properties = new Map();
  // Only the interface's own top-level members (four-space indent); inline object types are
  // handled as opaque values.
  for (const line of match[2].matchAll(/^ {4}'?([\w-]+)'?(\?)?: (.+?);?$/gm)) {
    properties.set(line[1], { optional: Boolean(line[2]), type: line[3].trim() });
  }
  interfaces.set(match[1], properties);
}
for (const match of declarations.matchAll(/^export type (\w+) = typeof \1\[keyof typeof \1\];$/gm)) {
  enums.add(match[1]);
}
for (const match of declarations.matchAll(/^export type (\w+) = \{\n([\s\S]*?\} & \w+);$/gm)) {
  const variants = new Map();
  let discriminator;
  for (const variant of match[2].matchAll(/(\w+): '([^']+)';\s*\} & (\w+)/g)) {
    discriminator = variant[1];
    variants.set(variant[2], variant[3]);
  }
  if (discriminator) unions.set(match[1], { discriminator, variants });
}

function check(value, type, path, problems) {
  let t = type.trim();
  if (t.endsWith(' | null')) {
    if (value === null) return;
    t = t.slice(0, -' | null'.length).trim();
  }
  const array = /^Array<(.+)>$/.exec(t);
  if (array) {
    if (!Array.isArray(value)) return problems.push(`${path}: expected array (${t}), got ${JSON.stringify(value)}`);
    value.forEach((item, i) => check(item, array[1], `${path}[${i}]`, problems));
    return;
  }
  if (t === 'string' || t === 'number' || t === 'boolean') {
    if (typeof value !== t) problems.push(`${path}: expected ${t}, got ${JSON.stringify(value)}`);
    return;
  }
  if (t === 'object' || t.startsWith('{')) {
    if (value === null || typeof value !== 'object') problems.push(`${path}: expected object, got ${JSON.stringify(value)}`);
    return;
  }
  if (enums.has(t)) {
    const allowed = Object.values(sdk[t] ?? {});
    if (!allowed.includes(value)) problems.push(`${path}: ${JSON.stringify(value)} is not a ${t} (${allowed.join(', ')})`);
    return;
  }
  if (unions.has(t)) {
    const { discriminator, variants } = unions.get(t);
    const variant = value && variants.get(value[discriminator]);
    if (!variant) return problems.push(`${path}: ${t} with unknown ${discriminator} ${JSON.stringify(value?.[discriminator])}`);
    check(value, variant, path, problems);
    return;
  }
  if (interfaces.has(t)) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return problems.push(`${path}: expected ${t} object, got ${JSON.stringify(value)}`);
    }
    for (const [name, property] of interfaces.get(t)) {
      if (value[name] === undefined) {
        if (!property.optional) problems.push(`${path}.${name}: required by ${t}, missing`);
        continue;
      }
      check(value[name], property.type, `${path}.${name}`, problems);
    }
    return;
  }
  // `any` and inline types not modelled above accept every value.
}

/** Problems found when reading `value` as the SDK model `type` (empty when it fits). */
export function shapeProblems(value, type) {
  const problems = [];
  check(value, type, type, problems);
  return problems;
}

/** Asserts that `value` is a well-formed SDK model `type` and returns it. */
export function assertShape(value, type) {
  assert.ok(interfaces.has(type) || unions.has(type) || /^Array<\w+>$/.test(type), `unknown SDK model ${type}`);
  assert.deepEqual(shapeProblems(value, type), [], `response is not a valid ${type}`);
  return value;
}
