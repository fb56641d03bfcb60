/** Many servers on one database as one platform: the change poller and leases (see README "Many servers"). */
export { type Claim, Leases } from './leases.ts';
export { ClusterSync, type SyncOptions } from './sync.ts';
