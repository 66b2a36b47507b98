//! The append-only ledger's hash chain: each entry holds the SHA-256 of its canonical content
//! and the previous entry's hash, so an edit, a deletion or an insertion shows up in [`verify`].
//!
//! # Canonical encoding (version 1)
//! The hash is lower-case hex SHA-256 over the concatenation of:
//! 1. the tag `hazard-ledger/entry/v1` as a length-prefixed text;
//! 2. `seq` as 8 bytes, big-endian two's complement;
//! 3. `hazard_id`, `kind`, `actor`, `role`, `at`, `payload`, `prev_hash`, in that order, where a
//!    text is its UTF-8 byte length as 8 bytes big-endian followed by the bytes, and an optional
//!    text is one byte `0` when absent or one byte `1` followed by the text.
//!
//! Length prefixes make the encoding unambiguous: no two different entries share an input.
//! `at` and `payload` are hashed exactly as stored, so the store must keep them byte for byte
//! (text columns, not re-serialised JSON or timestamp types).
//!
//! `seq` must be gapless: the writer takes `last.seq + 1` and `last.hash` in the transaction
//! that appends, never a database sequence (which skips numbers on rollback). Deleting the
//! newest entries cannot be seen from the chain alone; compare [`VerifySummary::head`] with a
//! head recorded elsewhere for that.

use std::borrow::Borrow;
use std::fmt;

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The previous hash of the first entry: 64 zeros.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

const TAG: &str = "hazard-ledger/entry/v1";

/// One stored ledger entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerEntry {
    /// Position in the ledger, 1 for the first entry, no gaps.
    pub seq: i64,
    /// The hazard concerned, if any.
    pub hazard_id: Option<String>,
    /// What happened, e.g. `hazard.submitted`.
    pub kind: String,
    /// The acting user id; `None` for the system.
    pub actor: Option<String>,
    /// The actor's role at the time.
    pub role: Option<String>,
    /// RFC 3339 time with `+08:00`, as stored.
    pub at: String,
    /// JSON text, as stored.
    pub payload: String,
    /// Hash of the previous entry, [`GENESIS`] for the first.
    pub prev_hash: String,
    /// Hash of this entry's canonical encoding.
    pub hash: String,
}

/// An entry's content before it is placed in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    /// The hazard concerned, if any.
    pub hazard_id: Option<String>,
    /// What happened.
    pub kind: String,
    /// The acting user id; `None` for the system.
    pub actor: Option<String>,
    /// The actor's role at the time.
    pub role: Option<String>,
    /// RFC 3339 time with `+08:00` (see [`ledger_time`]).
    pub at: String,
    /// JSON text.
    pub payload: String,
}

impl NewEntry {
    /// Part 3 of this entry's canonical encoding (see [`encoded_fields`]).
    pub fn encoded_fields(&self) -> Vec<u8> {
        encoded_fields(
            self.hazard_id.as_deref(),
            &self.kind,
            self.actor.as_deref(),
            self.role.as_deref(),
            &self.at,
            &self.payload,
        )
    }

    /// Places the entry after the one with hash `prev_hash` ([`GENESIS`] for the first) at `seq`.
    pub fn seal(self, seq: i64, prev_hash: &str) -> LedgerEntry {
        let hash = hash_of_parts(seq, &self.encoded_fields(), prev_hash);
        LedgerEntry {
            seq,
            hazard_id: self.hazard_id,
            kind: self.kind,
            actor: self.actor,
            role: self.role,
            at: self.at,
            payload: self.payload,
            prev_hash: prev_hash.to_string(),
            hash,
        }
    }
}

impl LedgerEntry {
    /// The hash this entry's content should carry.
    pub fn expected_hash(&self) -> String {
        compute_hash(
            self.seq,
            self.hazard_id.as_deref(),
            &self.kind,
            self.actor.as_deref(),
            self.role.as_deref(),
            &self.at,
            &self.payload,
            &self.prev_hash,
        )
    }
}

/// Formats an instant as the ledger's RFC 3339 time in Asia/Shanghai (`+08:00`, microseconds).
pub fn ledger_time(at: DateTime<Utc>) -> String {
    // Shanghai has had no daylight saving since 1991, so a fixed offset is exact.
    let shanghai = FixedOffset::east_opt(8 * 3600).expect("+08:00 is a valid offset");
    at.with_timezone(&shanghai)
        .to_rfc3339_opts(SecondsFormat::Micros, false)
}

fn put_text(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn put_opt(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            put_text(out, s);
        }
    }
}

/// Part 1 of the canonical encoding: the tag as a text.
pub fn encoded_tag() -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + TAG.len());
    put_text(&mut out, TAG);
    out
}

/// Part 3 of the canonical encoding: `hazard_id`, `kind`, `actor`, `role`, `at`, `payload`.
/// Between the tag and these comes `seq`, after them `prev_hash` as a text: the two fields a
/// store learns only while it appends.
pub fn encoded_fields(
    hazard_id: Option<&str>,
    kind: &str,
    actor: Option<&str>,
    role: Option<&str>,
    at: &str,
    payload: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + kind.len() + at.len() + payload.len());
    put_opt(&mut out, hazard_id);
    put_text(&mut out, kind);
    put_opt(&mut out, actor);
    put_opt(&mut out, role);
    put_text(&mut out, at);
    put_text(&mut out, payload);
    out
}

/// Lower-case hex SHA-256 of the canonical encoding described in the module documentation.
// The eight arguments are the eight hashed fields; a struct would only rename them.
#[allow(clippy::too_many_arguments)]
pub fn compute_hash(
    seq: i64,
    hazard_id: Option<&str>,
    kind: &str,
    actor: Option<&str>,
    role: Option<&str>,
    at: &str,
    payload: &str,
    prev_hash: &str,
) -> String {
    let fields = encoded_fields(hazard_id, kind, actor, role, at, payload);
    hash_of_parts(seq, &fields, prev_hash)
}

/// The hash over the tag, `seq`, the [`encoded_fields`] and `prev_hash`.
fn hash_of_parts(seq: i64, fields: &[u8], prev_hash: &str) -> String {
    let mut prev = Vec::with_capacity(8 + prev_hash.len());
    put_text(&mut prev, prev_hash);
    let mut h = Sha256::new();
    h.update(encoded_tag());
    h.update(seq.to_be_bytes());
    h.update(fields);
    h.update(prev);
    hex::encode(h.finalize())
}

/// An intact chain (or chain segment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifySummary {
    /// Entries checked.
    pub entries: u64,
    /// Sequence of the last entry checked (0 when none, or the resume point).
    pub last_seq: i64,
    /// Hash of the last entry checked ([`GENESIS`] for an empty ledger).
    pub head: String,
}

/// What kind of break [`verify`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakKind {
    /// A sequence number is missing: the entry was deleted.
    MissingEntry,
    /// A sequence number repeats or goes backwards.
    OutOfOrder,
    /// The entry's content no longer matches its hash: it was edited.
    ContentEdited,
    /// The entry does not point at the previous entry's hash.
    BrokenLink,
}

/// The first break in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyError {
    /// The sequence number of the first bad (or missing) entry.
    pub first_bad_seq: i64,
    /// The kind of break.
    pub kind: BreakKind,
    /// A one-line English explanation.
    pub reason: String,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ledger broken at entry {}: {}",
            self.first_bad_seq, self.reason
        )
    }
}

impl std::error::Error for VerifyError {}

/// Checks entries one at a time, so a caller can stream them from storage in pages.
#[derive(Debug, Clone)]
pub struct Verifier {
    last_seq: i64,
    head: String,
    entries: u64,
}

impl Default for Verifier {
    fn default() -> Self {
        Self::new()
    }
}

impl Verifier {
    /// Starts at the beginning of the ledger (next entry must be seq 1 with prev [`GENESIS`]).
    pub fn new() -> Self {
        Self::resume(0, GENESIS)
    }

    /// Continues after a trusted entry `(last_seq, head)`.
    pub fn resume(last_seq: i64, head: &str) -> Self {
        Self {
            last_seq,
            head: head.to_string(),
            entries: 0,
        }
    }

    /// Checks the next entry in sequence order.
    pub fn push(&mut self, e: &LedgerEntry) -> Result<(), VerifyError> {
        let expected = self.last_seq + 1;
        if e.seq > expected {
            return Err(VerifyError {
                first_bad_seq: expected,
                kind: BreakKind::MissingEntry,
                reason: format!("entry {expected} is missing (next present is {})", e.seq),
            });
        }
        if e.seq < expected {
            return Err(VerifyError {
                first_bad_seq: e.seq,
                kind: BreakKind::OutOfOrder,
                reason: format!("entry {} appears where {expected} was expected", e.seq),
            });
        }
        if e.expected_hash() != e.hash {
            return Err(VerifyError {
                first_bad_seq: e.seq,
                kind: BreakKind::ContentEdited,
                reason: "content does not match its hash".to_string(),
            });
        }
        if e.prev_hash != self.head {
            return Err(VerifyError {
                first_bad_seq: e.seq,
                kind: BreakKind::BrokenLink,
                reason: "previous hash does not match the preceding entry".to_string(),
            });
        }
        self.last_seq = e.seq;
        self.head = e.hash.clone();
        self.entries += 1;
        Ok(())
    }

    /// What has been verified so far.
    pub fn summary(&self) -> VerifySummary {
        VerifySummary {
            entries: self.entries,
            last_seq: self.last_seq,
            head: self.head.clone(),
        }
    }
}

/// Verifies a whole ledger given in sequence order, from seq 1.
pub fn verify<I, E>(entries: I) -> Result<VerifySummary, VerifyError>
where
    I: IntoIterator<Item = E>,
    E: Borrow<LedgerEntry>,
{
    let mut v = Verifier::new();
    for e in entries {
        v.push(e.borrow())?;
    }
    Ok(v.summary())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn chain(n: i64) -> Vec<LedgerEntry> {
        let mut out: Vec<LedgerEntry> = Vec::new();
        for seq in 1..=n {
            let prev = out.last().map_or(GENESIS.to_string(), |e| e.hash.clone());
            let entry = NewEntry {
                hazard_id: (seq % 3 != 0).then(|| format!("hz-{}", seq % 2)),
                kind: "hazard.submitted".into(),
                actor: (seq % 4 != 0).then(|| "u1".to_string()),
                role: Some("enterprise_principal".into()),
                at: format!("2023-10-08T09:00:{:02}.000000+08:00", seq % 60),
                payload: format!(r#"{{"n":{seq},"text":"整改"}}"#),
            }
            .seal(seq, &prev);
            out.push(entry);
        }
        out
    }

    fn broken(entries: &[LedgerEntry]) -> VerifyError {
        verify(entries).expect_err("break not detected")
    }

    #[test]
    fn intact_chain_verifies() {
        let c = chain(20);
        let s = verify(&c).unwrap();
        assert_eq!((s.entries, s.last_seq), (20, 20));
        assert_eq!(s.head, c[19].hash);
        assert_eq!(c[0].prev_hash, GENESIS);
        assert_eq!(c[0].hash.len(), 64);
        assert!(
            c[0].hash
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert!(verify(c.clone()).is_ok(), "owned entries work too");
    }

    #[test]
    fn empty_ledger_verifies_at_genesis() {
        let s = verify(Vec::<LedgerEntry>::new()).unwrap();
        assert_eq!((s.entries, s.last_seq, s.head.as_str()), (0, 0, GENESIS));
    }

    #[test]
    fn edited_payload_is_detected() {
        let mut c = chain(10);
        c[4].payload = r#"{"n":5,"text":"已整改"}"#.into();
        let e = broken(&c);
        assert_eq!((e.first_bad_seq, e.kind), (5, BreakKind::ContentEdited));
    }

    #[test]
    fn every_field_is_covered_by_the_hash() {
        let base = chain(3);
        let edits: Vec<fn(&mut LedgerEntry)> = vec![
            |e| e.hazard_id = None,
            |e| e.hazard_id = Some("hz-9".into()),
            |e| e.kind.push('x'),
            |e| e.actor = Some("u2".into()),
            |e| e.role = None,
            |e| e.at = "2023-10-08T09:00:02.000001+08:00".into(),
            |e| e.payload.push(' '),
            |e| e.hash = e.hash.to_uppercase(),
        ];
        for edit in edits {
            let mut c = base.clone();
            edit(&mut c[1]);
            assert_eq!(broken(&c).first_bad_seq, 2);
        }
    }

    #[test]
    fn edit_with_recomputed_hash_breaks_the_next_link() {
        let mut c = chain(10);
        c[4].payload = "{}".into();
        c[4].hash = c[4].expected_hash();
        let e = broken(&c);
        assert_eq!((e.first_bad_seq, e.kind), (6, BreakKind::BrokenLink));
    }

    #[test]
    fn deleted_middle_entry_is_named() {
        let mut c = chain(10);
        c.remove(6);
        let e = broken(&c);
        assert_eq!((e.first_bad_seq, e.kind), (7, BreakKind::MissingEntry));
    }

    #[test]
    fn deleted_first_entry_is_named() {
        let c = chain(5);
        let e = broken(&c[1..]);
        assert_eq!((e.first_bad_seq, e.kind), (1, BreakKind::MissingEntry));
    }

    #[test]
    fn deletion_with_renumbering_breaks_the_link() {
        let mut c = chain(6);
        c.remove(2);
        for e in c.iter_mut().skip(2) {
            e.seq -= 1;
            e.hash = e.expected_hash();
        }
        let e = broken(&c);
        assert_eq!((e.first_bad_seq, e.kind), (3, BreakKind::BrokenLink));
    }

    #[test]
    fn duplicate_or_reordered_entries_are_refused() {
        let mut c = chain(5);
        c.swap(2, 3);
        let e = broken(&c);
        assert_eq!((e.first_bad_seq, e.kind), (3, BreakKind::MissingEntry));
        let mut c = chain(5);
        let dup = c[2].clone();
        c.insert(3, dup);
        let e = broken(&c);
        assert_eq!((e.first_bad_seq, e.kind), (3, BreakKind::OutOfOrder));
    }

    #[test]
    fn wrong_genesis_is_a_broken_link() {
        let mut c = chain(2);
        c[0].prev_hash = "1".repeat(64);
        c[0].hash = c[0].expected_hash();
        let e = broken(&c);
        assert_eq!((e.first_bad_seq, e.kind), (1, BreakKind::BrokenLink));
    }

    #[test]
    fn streaming_in_pages_matches_whole_verify() {
        let c = chain(25);
        let mut v = Verifier::new();
        for page in c.chunks(7) {
            for e in page {
                v.push(e).unwrap();
            }
        }
        assert_eq!(v.summary(), verify(&c).unwrap());
        let mut resumed = Verifier::resume(c[9].seq, &c[9].hash);
        for e in &c[10..] {
            resumed.push(e).unwrap();
        }
        assert_eq!(resumed.summary().head, c[24].hash);
        assert_eq!(resumed.summary().entries, 15);
    }

    #[test]
    fn encoding_is_unambiguous() {
        // Moving bytes between adjacent fields must change the hash.
        let a = compute_hash(1, Some("ab"), "c", None, None, "t", "{}", GENESIS);
        let b = compute_hash(1, Some("a"), "bc", None, None, "t", "{}", GENESIS);
        assert_ne!(a, b);
        let none = compute_hash(1, None, "k", None, None, "t", "{}", GENESIS);
        let empty = compute_hash(1, Some(""), "k", None, None, "t", "{}", GENESIS);
        assert_ne!(none, empty);
        let actor = compute_hash(1, None, "k", Some("x"), None, "t", "{}", GENESIS);
        let role = compute_hash(1, None, "k", None, Some("x"), "t", "{}", GENESIS);
        assert_ne!(actor, role);
    }

    #[test]
    fn hash_is_stable_across_releases() {
        // Pinned so a change to the encoding cannot slip in unnoticed: stored chains would break.
        let h = compute_hash(
            1,
            Some("hz-1"),
            "hazard.created",
            Some("u1"),
            Some("enterprise_reporter"),
            "2023-10-08T09:00:00.000000+08:00",
            "{}",
            GENESIS,
        );
        assert_eq!(h, PINNED);
    }

    /// Computed independently (Python hashlib) from the encoding in the module documentation.
    const PINNED: &str = "59579421577c378821069c32ced20ab898a81f2369f9bc879223a110cd7fa174";

    #[test]
    fn ledger_time_is_shanghai() {
        let t = Utc.with_ymd_and_hms(2023, 10, 7, 16, 30, 0).unwrap();
        assert_eq!(ledger_time(t), "2023-10-08T00:30:00.000000+08:00");
    }

    #[test]
    fn verify_error_message_names_the_entry() {
        let mut c = chain(3);
        c[2].kind = "x".into();
        assert_eq!(
            broken(&c).to_string(),
            "ledger broken at entry 3: content does not match its hash"
        );
    }
}
