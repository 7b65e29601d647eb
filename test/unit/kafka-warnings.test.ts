import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { isKafkajsNegativeTimeoutWarning } from '../../src/kafka/warnings.js';

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, '../..');

// Node raises TimeoutNegativeWarning once per process, so each case runs in its own process and
// reads its real stderr. The kafkajs request queue is the real one, driven the way a connection
// drives it (tulios/kafkajs#1751), not mocked.
const KAFKAJS_QUEUE = `
  const { createRequire } = await import('node:module');
  const RequestQueue = createRequire(process.cwd() + '/')('kafkajs/src/network/requestQueue/index.js');
  const quiet = { debug() {}, info() {}, warn() {}, error() {} };
  const queue = new RequestQueue({ requestTimeout: 30000, enforceRequestTimeout: true, clientId: 't', broker: 'none:0', logger: quiet });
  queue.scheduleCheckPendingRequests(); // setTimeout(fn, -1 - Date.now()) with nothing pending
  clearTimeout(queue.throttleCheckTimeoutId);
`;
const INSTALL = `const { silenceKafkajsTimeoutWarning } = await import('./src/kafka/warnings.ts'); silenceKafkajsTimeoutWarning();`;

async function stderrOf(script: string): Promise<string> {
  const { stderr } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `${script}\nawait new Promise((r) => setTimeout(r, 20));`], { cwd: repo });
  return stderr;
}

describe('kafkajs TimeoutNegativeWarning filter', () => {
  it('is needed: without it, kafkajs request queue prints the warning on stderr', async () => {
    expect(await stderrOf(KAFKAJS_QUEUE)).toContain('TimeoutNegativeWarning');
  });

  it("drops the warning raised by kafkajs's request queue, and lets the next warning through", async () => {
    const stderr = await stderrOf(`${INSTALL}\n${KAFKAJS_QUEUE}\nprocess.emitWarning('still shown', 'DeprecationWarning');`);
    expect(stderr).not.toContain('TimeoutNegativeWarning');
    expect(stderr).toContain('DeprecationWarning: still shown');
  });

  it('lets the same warning through when other code raises it', async () => {
    const stderr = await stderrOf(`${INSTALL}\nclearTimeout(setTimeout(() => undefined, -5));`);
    expect(stderr).toContain('TimeoutNegativeWarning: -5 is a negative number.');
  });

  it('decides by the type and the raising frame, not by the text', () => {
    const kafkajsStack = 'Error\n    at setTimeout (node:timers:125:19)\n    at RequestQueue.scheduleCheckPendingRequests (/app/node_modules/kafkajs/src/network/requestQueue/index.js:317:40)';
    expect(isKafkajsNegativeTimeoutWarning('-1 is a negative number.', 'TimeoutNegativeWarning', kafkajsStack)).toBe(true);
    expect(isKafkajsNegativeTimeoutWarning('-1 is a negative number.', { type: 'TimeoutNegativeWarning' }, kafkajsStack.replaceAll('/', '\\'))).toBe(true);
    expect(isKafkajsNegativeTimeoutWarning('-1 is a negative number.', 'TimeoutNegativeWarning', 'Error\n    at poll (/app/src/pipeline/poller.js:1:1)')).toBe(false);
    expect(isKafkajsNegativeTimeoutWarning('other', 'DeprecationWarning', kafkajsStack)).toBe(false);
  });
});
