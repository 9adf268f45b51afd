//! The Access tab: PSA security levels and the saved elevated set (SPEC S2.1).

use crate::LevelFact;
use serde::{Deserialize, Serialize};

/// A PSA security level as the Access tab lists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecurityLevel {
    pub id: i64,
    pub name: String,
    pub is_active: bool,
    pub hub_menu: bool,
    pub qbo_extension_admin: bool,
    pub other_extensions_admin: bool,
    pub resource_impersonation: bool,
    pub eligible_for_access: bool,
    pub eligible_for_elevation: bool,
    /// What the level lacks for elevation (empty when eligible), so the console can say why
    /// it cannot be chosen.
    pub missing_for_elevation: Vec<LevelFact>,
    /// In the saved set.
    pub elevated: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecurityLevels {
    pub items: Vec<SecurityLevel>,
}

/// The saved set (`GET`/`PUT /api/v1/access/elevated-levels`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", schema(examples(json!({"level_ids": [1, 4]}))))]
pub struct ElevatedLevels {
    /// Security level ids; only levels eligible for elevation may be saved.
    pub level_ids: Vec<i64>,
}
