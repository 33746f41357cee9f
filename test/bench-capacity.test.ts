/** The capacity arithmetic of bench:scale (bench/capacity.ts), checked by hand. */
import { describe, expect, it } from "vitest";
import { encodeCapacity, serveCapacity, storeCapacity } from "../bench/capacity.ts";

describe("capacity on paper", () => {
  it("encode: 100M users in 2 h, 10 min of it reserved", () => {
    // required = 1e8 / (7200 − 600) = 15,151.5 users/s; planned per core = 2000 × 0.9 × 0.7 = 1260;
    // cores = ceil(15,151.5 / 1260) = ceil(12.03) = 13; machines of 8 cores = ceil(13 / 8) = 2;
    // planned run = 600 + 1e8 / (2 · 8 · 1260) = 600 + 4960.3 = 5560.3 s.
    const c = encodeCapacity({
      users: 1e8,
      windowSeconds: 7200,
      reservedSeconds: 600,
      perCoreUsersPerSecond: 2000,
      scalingEfficiency: 0.9,
      utilisation: 0.7,
      coresPerMachine: 8,
    });
    expect(c.requiredUsersPerSecond).toBeCloseTo(15_151.52, 2);
    expect(c.plannedUsersPerSecondPerCore).toBeCloseTo(1260, 9);
    expect(c.cores).toBe(13);
    expect(c.machines).toBe(2);
    expect(c.plannedSeconds).toBeCloseTo(5560.32, 2);
    expect(c.plannedSeconds).toBeLessThan(7200);
  });

  it("encode: an exact fit needs no extra core", () => {
    // 7200 users in 1 s… at 3600 users/s/core: exactly 2 cores, 1 machine of 2.
    const c = encodeCapacity({
      users: 7200,
      windowSeconds: 1,
      reservedSeconds: 0,
      perCoreUsersPerSecond: 3600,
      scalingEfficiency: 1,
      utilisation: 1,
      coresPerMachine: 2,
    });
    expect([c.cores, c.machines, c.plannedSeconds]).toEqual([2, 1, 1]);
  });

  it("serve: 50k req/s", () => {
    // planned per replica = 1700 × 0.6 = 1020; replicas = ceil(50,000 / 1020) = ceil(49.02) = 50;
    // machines of 15 replicas = ceil(50 / 15) = 4.
    const s = serveCapacity({
      requestsPerSecond: 50_000,
      perReplicaRequestsPerSecond: 1700,
      utilisation: 0.6,
      replicasPerMachine: 15,
    });
    expect(s.plannedRequestsPerSecondPerReplica).toBeCloseTo(1020, 9);
    expect([s.replicas, s.machines]).toEqual([50, 4]);
  });

  it("store: the largest of memory, writes and reads decides", () => {
    // bytes = 1e8 · 500 · 2 = 1e11; memory: ceil(1e11 / 2.5e10) = 4; writes: ceil(13,889 / 5000) = 3;
    // reads: ceil(50,000 / 8000) = ceil(6.25) = 7 → 7 masters.
    const s = storeCapacity({
      users: 1e8,
      bytesPerUser: 500,
      versions: 2,
      bytesPerMaster: 2.5e10,
      writesPerSecond: 13_889,
      writesPerSecondPerMaster: 5000,
      readsPerSecond: 50_000,
      readsPerSecondPerMaster: 8000,
    });
    expect(s).toEqual({
      bytes: 1e11,
      mastersForMemory: 4,
      mastersForWrites: 3,
      mastersForReads: 7,
      masters: 7,
    });
  });

  it("refuses a share outside (0, 1] and a rate that is not positive", () => {
    const base = {
      users: 1,
      windowSeconds: 1,
      reservedSeconds: 0,
      perCoreUsersPerSecond: 1,
      scalingEfficiency: 1,
      utilisation: 1,
      coresPerMachine: 1,
    };
    expect(() => encodeCapacity({ ...base, utilisation: 1.5 })).toThrow(/utilisation/);
    expect(() => encodeCapacity({ ...base, perCoreUsersPerSecond: Number.NaN })).toThrow(/perCore/);
    expect(() => encodeCapacity({ ...base, reservedSeconds: 1 })).toThrow(/reservedSeconds/);
  });
});
