/** A records request body: the JSON text parsed, then its rows and metadata found. */
import sjson from 'secure-json-parse';
import { fail } from '../errors/index.ts';

export interface RecordsBody { rows: unknown[]; metadata: Record<string, unknown> }

/**
 * An array of rows, or {"records": [...], "metadata": {...}}. Parsed as Fastify parses JSON
 * bodies (a `__proto__` or `constructor.prototype` key is refused), so both paths agree.
 */
export function parseRecordsBody(bytes: Buffer): RecordsBody {
  let body: unknown;
  try {
    let text = bytes.toString('utf8');
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    // The poisoning check's regular expressions cost more than the parse's tenth on a large body; they can
    // only match text holding one of these, which three plain searches rule out.
    const suspect = text.includes('__proto__') || text.includes('constructor') || text.includes('\\u');
    body = suspect ? sjson.parse(text, { protoAction: 'error', constructorAction: 'error' }) : JSON.parse(text);
  } catch (e) {
    return fail('INVALID_JSON', `request body is not valid JSON: ${(e as Error).message}`);
  }
  return recordsOf(body);
}

function recordsOf(body: unknown): RecordsBody {
  const object = body !== null && typeof body === 'object' && !Array.isArray(body) ? body as { records?: unknown; metadata?: unknown } : undefined;
  const rows = Array.isArray(body) ? body : object?.records;
  if (!Array.isArray(rows)) fail('INVALID_REQUEST', 'body must be an array of records or {"records": [...]}');
  const metadata = object?.metadata && typeof object.metadata === 'object' ? object.metadata as Record<string, unknown> : {};
  return { rows: rows as unknown[], metadata };
}
