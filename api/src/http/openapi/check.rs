//! The contract check: with `contract_check` on (the test suites turn it on), every answer
//! the server gives on a documented operation is compared with the document: the status
//! must be one the operation documents, and a problem's `code` one of those its error
//! responses list. What does not match is logged and kept, and the test that caused it
//! fails. This is what keeps the per-operation error codes of the document true.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use serde_json::Value;

use super::problems;

#[derive(Debug)]
struct Expected {
    operation_id: String,
    statuses: BTreeSet<u16>,
    codes: BTreeSet<&'static str>,
}

/// The documented answers of every operation, and the violations seen so far.
#[derive(Debug)]
pub struct Contract {
    operations: HashMap<(String, String), Expected>,
    violations: Mutex<Vec<String>>,
}

impl Contract {
    pub fn from_document(doc: &Value) -> Self {
        let mut operations = HashMap::new();
        for (method, path, op) in super::operations(doc) {
            let operation_id = op["operationId"].as_str().unwrap_or_default().to_owned();
            let statuses = op["responses"]
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(status, _)| status.parse().ok())
                .collect();
            let codes = problems::codes(&operation_id, super::shape(&method, op))
                .unwrap_or_default()
                .into_iter()
                .map(|c| c.as_str())
                .collect();
            operations.insert(
                (method, path),
                Expected {
                    operation_id,
                    statuses,
                    codes,
                },
            );
        }
        Self {
            operations,
            violations: Mutex::new(Vec::new()),
        }
    }

    /// Checks one answer. `pattern` is the route pattern that matched (`/api/v1/users/{id}`);
    /// `code` the problem code when the answer is a problem.
    pub fn check(&self, method: &str, pattern: &str, status: u16, code: Option<&str>) {
        let Some(expected) = self
            .operations
            .get(&(method.to_owned(), pattern.to_owned()))
        else {
            return;
        };
        let id = &expected.operation_id;
        let violation = if !expected.statuses.contains(&status) {
            Some(format!(
                "{id} ({method} {pattern}) answered {status} ({}), which it does not document",
                code.unwrap_or("no problem code")
            ))
        } else {
            code.filter(|c| !expected.codes.contains(c)).map(|c| {
                format!(
                    "{id} ({method} {pattern}) answered {status} `{c}`, which its error \
                     responses do not list (api/src/http/openapi/problems.rs)"
                )
            })
        };
        if let Some(violation) = violation {
            tracing::error!(%violation, "answer outside the documented contract");
            if let Ok(mut seen) = self.violations.lock() {
                seen.push(violation);
            }
        }
    }

    /// Every violation seen so far.
    pub fn violations(&self) -> Vec<String> {
        self.violations
            .lock()
            .map(|v| v.clone())
            .unwrap_or_default()
    }
}
