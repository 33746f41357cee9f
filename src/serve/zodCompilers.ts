/**
 * How Fastify uses the zod schemas of `api.ts` (routes are typed by fastify-type-provider-zod's
 * `ZodTypeProvider`; these compilers are ours, for two reasons):
 *
 *   - validation: zod's own `safeParse`, failing with the CTXREC_ERR_REQUEST that names the field
 *     and the value received (the library's compiler reports `instancePath` strings and loses the
 *     value);
 *   - serialisation: the response schema converted once to JSON Schema and compiled by
 *     fast-json-stringify, as Fastify does by default. The library's serialiser runs zod over every
 *     answer and then `JSON.stringify`, on every request's path; answers are not re-validated here,
 *     `tsc` checks the handlers' return types against the same schemas.
 */
import fastJson from "fast-json-stringify";
import type { FastifySchemaCompiler, FastifySerializerCompiler } from "fastify";
import { z } from "zod";
import { requestIssueError } from "./httpErrors.ts";

/** Validates a request part (`body`, `querystring`…) with its zod schema. */
export const zodValidatorCompiler: FastifySchemaCompiler<z.ZodType> =
  ({ schema, httpPart }) =>
  (data) => {
    const r = schema.safeParse(data);
    return r.success
      ? { value: r.data }
      : { error: requestIssueError(r.error.issues[0], data, httpPart ?? "body") };
  };

/** Serialises an answer with fast-json-stringify compiled from the zod schema's JSON Schema. */
export const zodSerializerCompiler: FastifySerializerCompiler<z.ZodType> = ({ schema }) =>
  fastJson(z.toJSONSchema(schema, { target: "draft-7", io: "output", unrepresentable: "any" }) as object);
