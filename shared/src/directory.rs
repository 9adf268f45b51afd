//! The PSA's view of people and roles (SPEC S1), and the TOML format of the `directory`
//! provider, which the Autotask simulator reads too.
//!
//! ```toml
//! [[security_levels]]
//! id = 1
//! name = "Administrator"
//! is_active = true
//! hub_menu = true
//! qbo_extension_admin = true
//! other_extensions_admin = true
//! resource_impersonation = true
//!
//! [[resources]]
//! id = 29682885
//! first_name = "Ada"
//! last_name = "Lovelace"
//! email = "ada@example.com"
//! user_name = "alovelace"
//! is_active = true
//! security_level_id = 1
//! ```

use serde::{Deserialize, Serialize};

use crate::access::LevelFacts;

/// A PSA security level: its id, name and the facts the hub reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PsaSecurityLevel {
    pub id: i64,
    pub name: String,
    pub is_active: bool,
    pub hub_menu: bool,
    pub qbo_extension_admin: bool,
    pub other_extensions_admin: bool,
    pub resource_impersonation: bool,
}

impl PsaSecurityLevel {
    pub const fn facts(&self) -> LevelFacts {
        LevelFacts {
            is_active: self.is_active,
            hub_menu: self.hub_menu,
            qbo_extension_admin: self.qbo_extension_admin,
            other_extensions_admin: self.other_extensions_admin,
            resource_impersonation: self.resource_impersonation,
        }
    }
}

/// A PSA user ("resource").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PsaResource {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub user_name: String,
    pub is_active: bool,
    pub security_level_id: i64,
}

impl PsaResource {
    /// "First Last", or the user name when both are blank.
    pub fn display_name(&self) -> String {
        let name = format!("{} {}", self.first_name.trim(), self.last_name.trim());
        let name = name.trim();
        if name.is_empty() {
            self.user_name.clone()
        } else {
            name.to_owned()
        }
    }
}

/// The whole directory file: security levels and resources.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryFile {
    #[serde(default)]
    pub security_levels: Vec<PsaSecurityLevel>,
    #[serde(default)]
    pub resources: Vec<PsaResource>,
}

/// What is wrong with a directory file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectoryProblem {
    DuplicateLevelId(i64),
    DuplicateResourceId(i64),
    DuplicateEmail(String),
    UnknownLevel { resource_id: i64, level_id: i64 },
}

impl std::fmt::Display for DirectoryProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::DuplicateLevelId(id) => write!(f, "security level id {id} appears twice"),
            Self::DuplicateResourceId(id) => write!(f, "resource id {id} appears twice"),
            Self::DuplicateEmail(email) => write!(f, "email {email} belongs to two resources"),
            Self::UnknownLevel {
                resource_id,
                level_id,
            } => write!(
                f,
                "resource {resource_id} names security level {level_id}, which is not listed"
            ),
        }
    }
}

impl DirectoryFile {
    /// Checks ids and emails are unique (emails case-insensitively) and every resource's
    /// level exists.
    pub fn problems(&self) -> Vec<DirectoryProblem> {
        let mut problems = Vec::new();
        let mut levels = std::collections::BTreeSet::new();
        for level in &self.security_levels {
            if !levels.insert(level.id) {
                problems.push(DirectoryProblem::DuplicateLevelId(level.id));
            }
        }
        let mut ids = std::collections::BTreeSet::new();
        let mut emails = std::collections::BTreeSet::new();
        for resource in &self.resources {
            if !ids.insert(resource.id) {
                problems.push(DirectoryProblem::DuplicateResourceId(resource.id));
            }
            let email = resource.email.trim().to_lowercase();
            if !email.is_empty() && !emails.insert(email.clone()) {
                problems.push(DirectoryProblem::DuplicateEmail(email));
            }
            if !levels.contains(&resource.security_level_id) {
                problems.push(DirectoryProblem::UnknownLevel {
                    resource_id: resource.id,
                    level_id: resource.security_level_id,
                });
            }
        }
        problems
    }
}
