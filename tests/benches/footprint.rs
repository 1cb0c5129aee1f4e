//! Benchmark: start-up time and memory of the app, beside a minimal Tauri 2 window built the
//! same way (the floor), under Xvfb. Run by `scripts/bench-footprint.sh`, which builds both in
//! release and sets `NUTS_WALLET_APP_BIN` and `NUTS_WALLET_FLOOR_BIN`.
//!
//! Printed:
//! - **start → window**: from spawning the process to the X server mapping its top-level
//!   window (`xev` on the root window; no window manager, so nothing else maps windows);
//! - **start → interactive** (the wallet only): from spawning to the UI's first drawn screen
//!   with the keyring vault unlocked (the app logs `UI interactive` with the wall-clock time);
//! - **idle memory** after 10 s: RSS and PSS of the process and all its descendants (the
//!   WebKit web and network processes) from `/proc/<pid>/smaps_rollup`;
//! - **growth after links**: the same figures before and after 50 handled `nuts-wallet:` links
//!   (each a full user flow at the reference AS up to the consent screen, then declined), and
//!   after 50 more (the wallet keeps the newest links by design; a second round shows a leak).
//!
//! `FOOTPRINT_RUNS` (default 7) sets the start-up runs per binary, `FOOTPRINT_LINKS` (default 50)
//! the links; `FOOTPRINT_ENV` adds `NAME=value,...` to the wallet only (to try WebKit and
//! allocator switches against the untouched floor).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nuts_wallet_e2e::userflow::World;
use nuts_wallet_e2e::{
    app_binary, click, now_ms, second_launch, wait_consent_ready, wait_text, Driver,
};

/// RSS and PSS in KiB of a process tree, and how many processes it has (with each one's name,
/// RSS and PSS).
#[derive(Clone, Debug, Default)]
struct Footprint {
    rss_kib: u64,
    pss_kib: u64,
    processes: usize,
    each: Vec<(String, u64, u64)>,
}

impl Footprint {
    /// One line per process: name, RSS, PSS.
    fn breakdown(&self) -> String {
        self.each
            .iter()
            .map(|(name, rss, pss)| {
                format!(
                    "      {name:<18} RSS {:>6.1} MiB   PSS {:>6.1} MiB",
                    *rss as f64 / 1024.0,
                    *pss as f64 / 1024.0
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl std::fmt::Display for Footprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RSS {:>6.1} MiB   PSS {:>6.1} MiB   ({} processes)",
            self.rss_kib as f64 / 1024.0,
            self.pss_kib as f64 / 1024.0,
            self.processes
        )
    }
}

/// Parent of every process (the field after the command name in `/proc/<pid>/stat`).
fn parents() -> HashMap<u32, u32> {
    let mut map = HashMap::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // The command name may hold spaces and parentheses: read after the last ')'.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        if let Some(ppid) = rest.split_whitespace().nth(1).and_then(|p| p.parse().ok()) {
            map.insert(pid, ppid);
        }
    }
    map
}

fn tree(root: u32) -> Vec<u32> {
    let parents = parents();
    let mut all = vec![root];
    let mut i = 0;
    while i < all.len() {
        let p = all[i];
        all.extend(parents.iter().filter(|(_, pp)| **pp == p).map(|(c, _)| *c));
        i += 1;
    }
    all
}

fn footprint(root: u32) -> Footprint {
    let mut f = Footprint::default();
    for pid in tree(root) {
        let Ok(rollup) = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")) else {
            continue;
        };
        let field = |name: &str| {
            rollup
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        let (rss, pss) = (field("Rss:"), field("Pss:"));
        let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        f.each.push((name.trim().to_owned(), rss, pss));
        f.rss_kib += rss;
        f.pss_kib += pss;
        f.processes += 1;
    }
    f
}

fn kill_tree(child: &mut Child) {
    let pids = tree(child.id());
    for pid in pids.iter().rev() {
        let _ = Command::new("kill")
            .arg("-KILL")
            .arg(pid.to_string())
            .status();
    }
    let _ = child.wait();
}

/// Lines of a reader with the moment each arrived, on a channel.
fn timed_lines(r: impl std::io::Read + Send + 'static) -> mpsc::Receiver<(Instant, String)> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            if tx.send((Instant::now(), line)).is_err() {
                break;
            }
        }
    });
    rx
}

/// Top-level windows mapped on the display, as they happen.
struct MapWatch {
    xev: Child,
    lines: mpsc::Receiver<(Instant, String)>,
}

impl MapWatch {
    fn start() -> MapWatch {
        let mut xev = Command::new("stdbuf")
            .args(["-oL", "xev", "-root", "-event", "substructure"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("xev (x11-utils) must be installed");
        let lines = timed_lines(xev.stdout.take().unwrap());
        // xev selects the root window's events right after it connects.
        std::thread::sleep(Duration::from_millis(500));
        while lines.try_recv().is_ok() {}
        MapWatch { xev, lines }
    }

    /// When the first window was mapped after `since`.
    fn first_map(&self, since: Instant, limit: Duration) -> Instant {
        loop {
            let (at, line) = self
                .lines
                .recv_timeout(limit)
                .expect("no window was mapped in time");
            if at >= since && line.starts_with("MapNotify event") {
                return at;
            }
        }
    }
}

impl Drop for MapWatch {
    fn drop(&mut self) {
        let _ = self.xev.kill();
        let _ = self.xev.wait();
    }
}

fn extra_env() -> Vec<(String, String)> {
    std::env::var("FOOTPRINT_ENV")
        .unwrap_or_default()
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// `unix_ms=<n>` from a start-up mark (`page loaded`, `UI interactive`) in a log line (ANSI
/// colours stripped).
fn mark_unix_ms(line: &str, mark: &str) -> Option<u128> {
    if !line.contains(mark) {
        return None;
    }
    let mut plain = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    let at = plain.find("unix_ms=")? + "unix_ms=".len();
    plain[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

struct Run {
    window_ms: f64,
    page_ms: Option<f64>,
    interactive_ms: Option<f64>,
    idle: Option<Footprint>,
}

/// Starts `bin`, times its window (and the wallet's first interactive screen), and when
/// `measure_idle` leaves it idle 10 s and measures its memory; then stops it.
fn run_once(bin: &Path, env: &[(String, String)], wallet: bool, measure_idle: bool) -> Run {
    let watch = MapWatch::start();
    let spawned_unix = now_ms() as u128;
    let spawned = Instant::now();
    let mut child = Command::new(bin)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    let log = timed_lines(child.stderr.take().unwrap());
    let mapped = watch.first_map(spawned, Duration::from_secs(20));
    let window_ms = (mapped - spawned).as_secs_f64() * 1000.0;
    // The marks on stderr: the page loaded (both), the first screen interactive (the wallet).
    let (mut page, mut interactive) = (None, None);
    let deadline = Instant::now() + Duration::from_secs(20);
    // (The page mark comes before the interactive one; builds without it show no figure.)
    while if wallet {
        interactive.is_none()
    } else {
        page.is_none()
    } {
        let left = deadline.saturating_duration_since(Instant::now());
        let (_, line) = log
            .recv_timeout(left)
            .expect("no `page loaded` / `UI interactive` mark within 20 s");
        let since = |at: u128| at.saturating_sub(spawned_unix) as f64;
        page = page.or(mark_unix_ms(&line, "page loaded").map(since));
        interactive = interactive.or(mark_unix_ms(&line, "UI interactive").map(since));
    }
    let (page_ms, interactive_ms) = (page, interactive);
    let idle = measure_idle.then(|| {
        std::thread::sleep(Duration::from_secs(10));
        footprint(child.id())
    });
    kill_tree(&mut child);
    // Let the single-instance name and the API port go before the next start.
    std::thread::sleep(Duration::from_millis(700));
    Run {
        window_ms,
        page_ms,
        interactive_ms,
        idle,
    }
}

fn stats(name: &str, mut v: Vec<f64>) {
    if v.is_empty() {
        println!("  {name:<30} (no mark in this build)");
        return;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let q = |p: f64| v[((v.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "  {name:<30} n={:<3} p50 {:>7.1} ms   min {:>7.1} ms   max {:>7.1} ms",
        v.len(),
        q(0.5),
        v[0],
        v[v.len() - 1]
    );
}

fn floor_binary() -> PathBuf {
    std::env::var_os("NUTS_WALLET_FLOOR_BIN")
        .map(PathBuf::from)
        .expect("NUTS_WALLET_FLOOR_BIN names the minimal window (scripts/bench-footprint.sh)")
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The wallet's process (not the driver's): the newest process running the app binary.
fn app_pid(bin: &Path) -> u32 {
    let want = bin.canonicalize().unwrap();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if std::fs::read_link(entry.path().join("exe")).is_ok_and(|e| e == want) {
            found.push(pid);
        }
    }
    assert_eq!(found.len(), 1, "one running app expected, found {found:?}");
    found[0]
}

fn main() {
    let runs = env_number("FOOTPRINT_RUNS", 7).max(2);
    let links = env_number("FOOTPRINT_LINKS", 50);
    let extra = extra_env();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let w = rt.block_on(World::start("bench-footprint", 18_185));
    let mut app_env: Vec<(String, String)> = w
        .app_env()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    app_env.extend(extra.iter().cloned());
    let app = app_binary();
    let floor = floor_binary();
    if !extra.is_empty() {
        println!("extra environment: {extra:?}");
    }
    println!("app:   {}\nfloor: {}", app.display(), floor.display());

    // Start-up, alternating the two so that both see the same machine state. The first run
    // of each warms the page cache and is not counted.
    let (mut app_window, mut app_page, mut app_ui) = (vec![], vec![], vec![]);
    let (mut floor_window, mut floor_page) = (vec![], vec![]);
    let (mut app_idle, mut floor_idle) = (None, None);
    for i in 0..=runs {
        let last = i == runs;
        let a = run_once(&app, &app_env, true, last);
        let f = run_once(&floor, &[], false, last);
        if i > 0 {
            app_window.push(a.window_ms);
            app_page.extend(a.page_ms);
            app_ui.push(a.interactive_ms.unwrap());
            floor_window.push(f.window_ms);
            floor_page.extend(f.page_ms);
        }
        app_idle = a.idle.or(app_idle);
        floor_idle = f.idle.or(floor_idle);
    }
    println!("start-up (release, Xvfb; targets: window ≤ 200 ms, interactive ≤ 500 ms)");
    stats("wallet: start → window", app_window);
    stats("wallet: start → page loaded", app_page);
    stats("wallet: start → interactive", app_ui);
    stats("floor:  start → window", floor_window);
    stats("floor:  start → page loaded", floor_page);
    let (a, f) = (app_idle.unwrap(), floor_idle.unwrap());
    println!("idle memory after 10 s (app + WebKit processes)");
    println!("  wallet  {a}\n{}", a.breakdown());
    println!("  floor   {f}\n{}", f.breakdown());
    println!(
        "  wallet − floor: RSS {:+.1} MiB, PSS {:+.1} MiB",
        (a.rss_kib as f64 - f.rss_kib as f64) / 1024.0,
        (a.pss_kib as f64 - f.pss_kib as f64) / 1024.0
    );

    if links == 0 {
        return;
    }
    rt.block_on(async {
        let env: Vec<(&str, String)> = app_env
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        let driver = Driver::start(4449, &env);
        let c = driver.session().await;
        wait_text(&c, "#waiting", "").await;
        w.wait_for_api().await;
        tokio::time::sleep(Duration::from_secs(10)).await;
        let pid = app_pid(&app);
        let before = footprint(pid);
        println!("memory with links (WebDriver session; each figure 10 s after the last link)");
        println!("  before the links: {before}\n{}", before.breakdown());
        // Two rounds: the first fills what the wallet keeps by design (the newest links, the
        // activity log's pages); the second shows whether anything else grows.
        let mut last = before;
        for round in 1..=2 {
            for _ in 0..links {
                let (link, _) = w.wallet_link("Bearer").await;
                let sent = now_ms();
                second_launch(&link);
                wait_consent_ready(&c, sent - 1000).await;
                click(&c, "#presentation-decline").await;
                wait_text(&c, "#presentation-result", "").await;
            }
            tokio::time::sleep(Duration::from_secs(10)).await;
            let now = footprint(pid);
            println!(
                "  after {} links: {now}   growth in this round: RSS {:+.1} MiB, PSS {:+.1} MiB\n{}",
                round * links,
                (now.rss_kib as f64 - last.rss_kib as f64) / 1024.0,
                (now.pss_kib as f64 - last.pss_kib as f64) / 1024.0,
                now.breakdown()
            );
            last = now;
        }
        c.close().await.unwrap();
    });
}
