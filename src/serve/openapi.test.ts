/**
 * The OpenAPI description: the spec the server serves is the committed docs/openapi.json, byte for
 * byte, and the one `ctxrec openapi` generates without a model; it lists every route the app has,
 * and every error answer is the shared Error component whose codes are the error registry's.
 */
import { readFileSync } from "node:fs";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_CODES } from "../core/errors.ts";
import { formatOpenapi, OPENAPI_COMMAND, OPENAPI_FILE, openapiDocument } from "./openapi.ts";
import { buildServer } from "./server.ts";
import type { BundleHandle } from "./swap.ts";
import { fixtureBundles, makeServeFixture, type ServeFixture } from "./testBundle.ts";

let fx: ServeFixture;
let bundles: BundleHandle;
let app: FastifyInstance;
/** `METHOD url` of every route the server registers (HEAD twins of GET routes left out). */
const routes: string[] = [];

beforeAll(async () => {
  fx = await makeServeFixture(4);
  bundles = await fixtureBundles(fx);
  app = buildServer(bundles); // the default --max-k, as the committed file states
  app.addHook("onRoute", (r) => {
    for (const m of [r.method].flat()) if (m !== "HEAD") routes.push(`${m} ${r.url}`);
  });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await bundles?.closeAll();
  fx?.cleanup();
});

interface Doc {
  openapi: string;
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content: Record<string, { schema: unknown }> }> }>
  >;
  components: { schemas: Record<string, { properties: Record<string, { enum?: string[] }> }> };
}

const served = async () => {
  const r = await app.inject({ method: "GET", url: "/openapi.json" });
  expect(r.statusCode).toBe(200);
  expect(r.headers["content-type"]).toMatch(/^application\/json/);
  return r.body;
};

describe("GET /openapi.json", () => {
  it(`is the committed ${OPENAPI_FILE}`, async () => {
    const committed = readFileSync(new URL(`../../${OPENAPI_FILE}`, import.meta.url), "utf8");
    const text = await served();
    // One message that says what to do, rather than a diff of an 800-line document.
    expect(
      text === committed,
      `${OPENAPI_FILE} is out of date with the server's routes and schemas: regenerate it with \`${OPENAPI_COMMAND}\` and commit it`,
    ).toBe(true);
  });

  it("is what `ctxrec openapi` generates without a model", async () => {
    expect(formatOpenapi(await openapiDocument())).toBe(await served());
  });

  it("is OpenAPI 3.1 and describes every route of the server", async () => {
    const doc = JSON.parse(await served()) as Doc;
    expect(doc.openapi).toBe("3.1.0");
    const described = Object.entries(doc.paths).flatMap(([url, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${url}`),
    );
    expect(described.sort()).toEqual([...routes].sort());
    expect(routes).toHaveLength(5);
  });

  it("documents every error answer as the shared Error component with the registry's codes", async () => {
    const doc = JSON.parse(await served()) as Doc;
    const detail = doc.components.schemas.ErrorDetail;
    expect(detail.properties.code.enum).toEqual(Object.keys(ERROR_CODES));
    expect(doc.components.schemas.Error.properties.error).toEqual({
      $ref: "#/components/schemas/ErrorDetail",
    });
    let errors = 0;
    for (const [url, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        for (const [status, answer] of Object.entries(op.responses)) {
          if (Number(status) < 400 || (url === "/healthz" && status === "503")) continue;
          expect(answer.content["application/json"].schema, `${method} ${url} ${status}`).toEqual({
            $ref: "#/components/schemas/Error",
          });
          errors++;
        }
      }
    }
    expect(errors).toBeGreaterThanOrEqual(20);
  });

  it("states the server's k bound", async () => {
    const small = buildServer(bundles, { maxK: 50 });
    const doc = (await small.inject({ method: "GET", url: "/openapi.json" })).json<{
      paths: {
        "/v1/candidates": { post: { requestBody: { content: Record<string, { schema: unknown }> } } };
      };
    }>();
    await small.close();
    const body = doc.paths["/v1/candidates"].post.requestBody.content["application/json"].schema as {
      properties: { k: { maximum: number } };
    };
    expect(body.properties.k.maximum).toBe(50);
  });
});
