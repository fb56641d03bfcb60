/**
 * Installs the OpenTelemetry SDK (NodeSDK): spans exported over OTLP as the standard OTEL_*
 * variables say (endpoint, protocol, headers, service name, sampler, batch delays), W3C
 * traceparent propagation, AsyncLocalStorage context. Imported only when tracing is asked for,
 * so a server without OTEL_* settings never loads the SDK.
 */
import { NodeSDK } from '@opentelemetry/sdk-node';
import { markTracingEnabled } from './tracing.ts';

let sdk: NodeSDK | undefined;

export function startTracing(): void {
  if (sdk) return;
  process.env.OTEL_SERVICE_NAME ??= 'bettong';
  // No automatic instrumentation: the server makes its own spans at fixed points of a request.
  sdk = new NodeSDK({ instrumentations: [] });
  sdk.start();
  markTracingEnabled();
}

/** Exports the spans still buffered (at shutdown). */
export async function stopTracing(): Promise<void> {
  await sdk?.shutdown();
  sdk = undefined;
}
