// A script author's session with Hubkeep, using only the generated TypeScript client
// (openapi-typescript types + openapi-fetch, see openapi/typescript/client.mts).
//
// Run by `e2e/tests/clients.rs` against the real binary, with HUBKEEP_URL and HUBKEEP_TOKEN
// (a `read_write` API token of an elevated user) in the environment; type-checked first with
// `tsc`. Every step checks what came back; any surprise throws and the process exits
// non-zero. The last line printed is a JSON summary the Rust test checks against the API.
import { hubkeepClient, type Problem, type ProblemCode } from "../../openapi/typescript/client.mts";

function check(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Error(what);
}

/** The answer is a typed problem with this status and code. */
function expectProblem(
  answer: { error?: Problem; response: Response },
  status: number,
  code: ProblemCode,
): Problem {
  const { error, response } = answer;
  check(response.status === status, `expected ${status}, got ${response.status}`);
  check(error !== undefined, "a problem body");
  check(error.code === code, `expected \`${code}\`, got \`${error.code}\``);
  check(error.status === status, "the body's status matches");
  check(response.headers.get("content-type") === "application/problem+json", "problem+json");
  return error;
}

const api = hubkeepClient(process.env.HUBKEEP_URL!, process.env.HUBKEEP_TOKEN!);

const me = await api.GET("/api/v1/me");
check(me.data !== undefined, `get_me: ${me.response.status}`);
check(me.data.access_level === "elevated", "the token's user is elevated");
const myId = me.data.user.id;

// Users sorted by last access, most recent first (SPEC S2.2).
const page = await api.GET("/api/v1/users", {
  params: { query: { sort: "last_accessed", order: "desc", limit: 200 } },
});
check(page.data !== undefined, `list_users: ${page.response.status}`);
const rows = page.data.items;
check(rows.length >= 3, `at least three users, got ${rows.length}`);
const stamps = rows.map((row) => Date.parse(row.user.last_accessed_at));
check(
  stamps.every((t, i) => i === 0 || stamps[i - 1] >= t),
  "sorted by last access, newest first",
);

// Deactivate and reactivate someone the rules allow (G1-G3 give the row's actions).
const target = rows.find((row) => row.actions.includes("deactivate") && row.user.id !== myId)?.user;
check(target !== undefined, "someone to deactivate");
const off = await api.PATCH("/api/v1/users/{id}", {
  params: { path: { id: target.id } },
  body: { active: false },
});
check(off.data?.active === false, `deactivated: ${off.response.status}`);
const on = await api.PATCH("/api/v1/users/{id}", {
  params: { path: { id: target.id } },
  body: { active: true },
});
check(on.data?.active === true, `active again: ${on.response.status}`);

// G1: an elevated user cannot deactivate themselves; the error is typed.
expectProblem(
  await api.PATCH("/api/v1/users/{id}", { params: { path: { id: myId } }, body: { active: false } }),
  403,
  "self_deactivation_forbidden",
);

// The Access tab: save the elevated set without one level (not mine), then restore it.
const saved = await api.GET("/api/v1/access/elevated-levels");
check(saved.data !== undefined, `get_elevated_levels: ${saved.response.status}`);
const original = saved.data.level_ids;
const levels = await api.GET("/api/v1/security-levels");
check(levels.data !== undefined, `list_security_levels: ${levels.response.status}`);
const mine = me.data.user.security_level.id;
const other = original.find((id) => id !== mine);
check(other !== undefined, "the set holds a level besides mine");
const shrunk = await api.PUT("/api/v1/access/elevated-levels", {
  body: { level_ids: original.filter((id) => id !== other) },
});
check(shrunk.data?.level_ids.includes(other) === false, `the set shrank: ${shrunk.response.status}`);
const restored = await api.PUT("/api/v1/access/elevated-levels", { body: { level_ids: original } });
check(
  JSON.stringify([...(restored.data?.level_ids ?? [])].sort()) === JSON.stringify([...original].sort()),
  "the set is back",
);
const ineligible = levels.data.items.find((l) => !l.eligible_for_elevation);
check(ineligible !== undefined, "a level not eligible for elevation exists");
expectProblem(
  await api.PUT("/api/v1/access/elevated-levels", { body: { level_ids: [...original, ineligible.id] } }),
  422,
  "level_not_eligible",
);

// A connection, owned by the token's user, and an invitation to it.
const name = `Script books ${crypto.randomUUID().slice(0, 8)}`;
const created = await api.POST("/api/v1/connections", {
  body: { name, kind: "xero_power_bi" },
});
check(created.response.status === 201 && created.data !== undefined, `created: ${created.response.status}`);
const connection = created.data;
check(connection.name === name && connection.my_roles.includes("owner"), "I own it");
const invited = await api.POST("/api/v1/connections/{id}/invitations", {
  params: { path: { id: connection.id } },
  body: { user_id: target.id, role: "read_only" },
});
check(invited.response.status === 201 && invited.data !== undefined, `invited: ${invited.response.status}`);
check(invited.data.status === "pending", "pending");

// Unknown ids are typed 404s.
expectProblem(
  await api.GET("/api/v1/connections/{id}", { params: { path: { id: "no-such-connection" } } }),
  404,
  "not_found",
);

// The activity log shows what this script did, as this token.
const log = await api.GET("/api/v1/activity", {
  params: { query: { actor_user_id: myId, limit: 200 } },
});
check(log.data !== undefined, `list_activity: ${log.response.status}`);
const seen = new Set(log.data.items.map((e) => `${e.action} ${e.target.id ?? ""}`));
for (const [action, id] of [
  ["user.deactivated", target.id],
  ["user.activated", target.id],
  ["connection.created", connection.id],
]) {
  check(seen.has(`${action} ${id}`), `${action} on ${id} is logged`);
}
check(
  log.data.items.some((e) => e.action === "access.elevated_levels_saved"),
  "the Access tab save is logged",
);
check(
  log.data.items.slice(0, 5).every((e) => e.actor.kind === "api_token"),
  "entries name the API token",
);

console.log(
  JSON.stringify({
    client: "typescript",
    connection_id: connection.id,
    invitation_id: invited.data.id,
    target_user_id: target.id,
    users_listed: rows.length,
  }),
);
