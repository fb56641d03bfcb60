/** Webhook targets: which addresses are public, and the delivery agent's checks on a real loopback receiver. */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fetch } from 'undici';
import { RefusedTargetError, addressRange, checkWebhookTarget, isPublicAddress, webhookAgent } from './webhooks.ts';

describe('webhook targets', () => {
  it('knows public addresses from private, loopback, link-local, CGNAT, unspecified and mapped ones', () => {
    const notPublic = [
      '127.0.0.1', '127.255.0.9', '10.0.0.1', '172.16.0.1', '172.31.255.254', '192.168.0.1', '169.254.169.254', '100.64.0.1',
      '100.127.255.254', '0.0.0.0', '255.255.255.255', '224.0.0.1', '::1', '::', 'fc00::1', 'fdff::1', 'fe80::1', 'febf::1',
      '::ffff:127.0.0.1', '::ffff:10.0.0.1', '::ffff:a9fe:a9fe', '64:ff9b::a9fe:a9fe', 'ff02::1',
    ];
    for (const a of notPublic) assert.equal(isPublicAddress(a), false, `${a} is ${addressRange(a)}`);
    for (const a of ['8.8.8.8', '93.184.216.34', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '::ffff:8.8.8.8']) assert.equal(isPublicAddress(a), true, a);
    assert.equal(addressRange('::ffff:127.0.0.1'), 'loopback');
  });

  it('refuses literal non-public targets and localhost names when an assay is made, unless allowed', () => {
    assert.throws(() => checkWebhookTarget(new URL('http://[::ffff:7f00:1]/'), false), { code: 'WEBHOOK_NOT_ALLOWED' });
    assert.throws(() => checkWebhookTarget(new URL('http://LOCALHOST./'), false), { code: 'WEBHOOK_NOT_ALLOWED' });
    checkWebhookTarget(new URL('http://127.0.0.1/'), true);
    checkWebhookTarget(new URL('https://hooks.example.com/'), false);
  });

  describe('delivery agent', () => {
    let hook: http.Server;
    let port: number;
    let hits = 0;
    before(async () => {
      hook = http.createServer((_req, res) => { hits++; res.writeHead(204).end(); });
      await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
      port = (hook.address() as AddressInfo).port;
    });
    after(() => new Promise((r) => hook.close(r)));

    const post = (url: string, allowPrivate: boolean) => {
      const agent = webhookAgent(allowPrivate);
      return fetch(url, { method: 'POST', body: '{}', dispatcher: agent }).finally(() => agent.close());
    };
    const refusedWith = async (url: string, why: RegExp) => {
      await assert.rejects(post(url, false), (e: Error) => {
        assert.ok(e.cause instanceof RefusedTargetError, `cause: ${e.cause}`);
        assert.match((e.cause as Error).message, why);
        return true;
      });
    };

    it('checks the address a name resolves to before connecting (so a rebinding name gains nothing)', async () => {
      await refusedWith(`http://localhost:${port}/`, /localhost resolves to (127\.0\.0\.1|::1), a loopback address/);
      await refusedWith(`http://127.0.0.1:${port}/`, /127\.0\.0\.1 is a loopback address/);
      await refusedWith(`http://[::ffff:127.0.0.1]:${port}/`, /is a loopback address/);
      assert.equal(hits, 0, 'nothing reached the receiver');
    });

    it('delivers to this machine when private targets are allowed', async () => {
      assert.equal((await post(`http://127.0.0.1:${port}/`, true)).status, 204);
      assert.equal(hits, 1);
    });
  });
});
