/**
 * The few Mocha globals the browser tests use (@web/test-runner runs Mocha; `@types/mocha` is not a
 * dependency).
 */
interface MochaContext {
  skip(): never;
  timeout(ms: number): void;
}
type MochaFn = (this: MochaContext) => void | Promise<void>;
declare function describe(title: string, body: () => void): void;
declare function it(title: string, body: MochaFn): void;
declare function before(body: MochaFn): void;
declare function after(body: MochaFn): void;
declare function beforeEach(body: MochaFn): void;
declare function afterEach(body: MochaFn): void;
