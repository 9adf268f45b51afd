//! The activity log (SPEC S7): read-only. No route updates or deletes an entry.

use actix_web::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use actix_web::{HttpResponse, get, web};
use futures::TryStreamExt as _;
use hubkeep_shared::HubAction;

use crate::AppState;
use crate::activity::query::{
    self as activity_query, ActivityEntry, ActivityExportQuery, ActivityQuery, ExportFormat, Reader,
};
use crate::error::ApiError;
use crate::identity::Caller;
use crate::pagination::Page;

/// List activity-log entries, newest first.
///
/// Elevated users see every entry of the tenant; limited users see their own entries and
/// those of connections they hold a role on. Filters combine with AND; `action` ending in
/// `.` matches a whole family (`user.`). Page with `next_cursor`.
#[utoipa::path(
    operation_id = "list_activity",
    tag = "activity",
    params(ActivityQuery),
    responses(
        (status = 200, description = "One page of entries", body = Page<ActivityEntry>),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[get("/activity")]
pub async fn list_activity(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ActivityQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(HubAction::ViewActivityLog)?;
    let page = activity_query::list(&state.db, reader(&caller), &query).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Export the activity log as CSV or NDJSON.
///
/// Every entry the caller may read (as `list_activity`) that matches the filters, newest
/// first, streamed as one file: CSV with a header row (`details` as JSON text; a cell a
/// spreadsheet would take for a formula starts with `'`), or NDJSON with one entry as
/// `get_activity` returns it per line. Bad filters are a 422 before any byte is sent; a
/// failure part-way breaks the download rather than end it early.
#[utoipa::path(
    operation_id = "export_activity",
    tag = "activity",
    params(ActivityExportQuery),
    responses(
        (status = 200, description = "The entries, as a file",
            content(
                (String = "text/csv"),
                (String = "application/x-ndjson"),
            ),
            headers(("Content-Disposition" = String, description = "attachment; filename=…"))),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[get("/activity/export")]
pub async fn export_activity(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ActivityExportQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(HubAction::ViewActivityLog)?;
    let format = query.format;
    let body = activity_query::export(state.reader.clone(), reader(&caller), &query)?
        .map_ok(web::Bytes::from);
    let extension = match format {
        ExportFormat::Csv => "csv",
        ExportFormat::Ndjson => "ndjson",
    };
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, format.media_type()))
        .insert_header((
            CONTENT_DISPOSITION,
            format!("attachment; filename=\"hubkeep-activity.{extension}\""),
        ))
        .streaming(body))
}

/// Read one activity-log entry.
///
/// Elevated users read any entry of the tenant; limited users only their own (404 otherwise, as
/// if it did not exist). The client address and user agent of other people's entries are shown
/// to elevated users only.
#[utoipa::path(
    operation_id = "get_activity",
    tag = "activity",
    params(("id" = String, Path, description = "Entry id")),
    responses(
        (status = 200, description = "The entry", body = ActivityEntry),
    ),
    security(("session" = []), ("api_token" = []))
)]
#[get("/activity/{id}")]
pub async fn get_activity(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(HubAction::ViewActivityLog)?;
    let entry = activity_query::get(&state.db, reader(&caller), &id).await?;
    Ok(HttpResponse::Ok().json(entry))
}

/// The caller as a reader of the log.
fn reader(caller: &Caller) -> Reader<'_> {
    Reader {
        tenant_id: &caller.tenant_id,
        user_id: &caller.user.id,
        access: caller.access_level(),
    }
}
