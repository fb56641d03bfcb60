// Entry of the inference log's writer thread: TypeScript is loaded through tsx, as in bin/bettong.mjs.
import { register } from 'tsx/esm/api';

register();
await import('./write-host.ts');
