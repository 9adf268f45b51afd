// The TypeScript client: openapi-fetch over the types openapi-typescript generates from
// openapi.json into generated/typescript/schema.d.ts (`just clients`; not committed).
// Versions are pinned in ../package.json.
import createClient from "openapi-fetch";
import type { components, paths } from "../generated/typescript/schema.js";

export type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];
export type ProblemCode = Schemas["ProblemCode"];

/** A client for one Hubkeep server, sending `token` (an API token `hk_…`) on every call. */
export function hubkeepClient(baseUrl: string, token: string) {
  return createClient<paths>({
    baseUrl,
    headers: { Authorization: `Bearer ${token}` },
  });
}

export type HubkeepClient = ReturnType<typeof hubkeepClient>;
