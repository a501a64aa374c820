import { ClusterError } from '../../errors.js';

/** A connect failure that retrying cannot fix (wrong host key, rejected credentials, unreadable key). */
export class FatalConnectError extends ClusterError {}
