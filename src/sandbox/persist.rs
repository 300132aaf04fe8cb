//! Durable state for `--state FILE`: an append-only change log, fsynced before a change is
//! answered, and compacted into a single snapshot when the sandbox starts and when it
//! stops cleanly.
//!
//! The main decision: a change costs what it touched, not what the state holds. The
//! rules report every change by key ([`Change`]); a group-commit writer drains those keys
//! under the state lock, writes the *current value* of each touched entity (a user, a
//! subscription, an order, a cart, a tenant's own fields, a stored answer, a token, the
//! clock) as one batch record, appends it and calls `fdatasync`; only then are the waiting
//! requests answered. One record per batch, so a batch is applied on restart whole or
//! not at all: a kill during the write leaves a torn last record, which is recognised by
//! its checksum (or missing newline) and ignored — its changes were never answered.
//! A bad record that is *not* the last one means the file was damaged some other way, and
//! the sandbox refuses to start rather than silently drop what follows.
//!
//! An embedded database (SQLite) would give the same guarantee, but at the price of a C
//! build and of mapping every entity to tables; the log keeps the in-memory model as it
//! is and adds no dependency.
//!
//! File format (`cspmove.sandbox-state/v2`), one record per line:
//! `<16 hex digits: first 8 bytes of the SHA-256 of the JSON> <JSON>\n`. The first record
//! is `{"snapshot": <the whole state>}`; every later one `{"batch": [<entity>, …]}`.
//! A v1 file (the whole state as one JSON document, as earlier versions wrote it) is read
//! too and rewritten as v2 at start.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use super::state::{
    Cart, Change, IssuedToken, Order, OtherChannelSeats, Replay, SandboxState, StateFileError,
    Subscription, Tenant, User,
};

/// The schema tag of a v2 (change log) state file.
pub const LOG_SCHEMA: &str = "cspmove.sandbox-state/v2";

/// A tenant's own fields: everything but its users, subscriptions, orders and carts,
/// which have records of their own.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TenantFields {
    pub id: String,
    pub commerce_id: String,
    pub domain: String,
    pub company_name: String,
    pub country: String,
    pub email: Option<String>,
    pub accepted: bool,
    pub other_channel: Vec<OtherChannelSeats>,
    pub agreements: Vec<Value>,
}

/// One entity written by a batch (an upsert by key).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Entity {
    Tenant {
        tenant: TenantFields,
    },
    User {
        tenant: String,
        user: User,
    },
    Subscription {
        tenant: String,
        subscription: Subscription,
    },
    Order {
        tenant: String,
        order: Order,
    },
    Cart {
        tenant: String,
        cart: Cart,
    },
    Replay {
        key: String,
        replay: Replay,
    },
    Token {
        key: String,
        token: IssuedToken,
    },
    Clock {
        offset_seconds: i64,
    },
}

#[derive(Serialize)]
struct SnapshotOut<'a> {
    schema: &'static str,
    snapshot: &'a SandboxState,
}

#[derive(Deserialize)]
struct SnapshotIn {
    schema: String,
    snapshot: SandboxState,
}

#[derive(Serialize, Deserialize)]
struct Batch {
    batch: Vec<Entity>,
}

fn checksum(json: &[u8]) -> String {
    hex::encode(&Sha256::digest(json)[..8])
}

/// `<checksum> <json>\n`.
fn frame(json: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(checksum(json).as_bytes());
    out.push(b' ');
    out.extend_from_slice(json);
    out.push(b'\n');
}

/// The JSON of a line if its checksum holds.
fn unframe(line: &[u8]) -> Option<&[u8]> {
    if line.len() < 17 || line[16] != b' ' {
        return None;
    }
    let (sum, json) = (&line[..16], &line[17..]);
    (checksum(json).as_bytes() == sum).then_some(json)
}

/// What a state file held.
pub struct Loaded {
    pub state: SandboxState,
    /// Batches applied after the snapshot.
    pub batches: usize,
    /// Whether a torn last record was ignored.
    pub torn_tail: bool,
    /// The file is already one v2 snapshot (a clean stop left it so): compaction on
    /// start has nothing to do.
    pub compacted: bool,
}

/// A state file that cannot be used, beyond [`StateFileError`].
fn damaged(path: &Path, offset: usize, what: &str) -> StateFileError {
    StateFileError::Damaged {
        path: path.to_path_buf(),
        offset,
        what: what.to_string(),
    }
}

/// Reads a state file: the snapshot, then every whole batch after it.
pub fn load(path: &Path) -> Result<Loaded, StateFileError> {
    let bytes = std::fs::read(path).map_err(|source| StateFileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if bytes.first() == Some(&b'{') {
        // v1: the whole state as one JSON document.
        let state = SandboxState::from_v1(path, &bytes)?;
        return Ok(Loaded {
            state,
            batches: 0,
            torn_tail: false,
            compacted: false,
        });
    }
    let mut pos = 0usize;
    let mut state: Option<SandboxState> = None;
    let mut batches = 0;
    let mut torn_tail = false;
    while pos < bytes.len() {
        let end = bytes[pos..]
            .iter()
            .position(|b| *b == b'\n')
            .map(|i| pos + i);
        let line = &bytes[pos..end.unwrap_or(bytes.len())];
        let next = end.map(|e| e + 1).unwrap_or(bytes.len());
        let is_last = next >= bytes.len();
        let json = end.and(unframe(line));
        let Some(json) = json else {
            if state.is_none() {
                return Err(StateFileError::NotState {
                    path: path.to_path_buf(),
                    what: "it does not start with a snapshot record".into(),
                });
            }
            if is_last {
                // A write cut short by a crash: never answered, so never there.
                torn_tail = true;
                break;
            }
            return Err(damaged(
                path,
                pos,
                "a damaged record is followed by more records",
            ));
        };
        match &mut state {
            None => {
                let snap: SnapshotIn =
                    serde_json::from_slice(json).map_err(|source| StateFileError::Json {
                        path: path.to_path_buf(),
                        source,
                    })?;
                if snap.schema != LOG_SCHEMA {
                    return Err(StateFileError::Schema {
                        path: path.to_path_buf(),
                        found: snap.schema,
                    });
                }
                state = Some(snap.snapshot);
            }
            Some(st) => {
                let batch: Batch =
                    serde_json::from_slice(json).map_err(|source| StateFileError::Json {
                        path: path.to_path_buf(),
                        source,
                    })?;
                for entity in batch.batch {
                    st.apply(entity);
                }
                batches += 1;
            }
        }
        pos = next;
    }
    let state = state.ok_or_else(|| damaged(path, 0, "the file holds no snapshot"))?;
    Ok(Loaded {
        state,
        batches,
        torn_tail,
        compacted: batches == 0 && !torn_tail,
    })
}

impl SandboxState {
    /// Applies one logged entity (an upsert by key).
    pub fn apply(&mut self, entity: Entity) {
        match entity {
            Entity::Tenant { tenant: f } => {
                let t = self
                    .customers
                    .entry(f.id.clone())
                    .or_insert_with(|| Tenant::new(&f.id, &f.domain, &f.company_name, &f.country));
                t.commerce_id = f.commerce_id;
                t.domain = f.domain;
                t.company_name = f.company_name;
                t.country = f.country;
                t.email = f.email;
                t.accepted = f.accepted;
                t.other_channel = f.other_channel;
                t.agreements = f.agreements;
            }
            Entity::User { tenant, user } => {
                if let Some(t) = self.customers.get_mut(&tenant) {
                    t.users.insert(user.id.clone(), user);
                }
            }
            Entity::Subscription {
                tenant,
                subscription,
            } => {
                if let Some(t) = self.customers.get_mut(&tenant) {
                    upsert(&mut t.subscriptions, subscription, |s| &s.id);
                }
            }
            Entity::Order { tenant, order } => {
                if let Some(t) = self.customers.get_mut(&tenant) {
                    upsert(&mut t.orders, order, |o| &o.id);
                }
            }
            Entity::Cart { tenant, cart } => {
                if let Some(t) = self.customers.get_mut(&tenant) {
                    upsert(&mut t.carts, cart, |c| &c.id);
                }
            }
            Entity::Replay { key, replay } => {
                self.replays.insert(key, replay);
            }
            Entity::Token { key, token } => {
                self.tokens.insert(key, token);
            }
            Entity::Clock { offset_seconds } => self.clock_offset_seconds = offset_seconds,
        }
    }

    /// The current value of what a change touched (`None` if it is gone, such as a
    /// pruned token).
    fn entity(&self, change: &Change) -> Option<Entity> {
        let tenant = |id: &str| self.customers.get(id);
        Some(match change {
            Change::Tenant(id) => {
                let t = tenant(id)?;
                Entity::Tenant {
                    tenant: TenantFields {
                        id: t.id.clone(),
                        commerce_id: t.commerce_id.clone(),
                        domain: t.domain.clone(),
                        company_name: t.company_name.clone(),
                        country: t.country.clone(),
                        email: t.email.clone(),
                        accepted: t.accepted,
                        other_channel: t.other_channel.clone(),
                        agreements: t.agreements.clone(),
                    },
                }
            }
            Change::User(id, uid) => Entity::User {
                tenant: id.clone(),
                user: tenant(id)?.users.get(uid)?.clone(),
            },
            Change::Subscription(id, sid) => Entity::Subscription {
                tenant: id.clone(),
                subscription: tenant(id)?.subscription(sid)?.clone(),
            },
            Change::Order(id, oid) => Entity::Order {
                tenant: id.clone(),
                order: tenant(id)?.orders.iter().find(|o| &o.id == oid)?.clone(),
            },
            Change::Cart(id, cid) => Entity::Cart {
                tenant: id.clone(),
                cart: tenant(id)?.carts.iter().find(|c| &c.id == cid)?.clone(),
            },
            Change::Replay(key) => Entity::Replay {
                key: key.clone(),
                replay: self.replays.get(key)?.clone(),
            },
            Change::Token(key) => Entity::Token {
                key: key.clone(),
                token: self.tokens.get(key)?.clone(),
            },
            Change::Clock => Entity::Clock {
                offset_seconds: self.clock_offset_seconds,
            },
        })
    }

    /// Drains the pending changes into one framed batch record; returns it with the
    /// version it makes durable (`None` when nothing is pending).
    pub fn take_batch(&mut self) -> Option<(Vec<u8>, u64)> {
        if self.changes.is_empty() {
            return None;
        }
        let keys: BTreeSet<Change> = std::mem::take(&mut self.changes).into_iter().collect();
        let batch = Batch {
            batch: keys.iter().filter_map(|k| self.entity(k)).collect(),
        };
        let json = serde_json::to_vec(&batch).expect("state serialises");
        let mut out = Vec::with_capacity(json.len() + 18);
        frame(&json, &mut out);
        Some((out, self.version))
    }
}

fn upsert<T>(items: &mut Vec<T>, item: T, id: impl Fn(&T) -> &String) {
    match items.iter_mut().find(|x| id(x) == id(&item)) {
        Some(slot) => *slot = item,
        None => items.push(item),
    }
}

/// The open change log of a running sandbox, with its group-commit channels.
pub struct ChangeLog {
    path: PathBuf,
    file: Mutex<File>,
    /// The newest state version someone is waiting to see durable.
    pub wanted: watch::Sender<u64>,
    /// The newest state version durable.
    pub done: watch::Sender<u64>,
}

/// Writes the whole state as a fresh log holding only its snapshot, atomically and
/// durably ([`crate::fsx::write_atomic`]): a crash leaves the old or the new file.
fn write_snapshot(path: &Path, st: &SandboxState) -> std::io::Result<File> {
    let json = serde_json::to_vec(&SnapshotOut {
        schema: LOG_SCHEMA,
        snapshot: st,
    })
    .map_err(std::io::Error::other)?;
    let mut bytes = Vec::with_capacity(json.len() + 18);
    frame(&json, &mut bytes);
    drop(json);
    crate::fsx::write_atomic(path, &bytes).map_err(std::io::Error::other)?;
    OpenOptions::new().append(true).open(path)
}

impl ChangeLog {
    /// Compacts `st` into `path` and opens the log for appending.
    pub fn create(path: &Path, st: &SandboxState) -> std::io::Result<ChangeLog> {
        let file = write_snapshot(path, st)?;
        let version = st.version;
        Ok(ChangeLog {
            path: path.to_path_buf(),
            file: Mutex::new(file),
            wanted: watch::channel(version).0,
            done: watch::channel(version).0,
        })
    }

    /// Opens a file that already holds exactly `st` as its one snapshot, for appending.
    pub fn reopen(path: &Path, st: &SandboxState) -> std::io::Result<ChangeLog> {
        let file = OpenOptions::new().append(true).open(path)?;
        let version = st.version;
        Ok(ChangeLog {
            path: path.to_path_buf(),
            file: Mutex::new(file),
            wanted: watch::channel(version).0,
            done: watch::channel(version).0,
        })
    }

    /// Appends one batch and makes it durable.
    pub fn append(&self, bytes: &[u8]) -> std::io::Result<()> {
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        file.write_all(bytes)?;
        file.sync_data()
    }

    /// Rewrites the file as a single snapshot of `st` (which must hold every logged
    /// change) and appends after it from now on.
    pub fn compact(&self, st: &SandboxState) -> std::io::Result<()> {
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        *file = write_snapshot(&self.path, st)?;
        Ok(())
    }
}

/// The writer task: whenever a request waits for its change, drains every pending change
/// into one batch, appends and fsyncs it, and releases everyone it covered.
pub async fn writer(app: Arc<super::app::App>, mut wanted: watch::Receiver<u64>) {
    while wanted.changed().await.is_ok() {
        let app2 = app.clone();
        let written = tokio::task::spawn_blocking(move || {
            let log = app2.log.as_ref().expect("writer runs with a log");
            let taken = app2.lock().take_batch();
            match taken {
                Some((bytes, version)) => log.append(&bytes).map(|()| version),
                None => Ok(app2.lock().version),
            }
        })
        .await;
        let Some(log) = &app.log else { break };
        match written {
            Ok(Ok(version)) => {
                log.done.send_if_modified(|d| {
                    let moved = version > *d;
                    *d = (*d).max(version);
                    moved
                });
            }
            Ok(Err(err)) => {
                tracing::error!(
                    "cannot append to the sandbox state file {}: {err}",
                    log.path.display()
                );
                // Release the waiters rather than hang every request; the changes stay
                // in memory and are in the snapshot written at shutdown.
                let version = app.lock().version;
                log.done.send_replace(version);
            }
            Err(_) => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_catch_damage() {
        let mut out = Vec::new();
        frame(br#"{"a":1}"#, &mut out);
        let line = &out[..out.len() - 1];
        assert_eq!(unframe(line), Some(&br#"{"a":1}"#[..]));
        let mut bad = line.to_vec();
        bad[20] = b'2';
        assert_eq!(unframe(&bad), None);
        assert_eq!(unframe(b"short"), None);
    }
}
