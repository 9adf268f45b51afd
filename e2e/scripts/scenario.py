"""A script author's session with Hubkeep, using only the generated Python client.

Run by `e2e/tests/clients.rs` against the real binary, with HUBKEEP_URL and HUBKEEP_TOKEN (a
`read_write` API token of an elevated user) in the environment. Every step checks what came
back; any surprise raises and the process exits non-zero. The last line printed is a JSON
summary the Rust test checks against the API.
"""

import json
import os
import sys
import uuid

from hubkeep_client import AuthenticatedClient
from hubkeep_client.api.access import (
    get_elevated_levels,
    list_security_levels,
    save_elevated_levels,
)
from hubkeep_client.api.activity import list_activity
from hubkeep_client.api.connections import (
    create_connection,
    create_invitation,
    get_connection,
)
from hubkeep_client.api.me import get_me
from hubkeep_client.api.users import list_users, update_user
from hubkeep_client.models import (
    Connection,
    ConnectionKind,
    ConnectionRole,
    ElevatedLevels,
    Invitation,
    InvitationStatus,
    Me,
    NewConnection,
    NewInvitation,
    PageActivityEntry,
    PageUserListItem,
    Problem,
    ProblemCode,
    SortOrder,
    UserAction,
    UpdatedUser,
    UserPatch,
    UserSort,
)


def check(condition: bool, what: str) -> None:
    if not condition:
        raise AssertionError(what)


def expect_problem(response, status: int, code: ProblemCode) -> Problem:
    """The answer is a typed problem with this status and code."""
    check(response.status_code == status, f"expected {status}, got {response.status_code}: {response.content!r}")
    problem = response.parsed
    check(isinstance(problem, Problem), f"expected a Problem, got {type(problem).__name__}")
    check(problem.code == code, f"expected `{code.value}`, got `{problem.code}`")
    check(problem.status == status, "the body's status matches")
    check(response.headers["content-type"] == "application/problem+json", "problem+json")
    return problem


def main() -> None:
    client = AuthenticatedClient(
        base_url=os.environ["HUBKEEP_URL"],
        token=os.environ["HUBKEEP_TOKEN"],
        raise_on_unexpected_status=True,
    )

    me = get_me.sync(client=client)
    check(isinstance(me, Me), "get_me answers Me")
    check(me.access_level.value == "elevated", "the token's user is elevated")
    my_id = me.user.id

    # Users sorted by last access, most recent first (SPEC S2.2).
    page = list_users.sync(client=client, sort=UserSort.LAST_ACCESSED, order=SortOrder.DESC, limit=200)
    check(isinstance(page, PageUserListItem), "list_users answers a page")
    check(len(page.items) >= 3, f"at least three users, got {len(page.items)}")
    stamps = [row.user.last_accessed_at for row in page.items]
    check(stamps == sorted(stamps, reverse=True), "sorted by last access, newest first")

    # Deactivate and reactivate someone the rules allow (G1-G3 give the row's actions).
    target = next(
        row.user
        for row in page.items
        if UserAction.DEACTIVATE in row.actions and row.user.id != my_id
    )
    off = update_user.sync_detailed(target.id, client=client, body=UserPatch(active=False))
    check(off.status_code == 200, f"deactivated: {off.status_code} {off.content!r}")
    check(isinstance(off.parsed, UpdatedUser) and off.parsed.active is False, "now inactive")
    on = update_user.sync_detailed(target.id, client=client, body=UserPatch(active=True))
    check(on.status_code == 200 and on.parsed.active is True, "active again")

    # G1: an elevated user cannot deactivate themselves; the error is typed.
    g1 = update_user.sync_detailed(my_id, client=client, body=UserPatch(active=False))
    expect_problem(g1, 403, ProblemCode.SELF_DEACTIVATION_FORBIDDEN)

    # The Access tab: save the elevated set without one level (not mine), then restore it.
    saved = get_elevated_levels.sync(client=client)
    check(isinstance(saved, ElevatedLevels), "get_elevated_levels answers the set")
    levels = list_security_levels.sync(client=client).items
    mine = me.user.security_level.id
    other = next((level for level in saved.level_ids if level != mine), None)
    check(other is not None, "the set holds a level besides mine")
    shrunk = save_elevated_levels.sync(
        client=client, body=ElevatedLevels(level_ids=[lvl for lvl in saved.level_ids if lvl != other])
    )
    check(isinstance(shrunk, ElevatedLevels) and other not in shrunk.level_ids, "the set shrank")
    restored = save_elevated_levels.sync(client=client, body=ElevatedLevels(level_ids=saved.level_ids))
    check(sorted(restored.level_ids) == sorted(saved.level_ids), "the set is back")
    ineligible = next(lvl.id for lvl in levels if not lvl.eligible_for_elevation)
    refused = save_elevated_levels.sync_detailed(
        client=client, body=ElevatedLevels(level_ids=saved.level_ids + [ineligible])
    )
    expect_problem(refused, 422, ProblemCode.LEVEL_NOT_ELIGIBLE)

    # A connection, owned by the token's user, and an invitation to it.
    name = f"Script books {uuid.uuid4().hex[:8]}"
    created = create_connection.sync_detailed(
        client=client, body=NewConnection(name=name, kind=ConnectionKind.AUTOTASK_QUICKBOOKS)
    )
    check(created.status_code == 201, f"created: {created.status_code} {created.content!r}")
    connection = created.parsed
    check(isinstance(connection, Connection), "a Connection")
    check(connection.name == name and ConnectionRole.OWNER in connection.my_roles, "I own it")
    invited = create_invitation.sync_detailed(
        connection.id, client=client, body=NewInvitation(user_id=target.id, role=ConnectionRole.READ_ONLY)
    )
    check(invited.status_code == 201, f"invited: {invited.status_code} {invited.content!r}")
    invitation = invited.parsed
    check(isinstance(invitation, Invitation) and invitation.status == InvitationStatus.PENDING, "pending")

    # Unknown ids are typed 404s.
    expect_problem(get_connection.sync_detailed("no-such-connection", client=client), 404, ProblemCode.NOT_FOUND)

    # The activity log shows what this script did, as this token.
    log = list_activity.sync(client=client, actor_user_id=my_id, limit=200)
    check(isinstance(log, PageActivityEntry), "list_activity answers a page")
    seen = {(e.action, e.target.id) for e in log.items}
    for action, target_id in [
        ("user.deactivated", target.id),
        ("user.activated", target.id),
        ("connection.created", connection.id),
    ]:
        check((action, target_id) in seen, f"{action} on {target_id} is logged")
    check(
        any(e.action == "access.elevated_levels_saved" for e in log.items),
        "the Access tab save is logged",
    )
    check(all(e.actor.kind.value == "api_token" for e in log.items[:5]), "entries name the API token")

    print(
        json.dumps(
            {
                "client": "python",
                "connection_id": connection.id,
                "invitation_id": invitation.id,
                "target_user_id": target.id,
                "users_listed": len(page.items),
            }
        )
    )


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # noqa: BLE001 - report any failure as the exit status
        print(f"scenario failed: {error!r}", file=sys.stderr)
        raise
