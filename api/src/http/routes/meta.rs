//! The OpenAPI document itself.

use actix_web::{HttpResponse, get, web};

/// The OpenAPI 3.1 document of this API.
///
/// The same document is committed at `openapi/openapi.json`; client generators read it.
#[utoipa::path(
    operation_id = "get_openapi",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json")),
    security(())
)]
#[get("/openapi.json")]
pub async fn get_openapi(doc: web::Data<Served>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(doc.json.clone())
}

/// The document as the server holds it, serialized once.
#[derive(Debug)]
pub struct Served {
    pub json: String,
}

impl Served {
    pub fn from_document(doc: &serde_json::Value) -> Self {
        Self {
            json: serde_json::to_string(doc).unwrap_or_default(),
        }
    }
}
