/**
 * Capacity on paper (issue #13 part 5), pure arithmetic from measured per-core rates: how many
 * machines encode U users within a window, and how many serve R req/s. Every input is named here
 * and printed beside the result by `bench:scale`, so each assumption can be read and changed.
 */

/** Inputs of `encodeCapacity`. */
export interface EncodeCapacityArgs {
  /** Users to encode per run, e.g. 1e8. */
  users: number;
  /** The run's time limit in seconds, e.g. 7200 (2 h). */
  windowSeconds: number;
  /** Seconds of the window kept for what does not scale with the users: start-up, the last shards. */
  reservedSeconds: number;
  /** Users/s of one worker process on one core (1 ORT thread), measured. */
  perCoreUsersPerSecond: number;
  /** Speed-up of n workers divided by n (1 = linear), in (0, 1]. */
  scalingEfficiency: number;
  /** Share of the measured rate planned for (headroom for a retried shard, a slow machine), in (0, 1]. */
  utilisation: number;
  /** Worker processes per machine (one per core). */
  coresPerMachine: number;
}

export interface EncodeCapacity {
  /** users / (windowSeconds − reservedSeconds). */
  requiredUsersPerSecond: number;
  /** Users/s one core is planned for: perCore × efficiency × utilisation. */
  plannedUsersPerSecondPerCore: number;
  /** ceil(required / planned per core). */
  cores: number;
  /** ceil(cores / coresPerMachine). */
  machines: number;
  /** Seconds the run takes on `machines` machines at the planned rate, reserve included. */
  plannedSeconds: number;
}

const positive = (x: number, what: string) => {
  if (!(Number.isFinite(x) && x > 0)) throw new RangeError(`${what} must be a positive number, got ${x}`);
};
const share = (x: number, what: string) => {
  if (!(x > 0 && x <= 1)) throw new RangeError(`${what} must be in (0, 1], got ${x}`);
};

export function encodeCapacity(a: EncodeCapacityArgs): EncodeCapacity {
  for (const k of ["users", "windowSeconds", "perCoreUsersPerSecond", "coresPerMachine"] as const)
    positive(a[k], k);
  share(a.scalingEfficiency, "scalingEfficiency");
  share(a.utilisation, "utilisation");
  if (!(a.reservedSeconds >= 0 && a.reservedSeconds < a.windowSeconds))
    throw new RangeError(`reservedSeconds must be in [0, windowSeconds), got ${a.reservedSeconds}`);
  const requiredUsersPerSecond = a.users / (a.windowSeconds - a.reservedSeconds);
  const plannedUsersPerSecondPerCore = a.perCoreUsersPerSecond * a.scalingEfficiency * a.utilisation;
  const cores = Math.ceil(requiredUsersPerSecond / plannedUsersPerSecondPerCore);
  const machines = Math.ceil(cores / a.coresPerMachine);
  const plannedSeconds =
    a.reservedSeconds + a.users / (machines * a.coresPerMachine * plannedUsersPerSecondPerCore);
  return { requiredUsersPerSecond, plannedUsersPerSecondPerCore, cores, machines, plannedSeconds };
}

/** Inputs of `serveCapacity`. */
export interface ServeCapacityArgs {
  /** Requests per second to serve, e.g. 50_000. */
  requestsPerSecond: number;
  /** Saturation req/s of one serving replica (one Node process ≈ one core), measured. */
  perReplicaRequestsPerSecond: number;
  /** Share of saturation planned for (tail latency grows near saturation), in (0, 1]. */
  utilisation: number;
  /** Replicas per machine (`serve --workers N`; one core each, one left to the OS and the network). */
  replicasPerMachine: number;
}

export interface ServeCapacity {
  plannedRequestsPerSecondPerReplica: number;
  replicas: number;
  machines: number;
}

export function serveCapacity(a: ServeCapacityArgs): ServeCapacity {
  for (const k of ["requestsPerSecond", "perReplicaRequestsPerSecond", "replicasPerMachine"] as const)
    positive(a[k], k);
  share(a.utilisation, "utilisation");
  const plannedRequestsPerSecondPerReplica = a.perReplicaRequestsPerSecond * a.utilisation;
  const replicas = Math.ceil(a.requestsPerSecond / plannedRequestsPerSecondPerReplica);
  return {
    plannedRequestsPerSecondPerReplica,
    replicas,
    machines: Math.ceil(replicas / a.replicasPerMachine),
  };
}

/** Inputs of `storeCapacity`: the Redis Cluster that holds the states. */
export interface StoreCapacityArgs {
  users: number;
  /** Server memory per user's state (key, hash, one record), measured. */
  bytesPerUser: number;
  /** Versions held at once (the active one and the one being filled: 2). */
  versions: number;
  /** Memory of one master given to data (leave room for fork on save, fragmentation). */
  bytesPerMaster: number;
  /** State writes per second the run needs (`EncodeCapacity.requiredUsersPerSecond`). */
  writesPerSecond: number;
  /** Users/s one master takes in putMany writes, measured. */
  writesPerSecondPerMaster: number;
  /** State reads per second (one `get` per request). */
  readsPerSecond: number;
  /** Reads/s one master answers. */
  readsPerSecondPerMaster: number;
}

export interface StoreCapacity {
  bytes: number;
  mastersForMemory: number;
  mastersForWrites: number;
  mastersForReads: number;
  /** The largest of the three. */
  masters: number;
}

export function storeCapacity(a: StoreCapacityArgs): StoreCapacity {
  for (const k of [
    "users",
    "bytesPerUser",
    "versions",
    "bytesPerMaster",
    "writesPerSecondPerMaster",
    "readsPerSecondPerMaster",
  ] as const)
    positive(a[k], k);
  const bytes = a.users * a.bytesPerUser * a.versions;
  const mastersForMemory = Math.ceil(bytes / a.bytesPerMaster);
  const mastersForWrites = Math.ceil(a.writesPerSecond / a.writesPerSecondPerMaster);
  const mastersForReads = Math.ceil(a.readsPerSecond / a.readsPerSecondPerMaster);
  return {
    bytes,
    mastersForMemory,
    mastersForWrites,
    mastersForReads,
    masters: Math.max(mastersForMemory, mastersForWrites, mastersForReads),
  };
}
