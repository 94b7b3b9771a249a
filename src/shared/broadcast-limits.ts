/** Clients named in one broadcast (assignments, evaluators, signatures). A leaf module: strategies need it too. */
export const MAX_BROADCAST_CLIENTS = 1024;
