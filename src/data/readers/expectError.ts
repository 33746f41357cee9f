/** Test helper: awaits a promise that must reject with a CtxrecError of `code` and exactly `message`. */
import { expect } from "vitest";
import { CtxrecError, type ErrorCode } from "../../core/errors.ts";

export async function expectError(p: Promise<unknown>, code: ErrorCode, message: string): Promise<void> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  expect(caught, "expected a rejection").toBeInstanceOf(CtxrecError);
  const e = caught as CtxrecError;
  expect({ code: e.code, message: e.message }).toEqual({ code, message });
}
