//! A small mutation fuzzer on stable Rust: a seeded RNG, byte-level and JSON-tree mutations of
//! seed inputs, inputs a target accepted fed back into its corpus, and every panic caught and
//! kept as a finding with its input. No coverage feedback (that needs nightly); what it lacks
//! in guidance it makes up in executions per second and structure-aware generators.

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

/// SplitMix64: fast, seedable, good enough to pick mutations.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`0` when `n == 0`).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// True with probability `1/n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    /// A copy of a random element of `items` (which must not be empty).
    pub fn choose<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// A random element of `items` (which must not be empty).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Bytes that tend to break parsers.
const INTERESTING: &[&[u8]] = &[
    b"",
    b"\0",
    b"%",
    b"%00",
    b"%zz",
    b"%2F",
    b"%3A",
    b"%23",
    b"%ff",
    b"?",
    b"#",
    b"&",
    b"=",
    b"/",
    b"\\",
    b":",
    b".",
    b"..",
    b"@",
    b"[",
    b"]",
    b"{",
    b"}",
    b"\"",
    b",",
    b"-1",
    b"0",
    b"1e999",
    b"18446744073709551616",
    b"-9223372036854775809",
    b"\xff\xfe",
    b"\xc3\x28",
    "\u{202e}".as_bytes(),
    "\u{1F600}".as_bytes(),
    "é".as_bytes(),
    b"\r\n",
    b"\x1b[31m",
    b" ",
    b"null",
    b"true",
    b"[]",
    b"{}",
    b"==",
    b"+",
    b"*",
    b"$",
    b"'",
];

/// Runs one input (see [`Target::run`]).
pub type RunFn = Box<dyn Fn(&[u8]) -> bool>;
/// Builds one input from the corpus (see [`Target::generate`]).
pub type GenerateFn = Box<dyn Fn(&mut Rng, &[Vec<u8>]) -> Vec<u8>>;

/// What one target is: its seeds, extra dictionary words, how to run one input, and
/// optionally a structure-aware generator.
pub struct Target {
    /// Name shown in reports.
    pub name: &'static str,
    /// Valid (or nearly valid) samples, mostly from the repository's vectors and fixtures.
    pub seeds: Vec<Vec<u8>>,
    /// Tokens worth inserting (parameter names, prefixes).
    pub dict: Vec<Vec<u8>>,
    /// Runs one input; `true` when the input was accepted (then it joins the corpus).
    /// Must not panic: a panic is a finding. Round-trip properties are asserted inside.
    pub run: RunFn,
    /// Builds an input from parts (called for about a third of the cases when present).
    pub generate: Option<GenerateFn>,
}

impl Target {
    /// A target over the input as text (invalid UTF-8 replaced), without a generator.
    pub fn text(
        name: &'static str,
        seeds: Vec<Vec<u8>>,
        dict: Vec<Vec<u8>>,
        run: impl Fn(&str) -> bool + 'static,
    ) -> Self {
        Self {
            name,
            seeds,
            dict,
            run: Box::new(move |input| run(&String::from_utf8_lossy(input))),
            generate: None,
        }
    }

    /// The same target with a structure-aware generator.
    pub fn with_generator(
        mut self,
        generate: impl Fn(&mut Rng, &[Vec<u8>]) -> Vec<u8> + 'static,
    ) -> Self {
        self.generate = Some(Box::new(generate));
        self
    }
}

/// One panic.
#[derive(Debug, Clone)]
pub struct Finding {
    /// The panic message and location.
    pub message: String,
    /// The input that caused it.
    pub input: Vec<u8>,
}

/// The outcome of a run.
#[derive(Debug, Clone)]
pub struct Report {
    /// Target name.
    pub name: &'static str,
    /// Inputs run.
    pub executions: u64,
    /// Inputs the target accepted.
    pub accepted: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Distinct panics (by message), first input of each.
    pub findings: Vec<Finding>,
    /// The slowest single input and its time (a hang shows up here).
    pub slowest: Duration,
}

impl Report {
    /// One line for the log.
    pub fn line(&self) -> String {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        format!(
            "{:<16} executions={:>10} accepted={:>9} time={:>8.1}s rate={:>8.0}/s slowest={:>6.1}ms findings={}",
            self.name,
            self.executions,
            self.accepted,
            secs,
            self.executions as f64 / secs,
            self.slowest.as_secs_f64() * 1000.0,
            self.findings.len()
        )
    }
}

thread_local! {
    static FUZZING: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Panics inside a fuzz case are recorded quietly; any other panic reports as usual.
fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let quiet = FUZZING.with(|f| {
                let mut f = f.borrow_mut();
                match f.as_mut() {
                    Some(slot) => {
                        *slot = info.to_string();
                        true
                    }
                    None => false,
                }
            });
            if !quiet {
                default(info);
            }
        }));
    });
}

/// Most corpus entries kept per target (seeds plus accepted mutants).
const MAX_CORPUS: usize = 512;
/// Largest input the mutator grows to.
const MAX_INPUT: usize = 64 * 1024;

/// Runs `cases` inputs against `target` with RNG `seed`.
pub fn fuzz(target: &Target, cases: u64, seed: u64) -> Report {
    install_hook();
    let mut rng = Rng::new(seed);
    let mut corpus: Vec<Vec<u8>> = target.seeds.clone();
    if corpus.is_empty() {
        corpus.push(Vec::new());
    }
    let mut findings: Vec<Finding> = Vec::new();
    let mut accepted = 0;
    let mut slowest = Duration::ZERO;
    let start = Instant::now();
    for i in 0..cases {
        let input = if i < target.seeds.len() as u64 {
            target.seeds[i as usize].clone()
        } else {
            match &target.generate {
                Some(g) if rng.one_in(3) => g(&mut rng, &corpus),
                _ => mutate(&mut rng, &corpus, &target.dict),
            }
        };
        FUZZING.with(|f| *f.borrow_mut() = Some(String::new()));
        let t = Instant::now();
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| (target.run)(&input)));
        slowest = slowest.max(t.elapsed());
        let message = FUZZING.with(|f| f.borrow_mut().take()).unwrap_or_default();
        match outcome {
            Ok(true) => {
                accepted += 1;
                if corpus.len() < MAX_CORPUS {
                    corpus.push(input);
                } else if rng.one_in(8) {
                    let at = target.seeds.len() + rng.below(MAX_CORPUS - target.seeds.len());
                    corpus[at.min(MAX_CORPUS - 1)] = input;
                }
            }
            Ok(false) => {}
            Err(_) => {
                // Distinct by where it panicked (the first line), not by the input-specific text.
                let place = |m: &str| m.lines().next().unwrap_or_default().to_owned();
                if !findings
                    .iter()
                    .any(|f| place(&f.message) == place(&message))
                {
                    findings.push(Finding { message, input });
                }
            }
        }
    }
    Report {
        name: target.name,
        executions: cases,
        accepted,
        elapsed: start.elapsed(),
        findings,
        slowest,
    }
}

/// A mutant of a corpus entry: 1–4 stacked byte-level edits, or a JSON-tree edit when the
/// entry is JSON.
pub fn mutate(rng: &mut Rng, corpus: &[Vec<u8>], dict: &[Vec<u8>]) -> Vec<u8> {
    let base = rng.pick(corpus);
    if rng.one_in(4) {
        if let Ok(v) = serde_json::from_slice::<Value>(base) {
            let mut v = v;
            for _ in 0..=rng.below(3) {
                mutate_json(rng, &mut v, dict, 0);
            }
            if let Ok(out) = serde_json::to_vec(&v) {
                return out;
            }
        }
    }
    let mut data = base.clone();
    for _ in 0..=rng.below(4) {
        mutate_bytes(rng, &mut data, corpus, dict);
    }
    data.truncate(MAX_INPUT);
    data
}

fn token<'a>(rng: &mut Rng, dict: &'a [Vec<u8>]) -> &'a [u8] {
    if !dict.is_empty() && rng.one_in(2) {
        rng.pick(dict).as_slice()
    } else {
        rng.choose(INTERESTING)
    }
}

/// One byte-level edit.
pub fn mutate_bytes(rng: &mut Rng, data: &mut Vec<u8>, corpus: &[Vec<u8>], dict: &[Vec<u8>]) {
    let len = data.len();
    match rng.below(10) {
        0 if len > 0 => {
            let i = rng.below(len);
            data[i] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let i = rng.below(len);
            data[i] = rng.next_u64() as u8;
        }
        2 => {
            let i = rng.below(len + 1);
            data.insert(i, rng.next_u64() as u8);
        }
        3 if len > 0 => {
            let a = rng.below(len);
            let b = (a + 1 + rng.below(16)).min(len);
            data.drain(a..b);
        }
        4 if len > 0 => {
            // Duplicate a range (repetition finds depth and length bugs).
            let a = rng.below(len);
            let b = (a + 1 + rng.below(64)).min(len);
            let chunk = data[a..b].to_vec();
            let at = rng.below(len + 1);
            for _ in 0..=rng.below(4) {
                data.splice(at..at, chunk.iter().copied());
            }
        }
        5 | 6 => {
            let t = token(rng, dict).to_vec();
            let i = rng.below(len + 1);
            data.splice(i..i, t);
        }
        7 if len > 0 => {
            // Replace a range with a token.
            let a = rng.below(len);
            let b = (a + 1 + rng.below(8)).min(len);
            let t = token(rng, dict).to_vec();
            data.splice(a..b, t);
        }
        8 if !corpus.is_empty() => {
            // Splice with another corpus entry.
            let other = rng.pick(corpus);
            let cut = rng.below(len + 1);
            let from = rng.below(other.len() + 1);
            data.truncate(cut);
            data.extend_from_slice(&other[from..]);
        }
        _ if len > 0 => {
            // Truncate.
            let cut = rng.below(len);
            data.truncate(cut);
        }
        _ => data.extend_from_slice(token(rng, dict)),
    }
}

/// A random JSON value, occasionally deep or big.
pub fn random_json(rng: &mut Rng, dict: &[Vec<u8>], depth: usize) -> Value {
    match rng.below(if depth > 4 { 6 } else { 9 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.one_in(2)),
        2 => Value::from(*rng.pick(&[
            0i64,
            -1,
            1,
            i64::MAX,
            i64::MIN,
            4_102_444_800,
            1_700_000_000,
        ])),
        3 => Value::from(*rng.pick(&[0.5f64, -0.0, 1e308, 3.0])),
        4 | 5 => Value::String(String::from_utf8_lossy(token(rng, dict)).into_owned()),
        6 => Value::String("x".repeat(rng.below(5000))),
        7 => Value::Array(
            (0..rng.below(4))
                .map(|_| random_json(rng, dict, depth + 1))
                .collect(),
        ),
        _ => {
            let mut m = Map::new();
            for _ in 0..rng.below(4) {
                let k = String::from_utf8_lossy(token(rng, dict)).into_owned();
                m.insert(k, random_json(rng, dict, depth + 1));
            }
            Value::Object(m)
        }
    }
}

/// Replaces, removes, duplicates or retypes one node of `v` (a random walk picks it).
pub fn mutate_json(rng: &mut Rng, v: &mut Value, dict: &[Vec<u8>], depth: usize) {
    let descend = depth < 12 && rng.below(3) != 0;
    match v {
        Value::Object(m) if descend && !m.is_empty() => {
            let keys: Vec<String> = m.keys().cloned().collect();
            let k = rng.pick(&keys).clone();
            match rng.below(8) {
                0 => {
                    m.remove(&k);
                }
                1 => {
                    let new = String::from_utf8_lossy(token(rng, dict)).into_owned();
                    if let Some(x) = m.remove(&k) {
                        m.insert(new, x);
                    }
                }
                _ => {
                    if let Some(child) = m.get_mut(&k) {
                        mutate_json(rng, child, dict, depth + 1);
                    }
                }
            }
        }
        Value::Array(a) if descend && !a.is_empty() => {
            let i = rng.below(a.len());
            match rng.below(6) {
                0 => {
                    a.remove(i);
                }
                1 => {
                    let dup = a[i].clone();
                    a.push(dup);
                }
                _ => mutate_json(rng, &mut a[i], dict, depth + 1),
            }
        }
        _ => match rng.below(6) {
            0 => {
                let inner = std::mem::take(v);
                *v = Value::Array(vec![inner]);
            }
            1 => {
                if let Value::String(s) = v {
                    let mut b = s.clone().into_bytes();
                    mutate_bytes(rng, &mut b, &[], dict);
                    *s = String::from_utf8_lossy(&b).into_owned();
                } else {
                    *v = random_json(rng, dict, depth);
                }
            }
            _ => *v = random_json(rng, dict, depth),
        },
    }
}

/// Renders an input for a report: text when it is UTF-8, else hex.
pub fn show(input: &[u8]) -> String {
    match std::str::from_utf8(input) {
        Ok(s) => format!("{s:?}"),
        Err(_) => input.iter().map(|b| format!("{b:02x}")).collect(),
    }
}
