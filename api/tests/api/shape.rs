//! SPEC S17, the shape of `api/src`, checked on its source with `syn`:
//!
//! - only `http/` (and `main.rs`, `startup.rs`) may name actix-web or its companions: the
//!   services below the HTTP edge are plain functions over a transaction;
//! - no module imports from a module that imports it back, and the feature folders
//!   (`identity`, `access`, `connections`, `tenant`, `psa`, `activity`, `http`, …) depend on
//!   each other without a cycle. The crate root (`lib.rs`, which declares the modules and the
//!   shared `AppState`) is the composition root and is not a node of the graph;
//! - no function is longer than 80 lines unless a `// long: <why>` comment stands right above
//!   it (its attributes and doc comment may sit between);
//! - a write's transaction is begun by its HTTP handler: below `http/`, only the services
//!   listed in [`SELF_TRANSACTING`] (each with its reason) call `.begin()`.
//!
//! An import is a `use` item or a path written out in code (`crate::…`, `super::…`,
//! `self::…`, or a child module's name in a `use`); it points at the longest module prefix it
//! names. `mod x;` declarations are not imports.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

const ACTIX_CRATES: [&str; 6] = [
    "actix_web",
    "actix_files",
    "actix_web_prom",
    "utoipa_actix_web",
    "tracing_actix_web",
    "utoipa_swagger_ui",
];
const MAX_FN_LINES: usize = 80;

struct Module {
    /// `connections::guard`; empty for the crate root.
    path: Vec<String>,
    /// Whether the file is the module's directory file (`mod.rs`, `lib.rs`, `main.rs`).
    is_dir_file: bool,
    file: PathBuf,
    source: String,
    ast: syn::File,
}

fn modules() -> Vec<Module> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    collect(&root, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|file| {
            let rel = file.strip_prefix(&root).expect("under src");
            let mut path: Vec<String> = rel
                .with_extension("")
                .iter()
                .map(|s| s.to_string_lossy().into_owned())
                .collect();
            let last = path.last().cloned().unwrap_or_default();
            let is_dir_file = matches!(last.as_str(), "mod" | "lib" | "main");
            if is_dir_file {
                path.pop();
            }
            let source = std::fs::read_to_string(&file).expect("readable source");
            let ast = syn::parse_file(&source)
                .unwrap_or_else(|e| panic!("{} does not parse: {e}", file.display()));
            Module {
                path,
                is_dir_file,
                file,
                source,
                ast,
            }
        })
        .collect()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every path a file writes: `use` trees (flattened) and paths in code.
#[derive(Default)]
struct Paths {
    /// (segments, line)
    found: Vec<(Vec<String>, usize)>,
}

impl Paths {
    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => self.push(prefix, Some(n.ident.to_string()), &n.ident),
            syn::UseTree::Rename(r) => self.push(prefix, Some(r.ident.to_string()), &r.ident),
            syn::UseTree::Glob(g) => {
                if let Some(first) = prefix.first() {
                    self.found
                        .push((prefix.clone(), line_of(g.star_token.spans[0], first)));
                }
            }
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(prefix, t);
                }
            }
        }
    }

    fn push(&mut self, prefix: &[String], last: Option<String>, ident: &syn::Ident) {
        let mut segs = prefix.to_vec();
        if let Some(last) = last
            && last != "self"
        {
            segs.push(last);
        }
        if !segs.is_empty() {
            self.found.push((segs, ident.span().start().line));
        }
    }
}

fn line_of(span: proc_macro2::Span, _: &str) -> usize {
    span.start().line
}

impl<'ast> Visit<'ast> for Paths {
    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        // A `#[cfg(test)]` module's imports are the tests', not the module's.
        let is_test = item.attrs.iter().any(|a| {
            a.path().is_ident("cfg") && a.parse_args::<syn::Ident>().is_ok_and(|i| i == "test")
        });
        if !is_test {
            syn::visit::visit_item_mod(self, item);
        }
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &item.tree);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segs: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if segs.len() > 1 || path.leading_colon.is_some() {
            let line = path.segments[0].ident.span().start().line;
            self.found.push((segs, line));
        }
        syn::visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        // Paths inside macro calls (`tracing::info!`, `json!`) are tokens, not syntax; the
        // macro's own path still counts.
        self.visit_path(&mac.path);
    }
}

/// The module a path points into, if it names one of the crate's modules.
fn target(
    from: &Module,
    segs: &[String],
    known: &BTreeSet<Vec<String>>,
    children: &BTreeSet<String>,
) -> Option<Vec<String>> {
    let here: Vec<String> = from.path.clone();
    let (mut base, rest): (Vec<String>, &[String]) = match segs[0].as_str() {
        "crate" => (Vec::new(), &segs[1..]),
        "self" => (here, &segs[1..]),
        "super" => {
            let mut base = here;
            let mut rest = segs;
            while rest.first().is_some_and(|s| s == "super") {
                base.pop();
                rest = &rest[1..];
            }
            (base, rest)
        }
        child if children.contains(child) => (here, segs),
        _ => return None,
    };
    // A path that names no module below its start (`super::Item`, `self::f`) points at the
    // start itself.
    let mut best = Some(base.clone());
    for seg in rest {
        base.push(seg.clone());
        if known.contains(&base) {
            best = Some(base.clone());
        } else {
            break;
        }
    }
    best
}

struct Facts {
    /// module → the modules it imports (root and itself excluded)
    imports: BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
    actix: Vec<String>,
    long: Vec<String>,
}

fn facts() -> Facts {
    let modules = modules();
    let known: BTreeSet<Vec<String>> = modules.iter().map(|m| m.path.clone()).collect();
    let mut facts = Facts {
        imports: BTreeMap::new(),
        actix: Vec::new(),
        long: Vec::new(),
    };
    for m in &modules {
        let rel = m
            .file
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap_or(&m.file)
            .display()
            .to_string();
        let children: BTreeSet<String> = if m.is_dir_file {
            known
                .iter()
                .filter(|k| k.len() == m.path.len() + 1 && k.starts_with(&m.path))
                .map(|k| k.last().cloned().unwrap_or_default())
                .collect()
        } else {
            BTreeSet::new()
        };
        let mut paths = Paths::default();
        paths.visit_file(&m.ast);
        let edges = facts.imports.entry(m.path.clone()).or_default();
        let http_edge = m.path.first().is_some_and(|f| f == "http")
            || rel.ends_with("src/main.rs")
            || rel.ends_with("src/startup.rs");
        for (segs, line) in &paths.found {
            if ACTIX_CRATES.contains(&segs[0].as_str()) && !http_edge {
                facts
                    .actix
                    .push(format!("{rel}:{line}: {}", segs.join("::")));
            }
            if let Some(t) = target(m, segs, &known, &children)
                && !t.is_empty()
                && t != m.path
            {
                edges.insert(t);
            }
        }
        long_functions(m, &rel, &mut facts.long);
    }
    facts
}

fn long_functions(m: &Module, rel: &str, out: &mut Vec<String>) {
    struct Fns<'a> {
        lines: Vec<&'a str>,
        rel: &'a str,
        out: &'a mut Vec<String>,
    }
    impl Fns<'_> {
        fn check(&mut self, name: &syn::Ident, sig_start: usize, end: usize, attrs_start: usize) {
            let len = end + 1 - sig_start;
            if len <= MAX_FN_LINES {
                return;
            }
            // The lines from the first attribute up: a `// long:` comment in the three lines
            // above the item (or among its attributes) explains it.
            let from = attrs_start.saturating_sub(4);
            let explained = self.lines[from..sig_start.saturating_sub(1)]
                .iter()
                .any(|l| l.trim_start().starts_with("// long:"));
            if !explained {
                self.out.push(format!(
                    "{}:{sig_start}: fn {name} is {len} lines",
                    self.rel
                ));
            }
        }
    }
    fn attrs_start(attrs: &[syn::Attribute], sig: usize) -> usize {
        attrs
            .iter()
            .map(|a| a.pound_token.span.start().line)
            .min()
            .unwrap_or(sig)
            .min(sig)
    }
    impl<'ast> Visit<'ast> for Fns<'_> {
        fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
            let sig = f.sig.fn_token.span.start().line;
            let end = f.block.brace_token.span.close().start().line;
            self.check(&f.sig.ident, sig, end, attrs_start(&f.attrs, sig));
            syn::visit::visit_item_fn(self, f);
        }
        fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
            let sig = f.sig.fn_token.span.start().line;
            let end = f.block.brace_token.span.close().start().line;
            self.check(&f.sig.ident, sig, end, attrs_start(&f.attrs, sig));
            syn::visit::visit_impl_item_fn(self, f);
        }
        fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
            if let Some(block) = &f.default {
                let sig = f.sig.fn_token.span.start().line;
                let end = block.brace_token.span.close().start().line;
                self.check(&f.sig.ident, sig, end, attrs_start(&f.attrs, sig));
            }
            syn::visit::visit_trait_item_fn(self, f);
        }
    }
    let mut fns = Fns {
        lines: m.source.lines().collect(),
        rel,
        out,
    };
    fns.visit_file(&m.ast);
}

fn feature(path: &[String]) -> String {
    path.first().cloned().unwrap_or_default()
}

/// A cycle in `graph`, if there is one (depth-first search with colours).
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn dfs(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_owned(), 1);
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next.as_str()).copied().unwrap_or(0) {
                1 => {
                    let at = stack.iter().position(|n| n == next).unwrap_or(0);
                    let mut found = stack[at..].to_vec();
                    found.push(next.clone());
                    return Some(found);
                }
                0 => {
                    if let Some(found) = dfs(next, graph, state, stack) {
                        return Some(found);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(node.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if state.get(node.as_str()).copied().unwrap_or(0) == 0
            && let Some(found) = dfs(node, graph, &mut state, &mut Vec::new())
        {
            return Some(found);
        }
    }
    None
}

#[test]
fn s17_only_the_http_edge_names_actix_web() {
    let facts = facts();
    assert!(
        facts.actix.is_empty(),
        "actix-web is named outside api/src/http, main.rs and startup.rs:\n{}",
        facts.actix.join("\n")
    );
}

#[test]
fn s17_no_module_imports_a_module_that_imports_it_back() {
    let facts = facts();
    // The check sees imports at all: a few that must be there.
    let edge = |from: &str, to: &str| {
        let path = |p: &str| p.split("::").map(str::to_owned).collect::<Vec<_>>();
        facts
            .imports
            .get(&path(from))
            .is_some_and(|t| t.contains(&path(to)))
    };
    assert!(
        edge("connections::settings", "connections::guard"),
        "use super::guard"
    );
    assert!(
        edge("psa::registry", "psa"),
        "use super::{{Priority, …}}: the parent itself"
    );
    assert!(
        edge("identity::engine", "identity::caller"),
        "use super::caller::Caller"
    );
    assert!(
        edge("http::auth", "identity::caller"),
        "use crate::identity::{{caller, …}}"
    );
    let mut mutual = Vec::new();
    for (a, targets) in &facts.imports {
        for b in targets {
            if a < b && facts.imports.get(b).is_some_and(|t| t.contains(a)) {
                mutual.push(format!("{} <-> {}", a.join("::"), b.join("::")));
            }
        }
    }
    assert!(
        mutual.is_empty(),
        "modules importing each other:\n{}",
        mutual.join("\n")
    );
    let mut files: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (a, targets) in &facts.imports {
        let edges = files.entry(a.join("::")).or_default();
        edges.extend(targets.iter().map(|t| t.join("::")));
    }
    assert_eq!(cycle(&files), None, "a cycle of imports between modules");
}

#[test]
fn s17_the_feature_folders_depend_on_each_other_without_a_cycle() {
    let facts = facts();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (a, targets) in &facts.imports {
        if a.is_empty() {
            continue;
        }
        let from = feature(a);
        for t in targets {
            let to = feature(t);
            if to != from {
                graph.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    assert!(
        graph.contains_key("http"),
        "the graph names the features: {graph:?}"
    );
    assert_eq!(
        cycle(&graph),
        None,
        "features in a cycle; the graph: {graph:#?}"
    );
}

#[test]
fn s17_no_function_is_longer_than_80_lines_without_a_reason() {
    let facts = facts();
    assert!(
        facts.long.is_empty(),
        "{} functions are longer than {MAX_FN_LINES} lines without a `// long: <why>` \
         comment above them:\n{}",
        facts.long.len(),
        facts.long.join("\n")
    );
}

/// The modules below `http/` that still begin transactions of their own, and why (SPEC S17;
/// docs/decisions.md, "Services take a transaction").
const SELF_TRANSACTING: [(&str, &str); 10] = [
    (
        "db::rekey",
        "sealing the stored secrets runs at start and from `hubkeep secrets rotate-key`, \
         outside any request",
    ),
    (
        "identity::session",
        "sign-in and refresh ask the PSA between reads and writes, retry a first sign-in race \
         in a fresh transaction, and commit a revocation or refusal before the error",
    ),
    (
        "connections::guard",
        "`begin_locked`, for answering an invitation",
    ),
    (
        "connections::invitations",
        "accept, decline and revoke commit an expired invitation's expiry before the 410, and \
         know the connection to lock only once the invitation is read; the expiry job runs \
         outside any request, a transaction per invitation",
    ),
    (
        "feed::callout",
        "a callout commits its record before the answer, then applies the re-read resource in \
         a task of its own, after the PSA call",
    ),
    (
        "feed::reconcile",
        "the reconciliation job runs outside any request, a transaction per batch of users and \
         none around a PSA call",
    ),
    (
        "feed::webhook",
        "subscribing calls Autotask before the row commits and deletes the webhook there \
         again if it does not",
    ),
    (
        "notify::sender",
        "the outbox's sender runs outside any request: on PostgreSQL it takes a message's \
         lease in a transaction of its own (`FOR UPDATE SKIP LOCKED`)",
    ),
    (
        "psa::registry",
        "the level cache's refresh and the PSA test run from background tasks too",
    ),
    (
        "tenant::provision",
        "provisioning and pointing a tenant at a directory run from the command line",
    ),
];

/// What begins a transaction: `.begin()`, `.begin_with_config(…)`, `.transaction(…)`,
/// `TransactionTrait::begin(…)` and the guard's `begin_locked(…)`, outside `#[cfg(test)]`
/// modules.
#[derive(Default)]
struct Begins {
    lines: Vec<usize>,
}

impl<'ast> Visit<'ast> for Begins {
    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        let is_test = item.attrs.iter().any(|a| {
            a.path().is_ident("cfg") && a.parse_args::<syn::Ident>().is_ok_and(|i| i == "test")
        });
        if !is_test {
            syn::visit::visit_item_mod(self, item);
        }
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        let begins = (call.method == "begin" && call.args.is_empty())
            || call.method == "begin_with_config"
            || call.method == "transaction";
        if begins {
            self.lines.push(call.method.span().start().line);
        }
        syn::visit::visit_expr_method_call(self, call);
    }

    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        if let syn::Expr::Path(path) = &*call.func {
            let segments: Vec<String> = path
                .path
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect();
            let last = segments.last().map(String::as_str);
            let ufcs_begin =
                last == Some("begin") && segments.iter().any(|s| s == "TransactionTrait");
            if last == Some("begin_locked") || ufcs_begin {
                self.lines
                    .push(path.path.segments[0].ident.span().start().line);
            }
        }
        syn::visit::visit_expr_call(self, call);
    }
}

#[test]
fn s17_handlers_begin_the_transactions_of_writes() {
    let mut beginning: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for m in modules() {
        if m.path.first().is_some_and(|p| p == "http") || m.path.is_empty() {
            continue;
        }
        let mut begins = Begins::default();
        begins.visit_file(&m.ast);
        if !begins.lines.is_empty() {
            beginning.insert(m.path.join("::"), begins.lines);
        }
    }
    let allowed: BTreeSet<&str> = SELF_TRANSACTING.iter().map(|(m, _)| *m).collect();
    let unexpected: Vec<String> = beginning
        .iter()
        .filter(|(m, _)| !allowed.contains(m.as_str()))
        .map(|(m, lines)| format!("{m} (lines {lines:?})"))
        .collect();
    assert!(
        unexpected.is_empty(),
        "these services begin their own transaction; take the handler's `&DatabaseTransaction` \
         instead (or add the module to SELF_TRANSACTING with its reason): {unexpected:?}"
    );
    let stale: Vec<&&str> = allowed
        .iter()
        .filter(|m| !beginning.contains_key(**m))
        .collect();
    assert!(
        stale.is_empty(),
        "listed in SELF_TRANSACTING but no longer beginning a transaction: {stale:?}"
    );
}

/// The transaction check sees a `.begin()` in a function and not one in a test module.
#[test]
fn s17_the_transaction_check_finds_a_begin() {
    let file: syn::File = syn::parse_str(
        "async fn write(db: &Db) { let txn = db.begin().await; txn.commit(); }\n\
         fn other(db: &Db) { guard::begin_locked(db, c, id); TransactionTrait::begin(db); }\n\
         fn third(db: &Db) { db.transaction(|t| t); db.lock(); }\n\
         #[cfg(test)] mod tests { fn t(db: &Db) { db.begin(); } }",
    )
    .unwrap();
    let mut begins = Begins::default();
    begins.visit_file(&file);
    assert_eq!(begins.lines, vec![1, 2, 2, 3]);
}

/// The check itself: a planted cycle, a planted actix import, a parent's item reached
/// through `super`, and a test module's imports (ignored) are told apart.
#[test]
fn s17_the_shape_check_finds_what_it_looks_for() {
    let known: BTreeSet<Vec<String>> = [vec![], vec!["a".to_owned()], vec!["a".into(), "b".into()]]
        .into_iter()
        .collect();
    let module = |path: &[&str], is_dir_file: bool| Module {
        path: path.iter().map(|s| (*s).to_owned()).collect(),
        is_dir_file,
        file: PathBuf::new(),
        source: String::new(),
        ast: syn::parse_file("").expect("empty file"),
    };
    let segs = |p: &str| p.split("::").map(str::to_owned).collect::<Vec<_>>();
    let b = module(&["a", "b"], false);
    let none = BTreeSet::new();
    assert_eq!(
        target(&b, &segs("super::Item"), &known, &none),
        Some(segs("a"))
    );
    assert_eq!(
        target(&b, &segs("crate::a::b::f"), &known, &none),
        Some(segs("a::b"))
    );
    assert_eq!(target(&b, &segs("std::fmt"), &known, &none), None);
    let a = module(&["a"], true);
    let children = BTreeSet::from(["b".to_owned()]);
    assert_eq!(
        target(&a, &segs("b::Item"), &known, &children),
        Some(segs("a::b"))
    );
    let mut tested = Paths::default();
    tested.visit_file(
        &syn::parse_file(
            "fn f() {}\n#[cfg(test)]\nmod tests { use super::*; use actix_web::web; }",
        )
        .expect("parses"),
    );
    assert!(
        tested.found.is_empty(),
        "test modules are skipped: {:?}",
        tested.found
    );

    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a".to_owned(), BTreeSet::from(["b".to_owned()])),
        ("b".to_owned(), BTreeSet::from(["c".to_owned()])),
        ("c".to_owned(), BTreeSet::from(["a".to_owned()])),
    ]
    .into();
    assert_eq!(
        cycle(&graph),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    let ast = syn::parse_file(
        "use actix_web::web;\nuse crate::db::{self, entities::users};\nfn f() { super::x::y(); }",
    )
    .expect("parses");
    let mut paths = Paths::default();
    paths.visit_file(&ast);
    let found: Vec<String> = paths.found.iter().map(|(s, _)| s.join("::")).collect();
    assert_eq!(
        found,
        [
            "actix_web::web",
            "crate::db",
            "crate::db::entities::users",
            "super::x::y"
        ]
    );
}
