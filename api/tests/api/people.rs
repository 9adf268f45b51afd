//! The people picker's search (SPEC S16, issue 22): `GET /api/v1/people?q=&limit=`, open to
//! elevated users and to inviters, on each backend.

use hubkeep_shared::api::{Items, PeopleQuery, Person, UserPatch};
use hubkeep_shared::{DirectoryFile, PsaResource};
use reqwest::Method;
use serde_json::Value;

use crate::client::Client;
use crate::helpers::{
    Backend, Session, TestApp, TestTenant, create_connection, error_fields, fixture_directory,
    grant, id, levels, people::*, spawn_app, team,
};
use crate::on_each_backend;

on_each_backend!(
    s16_people_a_business_admin_finds_people_by_part_of_the_name_or_the_email,
    s16_people_only_elevated_users_and_inviters_may_search,
    s16_people_deactivated_users_and_users_without_access_are_never_found,
    s16_people_percent_and_underscore_match_themselves,
    s16_people_q_and_limit_out_of_bounds_are_422_naming_the_field,
    s16_people_another_tenants_users_are_never_found,
);

/// Resource ids of the people this file adds to the fixture directory (all technicians:
/// limited hub access).
const UNA_UNDERSCORE: i64 = 600;
const SAM_SPACE: i64 = 601;
const PAT_PERCENT: i64 = 602;
const PIA_CENTRE: i64 = 603;
const LENA_NO_ROLE: i64 = 604;
const DEE_DEACTIVATED: i64 = 605;
const NORA_GONE: i64 = 606;

fn technician(id: i64, first: &str, last: &str, email: &str) -> PsaResource {
    PsaResource {
        id,
        first_name: first.into(),
        last_name: last.into(),
        email: email.into(),
        user_name: format!("{}{id}", first.to_lowercase()),
        is_active: true,
        security_level_id: levels::TECHNICIAN,
    }
}

/// The fixture directory and people whose names and emails hold LIKE's wildcards.
fn directory() -> DirectoryFile {
    let mut directory = fixture_directory();
    directory.resources.extend([
        technician(UNA_UNDERSCORE, "Una", "Score_Kid", "una_sk@people.test"),
        technician(SAM_SPACE, "Sam", "Score Kid", "sam.sk@people.test"),
        technician(PAT_PERCENT, "Pat", "Cent%Off", "pat.co@people.test"),
        technician(PIA_CENTRE, "Pia", "Centre Off", "pia.centre@people.test"),
        technician(LENA_NO_ROLE, "Lena", "Norole", "lena.norole@people.test"),
        technician(DEE_DEACTIVATED, "Dee", "Deactivated", "dee@people.test"),
        technician(NORA_GONE, "Nora", "Gone", "nora@people.test"),
    ]);
    directory
}

/// A tenant on [`directory`] where everyone has signed in: Ada (primary) and Bob elevated,
/// everyone else limited; Ada owns one connection and holds no other role.
struct Hub {
    tenant: TestTenant,
    ada: Session,
    bob: Session,
    tess: Session,
    tom: Session,
    una: Session,
    lena: Session,
    connection: String,
}

impl Hub {
    async fn build(app: &TestApp) -> Hub {
        let tenant = app.tenant_with_directory(&directory()).await;
        let ada = app.sign_in(&tenant, ADA_ADMIN).await;
        app.as_(&ada)
            .save_elevated_levels(&hubkeep_shared::api::ElevatedLevels {
                level_ids: vec![levels::FINANCE_MANAGER],
            })
            .await
            .expect(200)
            .await;
        let bob = app.sign_in(&tenant, BOB_FINANCE).await;
        assert_eq!(bob.user["access_level"], "elevated");
        let tess = app.sign_in(&tenant, TESS_TECH).await;
        let tom = app.sign_in(&tenant, TOM_TECH).await;
        let una = app.sign_in(&tenant, UNA_UNDERSCORE).await;
        let lena = app.sign_in(&tenant, LENA_NO_ROLE).await;
        for resource in [
            SAM_SPACE,
            PAT_PERCENT,
            PIA_CENTRE,
            DEE_DEACTIVATED,
            NORA_GONE,
        ] {
            app.sign_in(&tenant, resource).await;
        }
        let connection = create_connection(app, &ada, "Books", "autotask_xero").await;
        Hub {
            tenant,
            ada,
            bob,
            tess,
            tom,
            una,
            lena,
            connection,
        }
    }

    /// Gives `who` `role` on the hub's connection.
    async fn grant(&self, app: &TestApp, who: &Session, role: &str) {
        grant(app, &self.tenant, &self.connection, &id(who), role).await;
    }
}

fn search(q: &str) -> PeopleQuery {
    PeopleQuery::new(q)
}

/// The display names of a 200 answer, after checking that every person is exactly an id,
/// a display name and an email, and the answer exactly `items`.
async fn names(c: &Client<'_>, query: &PeopleQuery) -> Vec<String> {
    people(c, query)
        .await
        .iter()
        .map(|p| p["display_name"].as_str().unwrap().to_owned())
        .collect()
}

async fn people(c: &Client<'_>, query: &PeopleQuery) -> Vec<Value> {
    let body = c.search_people(query).await.expect_json(200).await;
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["items"], "{body}");
    let items = body["items"].as_array().unwrap().clone();
    for item in &items {
        let mut keys: Vec<&String> = item.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["display_name", "email", "id"], "{item}");
    }
    items
}

async fn s16_people_a_business_admin_finds_people_by_part_of_the_name_or_the_email(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let hub = Hub::build(&app).await;
    hub.grant(&app, &hub.tess, "business_admin").await;
    assert_eq!(hub.tess.user["access_level"], "limited");
    let entries = app.count("activity_log").await;
    let tess = app.as_(&hub.tess);

    // Part of the name, in any case and with surrounding spaces.
    let found = people(&tess, &search("  OB FIN ")).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["id"], id(&hub.bob));
    assert_eq!(found[0]["display_name"], "Bob Finance");
    assert_eq!(found[0]["email"], "bob.finance@example.test");
    // Part of the email only (the name has no dot).
    assert_eq!(names(&tess, &search("b.fin")).await, ["Bob Finance"]);
    assert_eq!(names(&tess, &search("@PEOPLE.te")).await.len(), 7);
    // Sorted by display name, then id; at most `limit`.
    let everyone = names(&tess, &search("example.test")).await;
    assert_eq!(
        everyone,
        ["Ada Admin", "Bob Finance", "Tess Tech", "Tom Tech"]
    );
    let first_two = PeopleQuery {
        limit: Some(2),
        ..search("example.test")
    };
    assert_eq!(names(&tess, &first_two).await, ["Ada Admin", "Bob Finance"]);
    assert!(names(&tess, &search("nobody-has-this")).await.is_empty());

    // The typed answer decodes as the shared types.
    let typed: Items<Person> = tess.search_people(&search("tess")).await.ok().await;
    assert_eq!(typed.items.len(), 1);
    assert_eq!(typed.items[0].id.as_str(), id(&hub.tess));
    // Reads write nothing to the activity log.
    assert_eq!(app.count("activity_log").await, entries);

    // A `read` API token acts as its user.
    let token = app.create_token(&hub.tess.access_token, "read").await;
    let entries = app.count("activity_log").await;
    assert_eq!(
        names(&app.with_token(&token), &search("b.fin")).await,
        ["Bob Finance"]
    );
    assert_eq!(app.count("activity_log").await, entries);
}

/// Asserts `who` is refused the search as a limited user without a role that invites, and
/// that the refusal names no one.
async fn refused(c: &Client<'_>, q: &PeopleQuery) {
    let problem = c
        .search_people(q)
        .await
        .problem(403, "elevated_access_required")
        .await;
    let text = problem.to_string();
    assert!(
        !text.contains("Tess") && !text.contains("Tom Tech"),
        "{text}"
    );
}

async fn s16_people_only_elevated_users_and_inviters_may_search(backend: Backend) {
    let app = spawn_app(backend).await;
    let hub = Hub::build(&app).await;
    // SPEC S5.1: an IT admin invites IT admins and read-only users; read-only invites no one.
    assert!(hubkeep_shared::can_invite(
        &[hubkeep_shared::ConnectionRole::ItAdmin],
        hubkeep_shared::ConnectionRole::ReadOnly
    ));
    hub.grant(&app, &hub.tess, "business_admin").await;
    hub.grant(&app, &hub.una, "it_admin").await;
    hub.grant(&app, &hub.tom, "read_only").await;
    // Read-only on a second connection as well: still no one to invite.
    let other = create_connection(&app, &hub.ada, "Payroll", "autotask_xero").await;
    grant(&app, &hub.tenant, &other, &id(&hub.tom), "read_only").await;

    let q = search("tech");
    let both = ["Tess Tech", "Tom Tech"];
    // The owner, a business admin, an IT admin; an elevated user with no role at all.
    for who in [&hub.ada, &hub.tess, &hub.una, &hub.bob] {
        assert_eq!(
            names(&app.as_(who), &q).await,
            both,
            "{}",
            who.user["display_name"]
        );
    }
    // Limited users who may invite no one: read-only only, and no role at all.
    refused(&app.as_(&hub.tom), &q).await;
    refused(&app.as_(&hub.lena), &q).await;
    // API tokens act as their user: a read-only member's token is refused too…
    let tom_token = app.create_token(&hub.tom.access_token, "read").await;
    refused(&app.with_token(&tom_token), &q).await;
    // …and an IT admin's token may search.
    let una_token = app.create_token(&hub.una.access_token, "read_write").await;
    assert_eq!(names(&app.with_token(&una_token), &q).await, both);
    // Without credentials: 401.
    app.anonymous()
        .search_people(&q)
        .await
        .problem(401, "unauthenticated")
        .await;
    // A role granted later counts at once (nothing is cached with the session).
    hub.grant(&app, &hub.lena, "it_admin").await;
    assert_eq!(names(&app.as_(&hub.lena), &q).await, both);
}

async fn s16_people_deactivated_users_and_users_without_access_are_never_found(backend: Backend) {
    let app = spawn_app(backend).await;
    let hub = Hub::build(&app).await;
    let bob = app.as_(&hub.bob);
    assert_eq!(names(&bob, &search("dee@")).await, ["Dee Deactivated"]);
    assert_eq!(names(&bob, &search("nora")).await, ["Nora Gone"]);

    // Deactivated in the hub.
    let dee = app
        .scalar_text(&format!(
            "SELECT id FROM users WHERE psa_resource_id = {DEE_DEACTIVATED} AND tenant_id = '{}'",
            hub.tenant.id
        ))
        .await;
    app.as_(&hub.ada)
        .update_user(
            &dee,
            &UserPatch {
                active: Some(false),
                elevation: None,
            },
        )
        .await
        .expect(200)
        .await;
    // Still active in the hub, but the PSA made her resource inactive: access `none`.
    hub.tenant.edit_directory(|d| {
        for r in &mut d.resources {
            if r.id == NORA_GONE {
                r.is_active = false;
            }
        }
    });
    app.as_(&hub.ada).refresh_users().await.expect(200).await;
    let nora_row = format!(
        "SELECT COUNT(*) FROM users WHERE psa_resource_id = {NORA_GONE} AND active = TRUE \
         AND access_rank = 0 AND tenant_id = '{}'",
        hub.tenant.id
    );
    assert_eq!(
        app.scalar(&nora_row).await,
        1,
        "Nora is active with access none"
    );

    assert!(names(&bob, &search("dee@")).await.is_empty());
    assert!(names(&bob, &search("deactivated")).await.is_empty());
    assert!(names(&bob, &search("nora")).await.is_empty());
    assert_eq!(
        names(&bob, &search("people.test")).await,
        [
            "Lena Norole",
            "Pat Cent%Off",
            "Pia Centre Off",
            "Sam Score Kid",
            "Una Score_Kid"
        ]
    );

    // Rows as sign-ins write them: every third seeded user is on a level that gives no
    // access (stored access `none`, yet active).
    app.seed_users(&hub.tenant.id, 30).await;
    let all = PeopleQuery {
        limit: Some(PeopleQuery::MAX_LIMIT),
        ..search("seed.test")
    };
    let seeded = people(&bob, &all).await;
    assert_eq!(seeded.len(), 20, "the 20 seeded users with access");
    let none: Vec<String> = (0..30)
        .filter(|i| i % 3 == 2)
        .map(|i| format!("seed-{i:08}"))
        .collect();
    for person in &seeded {
        assert!(!none.contains(&person["id"].as_str().unwrap().to_owned()));
    }
    // Sorted by display name (case-insensitively), then id.
    let mut sorted = seeded.clone();
    sorted.sort_by_key(|p| {
        (
            p["display_name"].as_str().unwrap().to_lowercase(),
            p["id"].as_str().unwrap().to_owned(),
        )
    });
    assert_eq!(seeded, sorted);
    // The default limit is 10: the first 10 of the same order.
    let first = people(&bob, &search("seed.test")).await;
    assert_eq!(
        first.len(),
        usize::try_from(PeopleQuery::DEFAULT_LIMIT).unwrap()
    );
    assert_eq!(first[..], seeded[..10]);
}

async fn s16_people_percent_and_underscore_match_themselves(backend: Backend) {
    let app = spawn_app(backend).await;
    let hub = Hub::build(&app).await;
    let bob = app.as_(&hub.bob);
    assert_eq!(
        names(&bob, &search("score")).await,
        ["Sam Score Kid", "Una Score_Kid"]
    );
    // As wildcards these would also match "Score Kid", "sam.sk@", "Centre Off", "Tom".
    assert_eq!(names(&bob, &search("e_k")).await, ["Una Score_Kid"]);
    assert_eq!(names(&bob, &search("_sk@")).await, ["Una Score_Kid"]);
    assert_eq!(names(&bob, &search("t%o")).await, ["Pat Cent%Off"]);
    assert!(names(&bob, &search("%%")).await.is_empty());
    assert!(names(&bob, &search("__")).await.is_empty());
    assert!(names(&bob, &search("a\\b")).await.is_empty());
}

async fn s16_people_q_and_limit_out_of_bounds_are_422_naming_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, _, bob, _) = team(&app).await;
    let bob = app.as_(&bob);
    for (what, query, field) in [
        ("q of 1 character", search("a"), "q"),
        ("q of 1 character once trimmed", search("  a  "), "q"),
        ("q of spaces", search("    "), "q"),
        ("q of 101 characters", search(&"x".repeat(101)), "q"),
        ("q of 101 characters é", search(&"é".repeat(101)), "q"),
        ("q with a NUL", search("a\u{0}b"), "q"),
        (
            "limit 0",
            PeopleQuery {
                limit: Some(0),
                ..search("ad")
            },
            "limit",
        ),
        (
            "limit 21",
            PeopleQuery {
                limit: Some(21),
                ..search("ad")
            },
            "limit",
        ),
    ] {
        let problem = bob
            .search_people(&query)
            .await
            .problem(422, "validation_failed")
            .await;
        assert_eq!(error_fields(&problem), [field], "{what}: {problem}");
    }
    // The bounds themselves are fine; 100 characters inside surrounding spaces too.
    for query in [
        search("ad"),
        search(&"x".repeat(100)),
        search(&format!("  {}  ", "é".repeat(100))),
        PeopleQuery {
            limit: Some(1),
            ..search("ad")
        },
        PeopleQuery {
            limit: Some(20),
            ..search("ad")
        },
    ] {
        bob.search_people(&query).await.expect_json(200).await;
    }
    // What the query type cannot hold.
    for bad in [
        "",
        "?limit=5",
        "?q=ad&limit=x",
        "?q=ad&limit=-1",
        "?q=ad&role=owner",
        "?q=ad&cursor=x",
    ] {
        let res = bob
            .raw(Method::GET, &format!("/api/v1/people{bad}"), None)
            .await;
        assert_eq!(res.status(), 422, "{bad}");
    }
}

async fn s16_people_another_tenants_users_are_never_found(backend: Backend) {
    let app = spawn_app(backend).await;
    let hub = Hub::build(&app).await;
    // Tenant B has the same directory: the same names and emails.
    let other = app.tenant_with_directory(&directory()).await;
    let eve = app.sign_in(&other, ADA_ADMIN).await;
    let b_tess = app.sign_in(&other, TESS_TECH).await;
    let b_una = app.sign_in(&other, UNA_UNDERSCORE).await;
    let b_connection = create_connection(&app, &eve, "B books", "autotask_xero").await;
    grant(&app, &other, &b_connection, &id(&b_una), "it_admin").await;
    hub.grant(&app, &hub.tess, "business_admin").await;

    let ids = |found: Vec<Value>| -> Vec<String> {
        found
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let a_ids = vec![id(&hub.tess)];
    let b_ids = vec![id(&b_tess)];
    for who in [&hub.bob, &hub.tess] {
        assert_eq!(ids(people(&app.as_(who), &search("tess")).await), a_ids);
    }
    for who in [&eve, &b_una] {
        assert_eq!(ids(people(&app.as_(who), &search("tess")).await), b_ids);
    }
    // Everyone tenant A's search can find is of tenant A.
    let wide = PeopleQuery {
        limit: Some(20),
        ..search(".test")
    };
    let found = ids(people(&app.as_(&hub.tess), &wide).await);
    assert!(!found.is_empty());
    for user in &found {
        let tenant = app
            .scalar_text(&format!("SELECT tenant_id FROM users WHERE id = '{user}'"))
            .await;
        assert_eq!(tenant, hub.tenant.id);
    }
    // B's inviter holds no role in A; a role in B does not open A (nor the other way).
    assert!(!found.contains(&id(&b_una)) && !found.contains(&id(&eve)));
}
