//! `hubkeep tenant …` (SPEC S10): the operator's provisioning commands.

use anyhow::{Context, bail};
use serde_json::json;

use crate::cli::{CreateTenantArgs, PsaKind, TenantCommand};
use crate::config::Settings;
use std::sync::Arc;

use crate::db::{self, Keyring};
use crate::psa::budget::PsaMetrics;
use crate::psa::directory::DirectoryPsa;
use crate::psa::registry::PsaRegistry;
use crate::psa::zone::ZonePolicy;
use crate::tenant::provision::{self, NewTenant, PsaChoice};

pub async fn run(settings: &Settings, command: TenantCommand) -> anyhow::Result<()> {
    db::pool::migrate(settings).await?;
    let db = db::pool::connect(settings).await?;
    let secrets = Arc::new(db::rekey::open_keyring(settings, &db).await?);
    match command {
        TenantCommand::Create(args) => create(settings, &db, &secrets, args).await,
        TenantCommand::List { json } => {
            let all = provision::list(&db).await?;
            if json {
                let items: Vec<_> = all
                    .iter()
                    .map(|t| {
                        json!({"id": t.id, "name": t.name, "psa_id": t.psa_id, "slug": t.slug,
                               "created_at": t.created_at, "demo": t.is_demo})
                    })
                    .collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({ "items": items }))?
                );
            } else {
                println!("{:<36}  {:<24}  NAME", "ID", "PSA ID");
                for t in all {
                    println!("{:<36}  {:<24}  {}", t.id, t.psa_id, t.name);
                }
            }
            Ok(())
        }
        TenantCommand::SetDirectory { id, file } => {
            let absolute = std::fs::canonicalize(&file)
                .with_context(|| format!("{} does not exist", file.display()))?;
            // Refuse a file the server could not use.
            DirectoryPsa::load(&absolute)?;
            let path = absolute.display().to_string();
            provision::set_directory(&db, &id, &path)
                .await?
                .with_context(|| format!("no tenant with id {id}"))?;
            println!("tenant {id} now reads people and security levels from {path}");
            Ok(())
        }
        TenantCommand::TestPsa { id, json } => test_psa(settings, &db, secrets, &id, json).await,
        TenantCommand::RotateLaunchSecret { id, json } => {
            let secret = provision::rotate_launch_secret(&db, &secrets, &id)
                .await?
                .with_context(|| format!("no tenant with id {id}"))?;
            if json {
                println!("{}", json!({ "id": id, "launch_secret": secret }));
            } else {
                println!("launch secret: {secret}");
                println!("(shown once: give it to the PSA-side launcher now)");
            }
            Ok(())
        }
    }
}

async fn create(
    settings: &Settings,
    db: &sea_orm::DatabaseConnection,
    secrets: &Keyring,
    args: CreateTenantArgs,
) -> anyhow::Result<()> {
    let psa = match args.psa {
        PsaKind::Directory => {
            if args.api_user.is_some() || args.secret.is_some() || args.zone_url.is_some() {
                bail!("--api-user, --secret and --zone-url are for --psa autotask");
            }
            let path = match args.directory {
                Some(path) => {
                    let absolute = std::fs::canonicalize(&path)
                        .with_context(|| format!("{} does not exist", path.display()))?;
                    // Refuse a file the server could not use.
                    DirectoryPsa::load(&absolute)?;
                    Some(absolute.display().to_string())
                }
                None => None,
            };
            PsaChoice::Directory { path }
        }
        PsaKind::Autotask => {
            if args.directory.is_some() {
                bail!("--directory is for --psa directory");
            }
            let zones =
                ZonePolicy::new(&settings.psa.extra_zone_hosts).map_err(anyhow::Error::msg)?;
            if let Some(zone) = &args.zone_url {
                zones
                    .rest_base(zone)
                    .map_err(|e| anyhow::anyhow!("--zone-url: {e}"))?;
            }
            PsaChoice::Autotask {
                zone_url: args.zone_url,
                api_user: args.api_user.context("--psa autotask needs --api-user")?,
                integration_code: args
                    .integration_code
                    .context("--psa autotask needs --integration-code")?,
                secret: args
                    .secret
                    .context("--psa autotask needs --secret (or HUBKEEP_AUTOTASK_SECRET)")?,
            }
        }
    };
    let created = provision::provision(
        db,
        secrets,
        NewTenant {
            name: args.name,
            psa_id: args.psa_id,
            slug: args.slug,
            psa,
            is_demo: false,
            session_lifetime_hours: settings.auth.session_lifetime_hours,
            elevated_levels: Vec::new(),
        },
    )
    .await?;
    if args.json {
        println!(
            "{}",
            json!({
                "id": created.tenant.id,
                "name": created.tenant.name,
                "psa_id": created.tenant.psa_id,
                "slug": created.tenant.slug,
                "launch_secret": created.launch_secret,
            })
        );
    } else {
        println!("tenant id:     {}", created.tenant.id);
        println!("psa id (iss):  {}", created.tenant.psa_id);
        println!("sign-in page:  /t/{}", created.tenant.slug);
        println!("launch secret: {}", created.launch_secret);
        println!("(the launch secret is shown once: give it to the PSA-side launcher now)");
    }
    Ok(())
}

/// `hubkeep tenant test-psa`: the same steps as `POST /api/v1/psa/test`, counted against the
/// tenant's budget like any other PSA call.
async fn test_psa(
    settings: &Settings,
    db: &sea_orm::DatabaseConnection,
    secrets: Arc<Keyring>,
    id: &str,
    json: bool,
) -> anyhow::Result<()> {
    let registry = PsaRegistry::new(
        settings.psa.clone(),
        Some(db.clone()),
        secrets,
        PsaMetrics::unregistered(),
    )?;
    provision::list(db)
        .await?
        .iter()
        .find(|t| t.id == id)
        .with_context(|| format!("no tenant with id {id}"))?;
    let report = crate::psa::registry::test_connection(&registry, db, id).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for step in &report.steps {
            let mark = if step.ok { "ok  " } else { "FAIL" };
            let reason = step
                .reason
                .map(|r| format!(" [{}]", r.as_str()))
                .unwrap_or_default();
            println!("{mark} {:<16} {}{reason}", step.step.label(), step.detail);
        }
    }
    if !report.ok {
        bail!("the PSA connection test failed");
    }
    Ok(())
}
