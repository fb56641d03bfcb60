/**
 * Schema validation per request part: query strings, path params and headers are text on the
 * wire, so Ajv may coerce them to the schema's types ("5" → 5); JSON bodies already carry their
 * types and are never coerced. Coercing a body would turn 0, false and "" into null in an
 * `anyOf` whose first branch is null, and accept 10561 where a name (a string) is required.
 */
import { AjvCompiler } from '@fastify/ajv-compiler';
import type { FastifyServerOptions } from 'fastify';

const ajvFor = AjvCompiler();
type AjvOptions = { customOptions?: Record<string, unknown>; plugins?: unknown[] };

/** Fastify's schemaController option: one Ajv that coerces for every part but the body, one that never does. */
export const schemaController: FastifyServerOptions['schemaController'] = {
  compilersFactory: {
    buildValidator(externalSchemas, given) {
      const ajvOptions = (given ?? {}) as AjvOptions;
      const options = (coerceTypes: boolean) => ({
        ...ajvOptions, plugins: ajvOptions.plugins ?? [], customOptions: { ...ajvOptions.customOptions, removeAdditional: false, coerceTypes },
      }) as Parameters<typeof ajvFor>[1];
      const coercing = ajvFor(externalSchemas, options(true));
      const exact = ajvFor(externalSchemas, options(false));
      return (route) => (route.httpPart === 'body' ? exact(route) : coercing(route));
    },
  },
};
