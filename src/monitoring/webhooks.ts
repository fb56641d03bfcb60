/**
 * Where alert webhooks may point. By default only public unicast addresses: a webhook to a
 * private, loopback or link-local address (the cloud metadata service at 169.254.169.254, a
 * database on 10.0.0.5) would let anyone who may create an assay probe the server's network.
 * Literal addresses are refused when the assay is created; names are checked on every delivery
 * against the address they resolve to, and the connection goes to that checked address, so a
 * name that changes its answer between the two (DNS rebinding) gains nothing.
 */
import dns from 'node:dns';
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import { Agent, buildConnector } from 'undici';
import { fail } from '../errors/index.ts';

const ALLOW_HINT = 'private, loopback and link-local webhook targets need --allow-private-webhooks';

/** ipaddr.js's name for the range an address is in ('unicast' for public ones), IPv4-mapped IPv6 as IPv4. */
export function addressRange(address: string): string {
  return ipaddr.process(address.replace(/^\[|\]$/g, '')).range();
}

export const isPublicAddress = (address: string): boolean => addressRange(address) === 'unicast';

/** The URL host as an address when it is a literal one ([::1] without brackets), else undefined. */
function literalAddress(hostname: string): string | undefined {
  const host = hostname.replace(/^\[|\]$/g, '');
  return net.isIP(host) ? host : undefined;
}

/** Names that always mean this machine (RFC 6761). */
const isLocalName = (hostname: string) => /^(localhost|.*\.localhost)\.?$/i.test(hostname);

/** Why a literal address is refused; undefined for a public one or a name (checked once resolved). */
function literalRefusal(hostname: string): string | undefined {
  const literal = literalAddress(hostname);
  if (literal === undefined) return undefined;
  const range = addressRange(literal);
  return range === 'unicast' ? undefined : `${literal} is a ${range} address`;
}

/** At assay creation: WEBHOOK_NOT_ALLOWED for a literal non-public address or a localhost name. */
export function checkWebhookTarget(url: URL, allowPrivate: boolean): void {
  if (allowPrivate) return;
  const why = literalRefusal(url.hostname) ?? (isLocalName(url.hostname) ? `${url.hostname} is this machine` : undefined);
  if (why) fail('WEBHOOK_NOT_ALLOWED', `'alert.webhook' is refused: ${why}; ${ALLOW_HINT}`);
}

/** A delivery refused because of where it would connect; not worth retrying. */
export class RefusedTargetError extends Error {
  constructor(why: string) {
    super(`webhook target refused: ${why}; ${ALLOW_HINT}`);
    this.name = 'RefusedTargetError';
  }
}

/** Resolves like the system does, but fails when any address the name has is not public. */
const checkedLookup: net.LookupFunction = (hostname, options, callback) => {
  dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '', 0);
    const bad = addresses.find((a) => !isPublicAddress(a.address));
    if (bad) return callback(new RefusedTargetError(`${hostname} resolves to ${bad.address}, a ${addressRange(bad.address)} address`), '', 0);
    if (options.all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, addresses);
    return callback(null, addresses[0].address, addresses[0].family);
  });
};

/**
 * The HTTP agent deliveries go through: every connection (redirects included) is checked, literal
 * addresses before connecting and names at resolution; with `allowPrivate`, a plain agent.
 */
export function webhookAgent(allowPrivate: boolean): Agent {
  if (allowPrivate) return new Agent();
  const connect = buildConnector({ lookup: checkedLookup });
  return new Agent({
    connect(opts, callback) {
      const why = literalRefusal(opts.hostname);
      if (why) return callback(new RefusedTargetError(why), null);
      return connect(opts, callback);
    },
  });
}
