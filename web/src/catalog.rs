//! The built-in rule catalog, parsed once per thread, for the one thing the page itself
//! makes from it: the collection commands shown before any log is analysed (a worker runs
//! only with inputs). Everything about a diagnosis — findings, the proposal, the plan's
//! targets — comes from the worker's session.

use analyzer::rules::Catalog;

thread_local! {
    static CATALOG: Option<Catalog> = Catalog::builtin().ok();
}

/// Runs `f` with the catalog; `None` if it does not parse (the analyzer's tests forbid it).
pub fn with<T>(f: impl FnOnce(&Catalog) -> T) -> Option<T> {
    CATALOG.with(|c| c.as_ref().map(f))
}
