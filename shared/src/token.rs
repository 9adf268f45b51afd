//! API token scopes (SPEC S3.4).

wire_enum! {
    /// What a personal API token may do on behalf of its user.
    pub enum TokenScope {
        /// Safe methods only (`GET`, `HEAD`).
        Read,
        /// Everything the user may do.
        ReadWrite,
    }
}

impl TokenScope {
    pub const fn wire_name(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::ReadWrite => "read_write",
        }
    }

    /// Whether a request with this HTTP method is within the scope.
    pub fn allows_method(self, method: &str) -> bool {
        match self {
            Self::ReadWrite => true,
            Self::Read => matches!(method, "GET" | "HEAD" | "OPTIONS"),
        }
    }
}
