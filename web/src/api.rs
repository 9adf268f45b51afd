//! A typed client for the Hubkeep API. Every call returns `Result<T, ClientError>`; API errors
//! arrive as RFC 9457 problems and keep their stable `code`.

use gloo_net::http::{Request, Response};
use hubkeep_shared::{PermissionMatrix, Problem};
use serde::de::DeserializeOwned;

/// Why a call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    /// The API answered with a problem.
    #[error("{}", .0.detail)]
    Problem(Problem),
    /// No answer (network down, server stopped).
    #[error("The server could not be reached: {0}")]
    Network(String),
    /// An answer this console does not understand.
    #[error("Unexpected answer from the server: {0}")]
    Decode(String),
}

async fn decode<T: DeserializeOwned>(resp: Response) -> Result<T, ClientError> {
    if resp.ok() {
        return resp
            .json::<T>()
            .await
            .map_err(|e| ClientError::Decode(e.to_string()));
    }
    let status = resp.status();
    match resp.json::<Problem>().await {
        Ok(problem) => Err(ClientError::Problem(problem)),
        Err(_) => Err(ClientError::Decode(format!("HTTP {status}"))),
    }
}

async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ClientError> {
    let resp = Request::get(path)
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| ClientError::Network(e.to_string()))?;
    decode(resp).await
}

/// `GET /api/v1/permissions`
pub async fn get_permissions() -> Result<PermissionMatrix, ClientError> {
    get("/api/v1/permissions").await
}
