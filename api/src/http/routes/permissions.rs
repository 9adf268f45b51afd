//! The permission matrix as data (SPEC S8), so clients never re-derive it.

use actix_web::{HttpResponse, get};
use hubkeep_shared::PermissionMatrix;

/// The whole permission matrix.
///
/// Every hub action with the access levels that allow it, every connection action with the
/// roles and connection kinds that allow it, each kind's capabilities, and who may invite
/// to and remove each role. Computed from the same code that the API enforces with.
#[utoipa::path(
    operation_id = "get_permissions",
    tag = "permissions",
    responses((status = 200, description = "The permission matrix", body = PermissionMatrix)),
    security(())
)]
#[get("/permissions")]
pub async fn get_permissions() -> HttpResponse {
    HttpResponse::Ok().json(PermissionMatrix::current())
}
