//! The request log the emulators and the proxy keep: every request in arrival order,
//! with counters per method and resource.
//!
//! A request is recorded when it arrives, before any fault is injected, so the log
//! shows what a client sent even when it never got an answer. Its `status` is filled
//! in when the response leaves; it stays `None` when no response reached the client
//! (a reset connection, a lost response, or a client that gave up first).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::faults::InjectedFault;

/// An HTTP method, reduced to what the logs need (and ordered, for map keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
    /// Any other method (`HEAD`, `OPTIONS`, …).
    Other,
}

impl Method {
    /// Whether this method writes: `POST`, `PUT`, `PATCH` or `DELETE`.
    pub fn is_write(self) -> bool {
        matches!(self, Self::Post | Self::Put | Self::Patch | Self::Delete)
    }
}

impl From<&axum::http::Method> for Method {
    fn from(method: &axum::http::Method) -> Self {
        match *method {
            axum::http::Method::GET => Self::Get,
            axum::http::Method::POST => Self::Post,
            axum::http::Method::PUT => Self::Put,
            axum::http::Method::PATCH => Self::Patch,
            axum::http::Method::DELETE => Self::Delete,
            _ => Self::Other,
        }
    }
}

/// One request as the emulator saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord<R> {
    /// Arrival order, from 0; not reset by [`RequestLog::clear`].
    pub seq: u64,
    /// The method.
    pub method: Method,
    /// What the path addresses.
    pub resource: R,
    /// The request path, still percent-encoded.
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// Bytes in the request body.
    pub request_bytes: usize,
    /// The status sent to the client; `None` when no response reached it.
    pub status: Option<u16>,
    /// The fault injected into this request, if any.
    pub fault: Option<InjectedFault>,
}

/// An ordered log of requests with counters; cheap to share (`Arc` inside).
#[derive(Debug)]
pub struct RequestLog<R> {
    inner: Arc<Mutex<Inner<R>>>,
}

impl<R> Clone for RequestLog<R> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

#[derive(Debug)]
struct Inner<R> {
    next_seq: u64,
    records: Vec<RequestRecord<R>>,
}

impl<R: Copy + Ord> Default for RequestLog<R> {
    fn default() -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                next_seq: 0,
                records: Vec::new(),
            })),
        }
    }
}

impl<R: Copy + Ord> RequestLog<R> {
    fn lock(&self) -> MutexGuard<'_, Inner<R>> {
        crate::lock(&self.inner)
    }

    /// Every request since the last [`clear`](Self::clear), in arrival order.
    pub fn records(&self) -> Vec<RequestRecord<R>> {
        self.lock().records.clone()
    }

    /// Requests per `(method, resource)`.
    pub fn counts(&self) -> BTreeMap<(Method, R), u64> {
        let mut counts = BTreeMap::new();
        for record in &self.lock().records {
            *counts.entry((record.method, record.resource)).or_insert(0) += 1;
        }
        counts
    }

    /// Requests with this method on this resource.
    pub fn count(&self, method: Method, resource: R) -> u64 {
        self.count_where(|r| r.method == method && r.resource == resource)
    }

    /// Requests with this method, on any resource.
    pub fn count_method(&self, method: Method) -> u64 {
        self.count_where(|r| r.method == method)
    }

    /// Writes: `POST` + `PATCH` + `PUT` + `DELETE`, on any resource.
    pub fn writes(&self) -> u64 {
        self.count_where(|r| r.method.is_write())
    }

    /// All requests.
    pub fn total(&self) -> u64 {
        self.lock().records.len() as u64
    }

    /// The records from arrival number `seq` on (see [`RequestRecord::seq`]).
    pub fn since(&self, seq: u64) -> Vec<RequestRecord<R>> {
        let inner = self.lock();
        let start = inner.records.partition_point(|r| r.seq < seq);
        inner.records[start..].to_vec()
    }

    /// Injected faults by kind, from arrival number `seq` on.
    pub fn faults_since(&self, seq: u64) -> BTreeMap<InjectedFault, u64> {
        let mut counts = BTreeMap::new();
        for fault in self.since(seq).iter().filter_map(|r| r.fault) {
            *counts.entry(fault).or_insert(0) += 1;
        }
        counts
    }

    /// The arrival number the next request gets: the start of a
    /// [`since`](Self::since) window.
    pub fn next_seq(&self) -> u64 {
        self.lock().next_seq
    }

    /// Forgets every record (for example between two runs of a test).
    pub fn clear(&self) {
        self.lock().records.clear();
    }

    fn count_where(&self, predicate: impl Fn(&RequestRecord<R>) -> bool) -> u64 {
        self.lock().records.iter().filter(|r| predicate(r)).count() as u64
    }

    /// Records an arriving request; the returned guard completes it when dropped.
    pub(crate) fn begin(
        &self,
        method: Method,
        resource: R,
        path: String,
        query: Option<String>,
        request_bytes: usize,
    ) -> Pending<R> {
        let mut inner = self.lock();
        let seq = inner.next_seq;
        inner.next_seq += 1;
        inner.records.push(RequestRecord {
            seq,
            method,
            resource,
            path,
            query,
            request_bytes,
            status: None,
            fault: None,
        });
        Pending {
            log: self.clone(),
            seq,
            status: None,
            fault: None,
        }
    }

    fn finish(&self, seq: u64, status: Option<u16>, fault: Option<InjectedFault>) {
        let mut inner = self.lock();
        if let Some(record) = inner.records.iter_mut().rev().find(|r| r.seq == seq) {
            record.status = status;
            record.fault = fault;
        }
    }
}

/// A request in flight; writes its outcome into the log when dropped, so a request
/// whose client went away is still completed (with `status: None`).
pub(crate) struct Pending<R: Copy + Ord> {
    log: RequestLog<R>,
    seq: u64,
    /// The status sent, once known.
    pub(crate) status: Option<u16>,
    fault: Option<InjectedFault>,
}

impl<R: Copy + Ord> Pending<R> {
    /// Records the injected fault at once, so the log shows it while the request is
    /// still in flight (a stalled one, say).
    pub(crate) fn set_fault(&mut self, fault: Option<InjectedFault>) {
        self.fault = fault;
        self.log.finish(self.seq, self.status, fault);
    }
}

impl<R: Copy + Ord> Drop for Pending<R> {
    fn drop(&mut self) {
        self.log.finish(self.seq, self.status, self.fault);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    enum Res {
        A,
        B,
    }

    #[test]
    fn counts_per_method_and_resource_and_writes() {
        let log = RequestLog::<Res>::default();
        for (method, res, status) in [
            (Method::Get, Res::A, 200),
            (Method::Post, Res::A, 201),
            (Method::Patch, Res::B, 204),
            (Method::Get, Res::A, 200),
            (Method::Delete, Res::B, 405),
        ] {
            let mut pending = log.begin(method, res, "/x".into(), None, 0);
            pending.status = Some(status);
        }
        let counts = log.counts();
        assert_eq!(counts.get(&(Method::Get, Res::A)), Some(&2));
        assert_eq!(counts.get(&(Method::Post, Res::A)), Some(&1));
        assert_eq!(counts.len(), 4);
        assert_eq!(log.writes(), 3);
        assert_eq!(log.count_method(Method::Delete), 1);
        assert_eq!(log.total(), 5);
        let statuses: Vec<_> = log.records().iter().map(|r| r.status).collect();
        assert_eq!(
            statuses,
            [Some(200), Some(201), Some(204), Some(200), Some(405)]
        );
        log.clear();
        assert_eq!(log.total(), 0);
        assert_eq!(log.next_seq(), 5);
        let mut pending = log.begin(Method::Get, Res::A, "/y".into(), Some("q=1".into()), 3);
        pending.set_fault(Some(InjectedFault::Stalled));
        drop(pending);
        let records = log.records();
        assert_eq!(records[0].seq, 5);
        assert_eq!(records[0].request_bytes, 3);
        assert_eq!(log.since(5), records);
        assert!(log.since(6).is_empty());
        assert_eq!(
            log.faults_since(0),
            BTreeMap::from([(InjectedFault::Stalled, 1)])
        );
        assert_eq!(records[0].status, None);
        assert_eq!(records[0].query.as_deref(), Some("q=1"));
    }
}
