//! The built-in rule catalog, parsed once per thread (the page's; the worker has its own
//! in its session).

use analyzer::rules::Catalog;

thread_local! {
    static CATALOG: Option<Catalog> = Catalog::builtin().ok();
}

/// Runs `f` with the catalog; `None` if it does not parse (the analyzer's tests forbid it).
pub fn with<T>(f: impl FnOnce(&Catalog) -> T) -> Option<T> {
    CATALOG.with(|c| c.as_ref().map(f))
}
