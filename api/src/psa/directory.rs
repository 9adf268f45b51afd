//! The `directory` PSA provider (SPEC S3.1): security levels and resources read from a TOML
//! file instead of a live PSA.
//!
//! Demos and small offline installs have no Autotask to ask, yet sign-in, eligibility and the
//! Access/Users tabs must behave exactly as they would against one. This provider answers the
//! same [`PsaDirectory`] questions from a [`DirectoryFile`] held in memory, so everything above
//! the trait cannot tell the difference. The embedded sample (`config/demo-directory.toml`)
//! is what [`DirectoryPsa::demo`] serves.

use std::path::Path;

use super::{
    DirectoryFile, PsaDirectory, PsaError, PsaResource, PsaSecurityLevel, PsaTestReport,
    PsaTestStep, Report,
};

/// The sample directory shipped with Hubkeep, embedded so a demo needs no file on disk.
const DEMO_DIRECTORY: &str = include_str!("../../../config/demo-directory.toml");

/// A PSA backed by a directory file, validated once when it is built.
///
/// The data never changes after construction: a file edit takes effect when the provider is
/// built again (at startup), which is what an offline install expects.
#[derive(Debug, Clone)]
pub struct DirectoryPsa {
    levels: Vec<PsaSecurityLevel>,
    resources: Vec<PsaResource>,
}

impl DirectoryPsa {
    /// Builds the provider from an already parsed file, refusing one with duplicate ids or
    /// emails or dangling level references: such a file would make sign-in ambiguous, and
    /// it is better to fail at startup than to pick one of two people at random.
    pub fn from_file(file: DirectoryFile) -> Result<Self, PsaError> {
        let problems = file.problems();
        if !problems.is_empty() {
            let list = problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            return Err(PsaError::Config(format!(
                "the directory file has {} problem(s): {list}",
                problems.len()
            )));
        }
        Ok(Self {
            levels: file.security_levels,
            resources: file.resources,
        })
    }

    /// Reads and validates a directory file from disk; every failure names the path so an
    /// operator can fix the right file.
    pub fn load(path: &Path) -> Result<Self, PsaError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            PsaError::Config(format!(
                "cannot read the directory file {}: {e}",
                path.display()
            ))
        })?;
        Self::parse(&text).map_err(|e| match e {
            PsaError::Config(message) => PsaError::Config(format!("{}: {message}", path.display())),
            other => other,
        })
    }

    /// The embedded Northwind IT sample directory, for demos and tests.
    pub fn demo() -> Result<Self, PsaError> {
        Self::parse(DEMO_DIRECTORY)
            .map_err(|e| PsaError::Config(format!("the embedded demo directory: {e}")))
    }

    /// Parses TOML text in the [`DirectoryFile`] format and validates it.
    pub fn parse(text: &str) -> Result<Self, PsaError> {
        let file: DirectoryFile = toml::from_str(text)
            .map_err(|e| PsaError::Config(format!("not a valid directory file: {e}")))?;
        Self::from_file(file)
    }

    /// Every resource, in file order: demo mode lists them as sign-in identities, and the
    /// first one is the demo's primary user.
    pub fn resources(&self) -> &[PsaResource] {
        &self.resources
    }

    /// Every security level, in file order.
    pub fn levels(&self) -> &[PsaSecurityLevel] {
        &self.levels
    }
}

#[async_trait::async_trait]
impl PsaDirectory for DirectoryPsa {
    async fn security_levels(&self) -> Result<Vec<PsaSecurityLevel>, PsaError> {
        Ok(self.levels.clone())
    }

    async fn resources(&self) -> Result<Vec<PsaResource>, PsaError> {
        Ok(self.resources().to_vec())
    }

    async fn resource(&self, id: i64) -> Result<Option<PsaResource>, PsaError> {
        Ok(self.resources.iter().find(|r| r.id == id).cloned())
    }

    async fn resources_by_ids(&self, ids: &[i64]) -> Result<Vec<PsaResource>, PsaError> {
        let wanted: std::collections::HashSet<i64> = ids.iter().copied().collect();
        Ok(self
            .resources
            .iter()
            .filter(|r| wanted.contains(&r.id))
            .cloned()
            .collect())
    }

    async fn resources_by_email(&self, email: &str) -> Result<Vec<PsaResource>, PsaError> {
        let wanted = email.trim();
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self
            .resources
            .iter()
            .filter(|r| same_email(&r.email, wanted))
            .cloned()
            .collect())
    }

    /// A directory file has no zone or credentials: the file was read and checked when the
    /// provider was built, so only what it lists is reported.
    async fn test(&self) -> PsaTestReport {
        let mut report = Report::default();
        report.pass(
            PsaTestStep::Resources,
            format!(
                "The directory file lists {} resource(s).",
                self.resources.len()
            ),
        );
        report.pass(
            PsaTestStep::SecurityLevels,
            format!(
                "The directory file lists {} security level(s).",
                self.levels.len()
            ),
        );
        report.finish()
    }
}

/// Emails are compared trimmed and case-insensitively (folding non-ASCII letters too, for the
/// rare internationalised address), because people type them however they like.
fn same_email(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(id: i64, facts: [bool; 5]) -> PsaSecurityLevel {
        PsaSecurityLevel {
            id,
            name: format!("Level {id}"),
            is_active: facts[0],
            hub_menu: facts[1],
            qbo_extension_admin: facts[2],
            other_extensions_admin: facts[3],
            resource_impersonation: facts[4],
        }
    }

    fn resource(id: i64, email: &str, level: i64) -> PsaResource {
        PsaResource {
            id,
            first_name: "Test".into(),
            last_name: format!("Person {id}"),
            email: email.into(),
            user_name: format!("user{id}"),
            is_active: true,
            security_level_id: level,
        }
    }

    fn small() -> DirectoryPsa {
        DirectoryPsa::from_file(DirectoryFile {
            security_levels: vec![level(1, [true; 5]), level(2, [false; 5])],
            resources: vec![
                resource(10, "Alice@Example.com", 1),
                resource(11, "  bob@example.com ", 2),
                resource(12, "", 2),
            ],
        })
        .expect("valid directory")
    }

    // long: one assertion per eligibility case of SPEC S2 the demo directory must cover, read
    // top to bottom as a checklist.
    #[test]
    fn demo_directory_is_valid_and_covers_every_eligibility_case() {
        let demo = DirectoryPsa::demo().expect("the embedded demo directory is valid");
        let levels = demo.levels();
        let resources = demo.resources();
        assert!(levels.len() >= 8, "only {} levels", levels.len());
        assert!(resources.len() >= 40, "only {} resources", resources.len());

        let facts = |l: &PsaSecurityLevel| l.facts();
        let eligible_for_elevation = levels
            .iter()
            .filter(|l| facts(l).eligible_for_elevation())
            .count();
        assert!(
            eligible_for_elevation >= 2,
            "two levels eligible for elevation"
        );

        let access_only = |pred: &dyn Fn(&PsaSecurityLevel) -> bool| {
            levels.iter().any(|l| {
                facts(l).eligible_for_access() && !facts(l).eligible_for_elevation() && pred(l)
            })
        };
        assert!(
            access_only(&|l| !l.qbo_extension_admin
                && l.other_extensions_admin
                && l.resource_impersonation),
            "access, missing only qbo_extension_admin"
        );
        assert!(
            access_only(&|l| l.qbo_extension_admin
                && !l.other_extensions_admin
                && l.resource_impersonation),
            "access, missing only other_extensions_admin"
        );
        assert!(
            access_only(&|l| l.qbo_extension_admin
                && l.other_extensions_admin
                && !l.resource_impersonation),
            "access, missing only resource_impersonation"
        );
        assert!(
            levels.iter().any(|l| l.is_active
                && !l.hub_menu
                && l.qbo_extension_admin
                && l.other_extensions_admin
                && l.resource_impersonation),
            "an admin level without the hub menu"
        );
        assert!(
            levels.iter().any(|l| !l.is_active
                && l.hub_menu
                && l.qbo_extension_admin
                && l.other_extensions_admin
                && l.resource_impersonation),
            "an inactive level with every other fact"
        );
        assert!(
            levels.iter().any(|l| l.is_active
                && !l.hub_menu
                && !l.qbo_extension_admin
                && !l.other_extensions_admin
                && !l.resource_impersonation),
            "a plain level with nothing"
        );

        let level_of = |r: &PsaResource| {
            levels
                .iter()
                .find(|l| l.id == r.security_level_id)
                .expect("validated: every resource's level exists")
        };
        assert!(
            resources.iter().filter(|r| !r.is_active).count() >= 3,
            "several inactive resources"
        );
        assert!(
            resources
                .iter()
                .filter(|r| r.is_active && !level_of(r).is_active)
                .count()
                >= 2,
            "several active resources on an inactive level"
        );
        for l in levels.iter().filter(|l| facts(l).eligible_for_access()) {
            assert!(
                resources
                    .iter()
                    .any(|r| r.is_active && r.security_level_id == l.id),
                "level {} has someone who can sign in",
                l.name
            );
        }

        let first = resources.first().expect("at least one resource");
        assert!(first.is_active, "the demo's primary user is active");
        assert!(
            facts(level_of(first)).eligible_for_elevation(),
            "the demo's primary user is eligible for elevation"
        );
        for r in resources {
            assert!(!r.email.trim().is_empty(), "resource {} has an email", r.id);
            assert!(
                !r.user_name.trim().is_empty(),
                "resource {} has a user name",
                r.id
            );
        }
    }

    #[tokio::test]
    async fn demo_answers_through_the_trait() {
        let demo = DirectoryPsa::demo().expect("valid demo");
        let psa: &dyn PsaDirectory = &demo;
        assert_eq!(
            psa.security_levels().await.expect("levels").len(),
            demo.levels().len()
        );
        let first = demo.resources()[0].clone();
        assert_eq!(
            psa.resource(first.id).await.expect("lookup"),
            Some(first.clone())
        );
        let shouted = format!("  {}  ", first.email.to_uppercase());
        assert_eq!(
            psa.resources_by_email(&shouted).await.expect("lookup"),
            vec![first]
        );
    }

    #[tokio::test]
    async fn resource_by_id() {
        let psa = small();
        assert_eq!(
            psa.resource(10).await.expect("lookup").map(|r| r.id),
            Some(10)
        );
        assert_eq!(psa.resource(99).await.expect("lookup"), None);
    }

    #[tokio::test]
    async fn resource_by_email_trims_and_ignores_case() {
        let psa = small();
        let by = |e: &'static str| {
            let psa = psa.clone();
            async move {
                psa.resources_by_email(e)
                    .await
                    .expect("lookup")
                    .first()
                    .map(|r| r.id)
            }
        };
        assert_eq!(by("alice@example.com").await, Some(10));
        assert_eq!(by(" ALICE@EXAMPLE.COM\t").await, Some(10));
        assert_eq!(by("Bob@Example.com").await, Some(11));
        assert_eq!(by("carol@example.com").await, None);
        assert_eq!(
            by("").await,
            None,
            "a blank email never matches a blank one"
        );
        assert_eq!(by("   ").await, None);
    }

    #[tokio::test]
    async fn levels_are_returned_in_file_order() {
        let psa = small();
        let ids: Vec<i64> = psa
            .security_levels()
            .await
            .expect("levels")
            .iter()
            .map(|l| l.id)
            .collect();
        assert_eq!(ids, [1, 2]);
    }

    #[test]
    fn from_file_refuses_an_invalid_directory() {
        let err = DirectoryPsa::from_file(DirectoryFile {
            security_levels: vec![level(1, [true; 5]), level(1, [true; 5])],
            resources: vec![
                resource(10, "a@example.com", 1),
                resource(10, "A@example.com", 7),
            ],
        })
        .expect_err("invalid");
        let PsaError::Config(message) = err else {
            panic!("expected a Config error, got {err:?}");
        };
        assert!(
            message.contains("security level id 1 appears twice"),
            "{message}"
        );
        assert!(
            message.contains("resource id 10 appears twice"),
            "{message}"
        );
        assert!(message.contains("a@example.com"), "{message}");
        assert!(message.contains("security level 7"), "{message}");
    }

    #[test]
    fn load_reads_a_file_and_names_it_in_errors() {
        let dir = tempfile::tempdir().expect("temp dir");
        let good = dir.path().join("good.toml");
        std::fs::write(
            &good,
            "[[security_levels]]\nid = 1\nname = \"Admin\"\nis_active = true\nhub_menu = true\n\
             qbo_extension_admin = true\nother_extensions_admin = true\nresource_impersonation = true\n\
             [[resources]]\nid = 5\nfirst_name = \"A\"\nlast_name = \"B\"\nemail = \"a@b.example\"\n\
             user_name = \"ab\"\nis_active = true\nsecurity_level_id = 1\n",
        )
        .expect("write");
        let psa = DirectoryPsa::load(&good).expect("valid file");
        assert_eq!(psa.levels().len(), 1);
        assert_eq!(psa.resources().len(), 1);

        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, "[[resources]]\nid = \"not a number\"\n").expect("write");
        let PsaError::Config(message) = DirectoryPsa::load(&bad).expect_err("invalid") else {
            panic!("expected a Config error");
        };
        assert!(message.contains("bad.toml"), "{message}");

        let unknown_field = dir.path().join("typo.toml");
        std::fs::write(
            &unknown_field,
            "[[security_levels]]\nid = 1\nnmae = \"x\"\n",
        )
        .expect("write");
        assert!(matches!(
            DirectoryPsa::load(&unknown_field),
            Err(PsaError::Config(_))
        ));

        let dangling = dir.path().join("dangling.toml");
        std::fs::write(
            &dangling,
            "[[resources]]\nid = 5\nfirst_name = \"A\"\nlast_name = \"B\"\nemail = \"a@b.example\"\n\
             user_name = \"ab\"\nis_active = true\nsecurity_level_id = 1\n",
        )
        .expect("write");
        let PsaError::Config(message) = DirectoryPsa::load(&dangling).expect_err("invalid") else {
            panic!("expected a Config error");
        };
        assert!(
            message.contains("dangling.toml") && message.contains("security level 1"),
            "{message}"
        );

        let missing = dir.path().join("missing.toml");
        let PsaError::Config(message) = DirectoryPsa::load(&missing).expect_err("missing") else {
            panic!("expected a Config error");
        };
        assert!(message.contains("missing.toml"), "{message}");
    }
}
