// Entry of a replica worker thread: TypeScript is loaded through tsx, as in bin/bettong.mjs.
import { register } from 'tsx/esm/api';

register();
await import('./replica-host.ts');
