//! Start-up timing in the log: how long from the start of the process to the first drawn,
//! usable screen. Support reads it from the log; `scripts/bench-footprint.sh` measures with it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

static STARTED: OnceLock<Instant> = OnceLock::new();

/// GTK and WebKitGTK switches the wallet sets for itself and its web view processes (they
/// inherit the environment), measured with `scripts/bench-footprint.sh` (README, "Start-up and
/// memory"):
/// - No OpenGL in GTK: WebKit then composites without GL in the web process too. With GL, a
///   machine without a GPU (Xvfb, many virtual desktops) runs Mesa's software GL (LLVM) in both
///   processes: ~65 MiB more for the same pixels. A screen of forms and text needs no GPU.
/// - CPU rendering with Skia, for the same reason where GTK's GL is forced back on.
/// - No JavaScript JIT: the UI is a small Svelte app; the interpreter runs it as fast to the
///   first screen, uses less memory, and leaves out the engine part most exploits aim at.
///
/// A variable already set in the environment wins (an administrator may need another value).
pub const WEBVIEW_DEFAULTS: &[(&str, &str)] = &[
    ("GDK_GL", "disable"),
    ("WEBKIT_SKIA_ENABLE_CPU_RENDERING", "1"),
    ("JSC_useJIT", "0"),
];

/// Sets [`WEBVIEW_DEFAULTS`] (first thing in `run`, before any thread or web view starts).
pub fn apply_webview_defaults() {
    if !cfg!(target_os = "linux") {
        return;
    }
    for (name, value) in WEBVIEW_DEFAULTS {
        if std::env::var_os(name).is_none() {
            std::env::set_var(name, value);
        }
    }
}
static UI_READY: AtomicBool = AtomicBool::new(false);
static PAGE_LOADED: AtomicBool = AtomicBool::new(false);

/// Notes the start (first thing in `run`).
pub fn mark_started() {
    STARTED.get_or_init(Instant::now);
}

/// The web view finished loading the UI's page (its scripts then mount the first screen).
pub fn page_loaded() {
    if !PAGE_LOADED.swap(true, Ordering::SeqCst) {
        let (after_ms, unix_ms) = times();
        tracing::info!(after_ms, unix_ms, "page loaded");
    }
}

/// The UI reports its first interactive screen; logged once a run (later calls are ignored, so
/// a page reload cannot fill the log).
pub fn ui_ready() {
    if UI_READY.swap(true, Ordering::SeqCst) {
        return;
    }
    let (after_ms, unix_ms) = times();
    tracing::info!(after_ms, unix_ms, "UI interactive");
}

/// Milliseconds since the start, and the wall clock in Unix milliseconds.
fn times() -> (u128, u128) {
    let after_ms = STARTED.get().map(|s| s.elapsed().as_millis()).unwrap_or(0);
    let unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    (after_ms, unix_ms)
}
