/**
 * `asyncapi.yaml` is the contract consumers in other languages start from: it must parse, and it
 * must say what the code does (topics, CloudEvent types, payload schemas, topic settings), so a
 * change on either side fails here until the other follows.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AsyncAPIDocumentInterface } from '@asyncapi/parser';
import { SCHEMAS_DIR } from '../../scripts/gen-schemas.js';
import { grantlineTopicSpecs, topicNames } from '../../src/kafka/topics.js';
import { CE_TYPES } from '../../src/pipeline/cloudevents.js';
import { internalTopics, messageContracts, parseAsyncApi, topicConfigurations, type MessageContract } from '../fixtures/asyncapi.js';

const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

// A fixed channel name stands for `{channel}`: topicNames only accepts real ones.
const CHANNEL = 'channelparam';
const ADDRESS = (topic: string) => topic.replace(`access.grants.${CHANNEL}.v1`, 'access.grants.{channel}.v1');

/** Every topic the code names, with the grant channel as the document's `{channel}` parameter. */
function codeTopics(): string[] {
  const names = topicNames('');
  return Object.values({ ...names, grants: names.grants(CHANNEL) }).map(ADDRESS);
}

let document: AsyncAPIDocumentInterface;
let contracts: MessageContract[];

beforeAll(async () => {
  const parsed = await parseAsyncApi();
  // Severity 0 is an error, 1 a warning; 2 and 3 are hints (e.g. "3.1.0 exists").
  expect(parsed.diagnostics.filter((d) => d.severity <= 1).map((d) => `${d.path.join('.')}: ${d.message}`)).toEqual([]);
  if (parsed.document === undefined) throw new Error('asyncapi.yaml did not parse');
  document = parsed.document;
  contracts = messageContracts(document);
}, 60_000);

describe('asyncapi.yaml', () => {
  it('is AsyncAPI 3.0 and parses without errors or warnings', () => {
    expect(document.version()).toBe('3.0.0');
    expect(contracts.length).toBeGreaterThan(0);
  });

  it('accounts for every topic the code creates, each once: a channel, or one of grantline\'s internal topics', () => {
    const documented = [...document.channels().all().map((c) => c.address() ?? ''), ...internalTopics(document).map((t) => t.address)];
    expect([...documented].sort()).toEqual(codeTopics().sort());
    expect(new Set(documented).size).toBe(documented.length);
  });

  it('names every CloudEvent type of the code once, with its message or internal topic', () => {
    const documented = [...contracts.map((c) => c.ceType), ...internalTopics(document).flatMap((t) => t.ceTypes)].filter((t) => t !== undefined);
    expect([...new Set(documented)].sort()).toEqual(Object.values(CE_TYPES).sort());
    expect(new Set(documented).size).toBe(documented.length);
  });

  it('gives each channel the cleanup policy and retention grantline creates its topic with', () => {
    const names = topicNames('');
    const specs = grantlineTopicSpecs(names, [CHANNEL], 3);
    const configs = topicConfigurations(document);
    for (const [address, config] of configs) {
      const spec = specs.find((s) => ADDRESS(s.topic) === address);
      expect(spec, address).toBeDefined();
      expect(config['cleanup.policy'], address).toEqual([spec?.compacted === true ? 'compact' : 'delete']);
      expect(config['retention.ms'], address).toBe(spec?.retentionMs);
    }
  });

  it('references a schemas/ file for every payload, and each published message type is on a channel', () => {
    const files = readdirSync(SCHEMAS_DIR).filter((f) => f.endsWith('.json'));
    for (const c of contracts) expect(files, c.id).toContain(c.payloadFile);
    // The canonical request is what `grantline evaluate` reads and a connector produces; no topic carries it.
    expect(contracts.map((c) => c.payloadFile).sort()).toEqual(files.filter((f) => f !== 'entitlement-request.v1.json').sort());
  });

  it('declares as ce_dataschema the $id of the schema it references', () => {
    for (const c of contracts.filter((m) => m.dataschema !== undefined)) {
      const schema = JSON.parse(readFileSync(resolve(SCHEMAS_DIR, c.payloadFile), 'utf8')) as { $id: string };
      expect(c.dataschema, c.id).toBe(schema.$id);
    }
  });

  it('says how the key of every message grantline writes is formed, and for grants, revocations and amendments it is the grant id', () => {
    const written = contracts.filter((c) => c.ceType !== undefined && c.address !== 'access.fulfillment.results.v1');
    for (const c of written) expect(c.keyFrom, c.id).toBeDefined();
    const onGrantTopic = contracts.filter((c) => c.address === 'access.grants.{channel}.v1');
    expect(onGrantTopic.map((c) => [c.ceType, c.keyFrom]).sort()).toEqual([
      [CE_TYPES.grantAmended, '{grantId}'],
      [CE_TYPES.grantIssued, '{grantId}'],
      [CE_TYPES.grantRevoked, '{grantId}'],
    ]);
    expect(contracts.find((c) => c.ceType === CE_TYPES.requestRejected)?.keyFrom).toBe('{source.connectorId}|{source.ticketId}');
  });

  it('references schemas a draft-07 validator reads as written (they use no 2020-12-only keyword)', () => {
    // Keywords whose meaning is the same in draft-07 and 2020-12, plus annotations.
    const shared = new Set(['$id', '$schema', 'title', 'description', 'version', 'default', 'type', 'properties', 'required', 'additionalProperties', 'items', 'enum', 'const', 'anyOf', 'format', 'pattern', 'minLength', 'minItems', 'minimum', 'maximum', 'exclusiveMinimum', 'propertyNames']);
    const used = new Set<string>();
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (typeof v === 'object' && v !== null) {
        for (const [k, x] of Object.entries(v)) {
          used.add(k);
          if (k === 'properties') Object.values(x as object).forEach(walk);
          else walk(x);
        }
      }
    };
    const ajv = new Ajv({ strict: true, allErrors: true });
    addFormats(ajv);
    ajv.addKeyword('version');
    for (const c of contracts) {
      const schema = JSON.parse(readFileSync(resolve(SCHEMAS_DIR, c.payloadFile), 'utf8')) as Record<string, unknown>;
      walk(schema);
      // Compiles as draft-07 (Ajv's default) once the 2020-12 `$schema` line is set aside.
      const { $schema: _s, ...draft07 } = schema;
      expect(() => ajv.compile(draft07), c.id).not.toThrow();
    }
    expect([...used].filter((k) => !shared.has(k))).toEqual([]);
  });
});
