//! The fuzz smoke: the harnesses of `fuzz_harness.rs` (the same code the libFuzzer
//! targets in `fuzz/` run) fed a bounded number of inputs on the stable toolchain:
//! the seeds, then mutations of them (bit flips, byte insertions and deletions,
//! truncations, splices, and tokens that break parsers). Deterministic: the same
//! `FUZZ_SMOKE_SEED` gives the same inputs. `FUZZ_SMOKE_ITERATIONS` scales it.

use crate::fuzz_harness;
use crate::support::Rng;

/// Inputs per target: mutations after the seeds.
fn iterations(default: usize) -> usize {
    std::env::var("FUZZ_SMOKE_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn seed() -> u64 {
    std::env::var("FUZZ_SMOKE_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_f022)
}

/// Tokens that tend to break parsers.
const TOKENS: &[&str] = &[
    "null",
    "[]",
    "{}",
    "\"\"",
    "-1",
    "0",
    "18446744073709551616",
    "1e999",
    "true",
    "\"True\"",
    "\\u0000",
    "\\ud800",
    "\u{feff}",
    "@@TOKEN@@",
    "pw-activate:",
    "ssh-ed25519 ",
    "AAAA",
    "\n",
    "\r\n",
    "#",
    "\"totalResults\":",
    "\"Resources\":",
    "\"users\":",
    "\"total\":",
    "\"id\":\"a\"",
    "<html>",
    "\u{0}",
];

fn mutate(rng: &mut Rng, input: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        let len = out.len();
        match rng.below(7) {
            0 if len > 0 => {
                let at = rng.below(len);
                out[at] ^= 1 << rng.below(8);
            }
            1 => {
                let at = rng.below(len + 1);
                let byte = u8::try_from(rng.below(256)).unwrap_or(0);
                out.insert(at, byte);
            }
            2 if len > 0 => {
                let at = rng.below(len);
                let n = 1 + rng.below((len - at).min(16));
                out.drain(at..at + n);
            }
            3 if len > 1 => out.truncate(rng.below(len)),
            4 => {
                let other = &corpus[rng.below(corpus.len())];
                let at = rng.below(len + 1);
                let from = rng.below(other.len() + 1);
                let tail: Vec<u8> = out.split_off(at);
                out.extend_from_slice(&other[from..]);
                if rng.below(2) == 0 {
                    out.extend_from_slice(&tail);
                }
            }
            5 => {
                let token = TOKENS[rng.below(TOKENS.len())].as_bytes();
                let at = rng.below(len + 1);
                out.splice(at..at, token.iter().copied());
            }
            _ if len > 1 => {
                // Repeat a slice: long inputs, deep nesting.
                let at = rng.below(len);
                let n = 1 + rng.below((len - at).min(32));
                let piece = out[at..at + n].to_vec();
                for _ in 0..rng.below(64) {
                    out.splice(at..at, piece.iter().copied());
                }
            }
            _ => {}
        }
    }
    out
}

/// Writes the seeds of `target` to `$FUZZ_SEED_DIR/<target>/seed-<n>` when that is
/// set (`scripts/fuzz run` seeds the libFuzzer corpora this way).
fn write_seeds(target: &str, corpus: &[Vec<u8>]) {
    let Some(dir) = std::env::var_os("FUZZ_SEED_DIR") else {
        return;
    };
    let dir = std::path::Path::new(&dir).join(target);
    std::fs::create_dir_all(&dir).expect("create the corpus directory");
    for (n, input) in corpus.iter().enumerate() {
        std::fs::write(dir.join(format!("seed-{n}")), input).expect("write a seed");
    }
}

/// Runs `harness` on the seeds and `n` mutations; returns how many inputs ran.
fn smoke(target: &str, n: usize, harness: fn(&[u8])) -> usize {
    let corpus = fuzz_harness::seeds(target);
    write_seeds(target, &corpus);
    let mut rng = Rng(seed() ^ target.len() as u64);
    for input in &corpus {
        harness(input);
    }
    let mut pool = corpus.clone();
    for _ in 0..n {
        let base = pool[rng.below(pool.len())].clone();
        let input = mutate(&mut rng, &base, &corpus);
        harness(&input);
        if pool.len() < 512 && rng.below(8) == 0 {
            pool.push(input);
        }
    }
    corpus.len() + n
}

#[test]
fn fuzz_smoke_ssh_keys() {
    let ran = smoke("ssh_keys", iterations(4000), fuzz_harness::ssh_keys);
    println!("ssh_keys: {ran} inputs");
}

#[test]
fn fuzz_smoke_scim_documents() {
    let ran = smoke(
        "scim_document",
        iterations(4000),
        fuzz_harness::scim_document,
    );
    println!("scim_document: {ran} inputs");
}

#[test]
fn fuzz_smoke_scim_responses() {
    let ran = smoke(
        "scim_response",
        iterations(500),
        fuzz_harness::scim_response,
    );
    println!("scim_response: {ran} inputs");
}

#[test]
fn fuzz_smoke_activate_responses() {
    let ran = smoke(
        "activate_response",
        iterations(500),
        fuzz_harness::activate_response,
    );
    println!("activate_response: {ran} inputs");
}
