// Entry of a codec thread: TypeScript is loaded through tsx, as in bin/bettong.mjs.
import { register } from 'tsx/esm/api';

register();
await import('./threads-host.ts');
