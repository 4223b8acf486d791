import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { mangledNames } from '../../build/mangled-names.ts';

/**
 * mangledNames over a small source tree of its own (with this checkout's node_modules, for the ES
 * library typings and the dependencies' words): which members the script build may shorten.
 */
const FILES: Record<string, string> = {
  'src/index.ts': `export { Api } from './api.js';\nexport * from './types.js';`,
  'src/types.ts': `export interface Store { storedByHost(): void }`,
  'src/base.ts': `export class Base { fromBaseClass(): void {} }`,
  'src/api.ts': `import { Worker } from './worker.js';
import { Base } from './base.js';
export class Api extends Base {
  private readonly worker = new Worker();
  publicCall(): void { this.worker.internalCall(); this.worker.spokenOf(); this.privateHelper(); }
  private privateHelper(): void { this.worker.keyed = 1; }
}`,
  'src/worker.ts': `export class Worker {
  keyed = 0;
  private privateState = 0;
  private readOutside = 0;
  internalCall(): void { this.privateState++; }
  spokenOf(): void {}
  fromPart(): void {}
  storedByHost(): void {}
  then(): void {}
  compare(other: Worker): number { return other.readOutside + this.readOutside; }
}
export const record = { keyed: 1 };
export const label = 'spokenOf';`,
  'src/ui/parts/entry.ts': `import { shared } from '../shared.js';\nshared();`,
  'src/ui/shared.ts': `export function shared(w?: { fromPart(): void }): void { w?.fromPart(); }`,
};

describe('mangledNames', () => {
  let root = '';
  let names: RegExp;

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'imbed-mangle-'));
    for (const [path, text] of Object.entries(FILES)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    symlinkSync(join(import.meta.dirname, '../../node_modules'), join(root, 'node_modules'), 'dir');
    names = mangledNames(root);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('shortens private members read only through this', () => {
    assert.ok(names.test('privateState'));
    assert.ok(names.test('privateHelper'));
  });

  it('shortens the members of a class outside the API that other classes call', () => {
    assert.ok(names.test('internalCall'));
  });

  it('keeps the members of the API classes and of the classes they extend', () => {
    assert.ok(!names.test('publicCall'));
    assert.ok(!names.test('fromBaseClass'));
  });

  it('keeps a private member that is also read from another object', () => {
    assert.ok(!names.test('readOutside'));
  });

  it('keeps names that are also object keys, strings, interface members or words of a part', () => {
    assert.ok(!names.test('keyed'), 'object key');
    assert.ok(!names.test('spokenOf'), 'string');
    assert.ok(!names.test('storedByHost'), 'interface member');
    assert.ok(!names.test('fromPart'), 'mentioned by a part');
    assert.ok(!names.test('then'), 'ES library name');
  });
});
