//! The `hubkeep` command: `serve` (default), `migrate`, `openapi`.

use clap::Parser;
use hubkeep_api::cli::{Cli, Command, SecretsCommand};
use hubkeep_api::config::Settings;
use hubkeep_api::startup::Application;
use hubkeep_api::telemetry;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Openapi) => {
            println!("{}", hubkeep_api::http::openapi::document_json());
            Ok(())
        }
        Some(Command::Migrate(args)) => {
            let settings = Settings::load(&args)?;
            telemetry::init(&settings.log);
            hubkeep_api::db::pool::migrate(&settings).await?;
            tracing::info!("database is up to date");
            Ok(())
        }
        Some(Command::Tenant(args)) => {
            let settings = Settings::load(&args.db.as_serve_args())?;
            telemetry::init(&settings.log);
            hubkeep_api::tenant::cli::run(&settings, args.command).await
        }
        Some(Command::Secrets(args)) => {
            let settings = Settings::load(&args.db.as_serve_args())?;
            telemetry::init(&settings.log);
            let SecretsCommand::RotateKey { json } = args.command;
            hubkeep_api::db::pool::migrate(&settings).await?;
            let db = hubkeep_api::db::pool::connect(&settings).await?;
            let done =
                hubkeep_api::db::rekey::rotate(&db, &settings.secrets, &settings.data_dir).await?;
            if json {
                println!("{}", serde_json::to_string(&done)?);
            } else {
                println!(
                    "{} stored secrets re-sealed under key {}; retired: {}",
                    done.resealed,
                    done.key_id,
                    done.retired.join(", ")
                );
            }
            Ok(())
        }
        Some(Command::Serve(args)) => serve(Settings::load(&args)?).await,
        None => serve(Settings::load(&cli.serve)?).await,
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    telemetry::init(&settings.log);
    let app = Application::build(settings).await?;
    // A plain line on stdout, so people and test harnesses see where to connect even with
    // JSON logs (a bind to port 0 picks the port here).
    println!("hubkeep listening on http://{}", app.address());
    if let Some(metrics) = app.metrics_address() {
        println!("hubkeep metrics on http://{metrics}/metrics");
    }
    app.run_until_stopped().await?;
    Ok(())
}
