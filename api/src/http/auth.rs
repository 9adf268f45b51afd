//! The extractors of authenticated handlers: [`Caller`] (a person or their script, SPEC S3)
//! and [`EngineCaller`] (the sync engine, SPEC S4). They read the `Authorization` header and
//! hand it to [`crate::identity`], which decides.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header::AUTHORIZATION, web};

use super::extractors::request_meta;
use crate::AppState;
use crate::error::ApiError;
use crate::identity::{Caller, caller, engine, engine::EngineCaller};

/// The state every handler shares; registered by `startup`.
fn state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("AppState is not registered")))
}

/// The `Authorization` header's value, when it is text.
fn authorization(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = state(&req)?;
            let method = req.method().as_str().to_owned();
            caller::authenticate(
                &state,
                authorization(&req).as_deref(),
                &method,
                request_meta(&req),
            )
            .await
        })
    }
}

impl FromRequest for EngineCaller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = state(&req)?;
            engine::authenticate(&state, authorization(&req).as_deref(), request_meta(&req)).await
        })
    }
}
