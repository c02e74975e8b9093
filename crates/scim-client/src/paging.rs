//! The paging rules of a listing, without I/O: index paging (RFC 7644 §3.4.2.4)
//! and cursor paging (RFC 9865).
//!
//! A listing is only trusted when it ends cleanly:
//!
//! - the next `startIndex` is the page's `startIndex` plus the number of resources it
//!   actually held (never the requested `count`: servers cap it silently);
//! - the listing is complete when `totalResults` distinct records were collected, or
//!   when a page comes back empty and no `totalResults` was announced; a cursor
//!   listing ends on the page without `nextCursor`;
//! - an empty page, running past `totalResults`, or the last cursor page, with fewer
//!   records than announced is [`ScimError::IncompleteListing`];
//! - a page with only ids already seen is [`ScimError::NoNewIds`] (the server ignores
//!   `startIndex`) or, naming a next cursor, [`ScimError::CursorNoProgress`]; needing more pages than the
//!   page cap is [`ScimError::PageCapExceeded`]: neither loops forever.
//!
//! One exception to the third rule: a page asked for past the end that repeats
//! records already read, when the distinct records read equal `totalResults`, ends
//! the listing. Some servers answer a `startIndex` past the end with the first page
//! again; the listing is complete all the same.
//!
//! The page cap follows what the server announced: `ceil(totalResults / page size)`
//! pages plus a tenth and two more, the page size being what the first page held
//! (servers may cap pages at 50 whatever `count` asks). It never exceeds the
//! configured maximum, which alone applies while no `totalResults` is known or once
//! it is distrusted.
//!
//! Records are de-duplicated by id, since pages may shift when records are created
//! between two requests.
//!
//! A `totalResults` lower than the truth would end the listing early and make owned
//! records look missing (and be created again). Two rules catch it: when the page that
//! reaches `totalResults` is full (as many records as asked for), one more page is
//! read to confirm the end; and once more records arrived than announced, the count is
//! distrusted and the listing goes on until an empty page. A lie that ends exactly on a
//! short page stays undetectable.
//!
//! [`Pager::plan`] says which index pages will be asked for next if the server keeps
//! to what it announced, so that they can be fetched ahead, concurrently; the pages
//! are still taken in order, and a page that differs from the plan ends it.

use crate::error::ScimError;
use crate::model::ListResponse;

/// The query of the next index page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PageRequest {
    /// 1-based index of the first result wanted.
    pub(crate) start_index: u64,
    /// Results wanted on the page.
    pub(crate) count: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    More,
    Done,
    Incomplete { expected: u64, got: u64 },
}

/// What every listing keeps: the ids seen, the announced total, the page count and
/// the page cap.
#[derive(Debug)]
struct Tally {
    path: String,
    /// The configured maximum of pages.
    max_pages: u32,
    pages: u32,
    seen: foldhash::HashSet<Box<str>>,
    total: Option<u64>,
    /// More records arrived than `totalResults` announced.
    total_too_low: bool,
    /// The records the first non-empty page held: the server's real page size.
    page_size: Option<u64>,
    state: State,
}

impl Tally {
    fn new(path: String, max_pages: u32) -> Self {
        Self {
            path,
            max_pages,
            pages: 0,
            seen: foldhash::HashSet::default(),
            total: None,
            total_too_low: false,
            page_size: None,
            state: State::More,
        }
    }

    fn collected(&self) -> u64 {
        self.seen.len() as u64
    }

    /// The most pages this listing may take, as far as is known now.
    fn cap(&self) -> u32 {
        match (self.total, self.page_size) {
            (Some(total), Some(size)) if !self.total_too_low => {
                let needed = total.div_ceil(size.max(1));
                let cap = needed.saturating_add(needed / 10).saturating_add(2);
                u32::try_from(cap).map_or(self.max_pages, |cap| cap.min(self.max_pages))
            }
            _ => self.max_pages,
        }
    }

    /// `Ok(false)` when the listing is over, the error that ends it, or `Ok(true)`
    /// when one more page may be read.
    fn may_go_on(&self) -> Result<bool, ScimError> {
        match self.state {
            State::Done => Ok(false),
            State::Incomplete { expected, got } => Err(ScimError::IncompleteListing {
                path: self.path.clone(),
                expected,
                got,
            }),
            State::More if self.pages >= self.cap() => Err(ScimError::PageCapExceeded {
                path: self.path.clone(),
                max_pages: self.cap(),
                collected: self.collected(),
            }),
            State::More => Ok(true),
        }
    }

    /// Counts a page, notes its total and page size, and returns its records not
    /// seen before.
    fn take<T>(&mut self, page: ListResponse<T>, id: impl Fn(&T) -> &str) -> Vec<T> {
        self.pages += 1;
        if page.total_results.is_some() {
            self.total = page.total_results;
        }
        if self.page_size.is_none() && !page.resources.is_empty() {
            self.page_size = Some(page.resources.len() as u64);
        }
        page.resources
            .into_iter()
            .filter(|r| self.seen.insert(id(r).into()))
            .collect()
    }

    /// Whether the records read, de-duplicated, are exactly the announced total
    /// (and that total is believed).
    fn has_all_announced(&self) -> bool {
        !self.total_too_low && self.total == Some(self.collected())
    }

    /// Notes that more records arrived than announced.
    fn check_total_too_low(&mut self) {
        let got = self.collected();
        if let Some(total) = self.total
            && got > total
            && !self.total_too_low
        {
            self.total_too_low = true;
            tracing::warn!(
                path = %self.path,
                total_results = total,
                collected = got,
                "the server announced fewer results than it returned; listing until an empty page"
            );
        }
    }
}

/// Paging state of one index listing.
#[derive(Debug)]
pub(crate) struct Pager {
    tally: Tally,
    count: u32,
    next_start: u64,
}

impl Pager {
    pub(crate) fn new(path: impl Into<String>, count: u32, max_pages: u32) -> Self {
        Self {
            tally: Tally::new(path.into(), max_pages),
            count,
            next_start: 1,
        }
    }

    /// The next page to fetch, `None` when the listing is complete, or the error that
    /// ends it.
    pub(crate) fn next_request(&self) -> Result<Option<PageRequest>, ScimError> {
        Ok(self.tally.may_go_on()?.then_some(PageRequest {
            start_index: self.next_start,
            count: self.count,
        }))
    }

    /// Takes the page answering `request` and returns its records not seen before.
    pub(crate) fn accept<T>(
        &mut self,
        request: PageRequest,
        page: ListResponse<T>,
        id: impl Fn(&T) -> &str,
    ) -> Result<Vec<T>, ScimError> {
        let start = page
            .start_index
            .filter(|&s| s >= 1)
            .unwrap_or(request.start_index);
        let returned = page.resources.len() as u64;
        let fresh = self.tally.take(page, id);
        let tally = &mut self.tally;
        if returned == 0 {
            tally.state = match tally.total {
                Some(expected) if tally.collected() < expected => State::Incomplete {
                    expected,
                    got: tally.collected(),
                },
                _ => State::Done,
            };
            return Ok(fresh);
        }
        if fresh.is_empty() {
            if tally.has_all_announced() {
                // Past the end, the server repeated records already read (some
                // answer the first page again): every announced record is here.
                tracing::debug!(
                    path = %tally.path,
                    start_index = request.start_index,
                    "a page past the end repeated records already read; the listing is complete"
                );
                tally.state = State::Done;
                return Ok(fresh);
            }
            return Err(ScimError::NoNewIds {
                path: tally.path.clone(),
                page: tally.pages,
                start_index: request.start_index,
            });
        }
        self.next_start = start.saturating_add(returned);
        tally.check_total_too_low();
        let got = tally.collected();
        let full = returned >= u64::from(request.count);
        if let Some(total) = tally.total {
            if tally.total_too_low || (got == total && full) {
                tally.state = State::More;
            } else if got >= total {
                tally.state = State::Done;
            } else if self.next_start > total {
                tally.state = State::Incomplete {
                    expected: total,
                    got,
                };
            }
        }
        Ok(fresh)
    }

    /// The requests [`next_request`](Self::next_request) will return next, in order,
    /// if every page holds as many new records as the first one did and
    /// `totalResults` stays as announced; nothing while no total is known or it is
    /// distrusted. Never more than the page cap allows.
    pub(crate) fn plan(&self) -> Plan {
        let tally = &self.tally;
        let next = match (tally.state, tally.total, tally.page_size) {
            (State::More, Some(_), Some(_)) if !tally.total_too_low => Some(self.next_start),
            _ => None,
        };
        Plan {
            next,
            step: tally.page_size.unwrap_or(1).max(1),
            total: tally.total.unwrap_or(0),
            count: self.count,
            remaining: tally.cap().saturating_sub(tally.pages),
        }
    }
}

/// The index pages a listing is expected to ask for next; see [`Pager::plan`].
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    next: Option<u64>,
    step: u64,
    total: u64,
    count: u32,
    remaining: u32,
}

impl Iterator for Plan {
    type Item = PageRequest;

    fn next(&mut self) -> Option<PageRequest> {
        if self.remaining == 0 {
            return None;
        }
        let start = self.next?;
        self.next = if start > self.total {
            // The page confirming the end.
            None
        } else {
            let held = self.step.min(self.total - start + 1);
            let after = start.saturating_add(held);
            // The page reaching the total is followed by a confirming one when full.
            (after <= self.total || held >= u64::from(self.count)).then_some(after)
        };
        self.remaining -= 1;
        Some(PageRequest {
            start_index: start,
            count: self.count,
        })
    }
}

/// The query of the next cursor page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CursorRequest {
    /// The cursor; empty for the first page.
    pub(crate) cursor: String,
    /// Results wanted on the page.
    pub(crate) count: u32,
}

/// Paging state of one cursor listing (RFC 9865): sequential, each page naming the
/// next.
#[derive(Debug)]
pub(crate) struct CursorPager {
    tally: Tally,
    count: u32,
    cursor: String,
}

impl CursorPager {
    pub(crate) fn new(path: impl Into<String>, count: u32, max_pages: u32) -> Self {
        Self {
            tally: Tally::new(path.into(), max_pages),
            count,
            cursor: String::new(),
        }
    }

    /// The next page to fetch, `None` when the listing is complete, or the error that
    /// ends it.
    pub(crate) fn next_request(&self) -> Result<Option<CursorRequest>, ScimError> {
        Ok(self.tally.may_go_on()?.then(|| CursorRequest {
            cursor: self.cursor.clone(),
            count: self.count,
        }))
    }

    /// Takes the page answering the last request and returns its records not seen
    /// before.
    pub(crate) fn accept<T>(
        &mut self,
        page: ListResponse<T>,
        id: impl Fn(&T) -> &str,
    ) -> Result<Vec<T>, ScimError> {
        let next_cursor = page.next_cursor.clone();
        let fresh = self.tally.take(page, id);
        let tally = &mut self.tally;
        tally.check_total_too_low();
        match next_cursor {
            // An empty page, or one of repeats, that names a next page: following it
            // could loop.
            Some(_) if fresh.is_empty() => Err(ScimError::CursorNoProgress {
                path: tally.path.clone(),
                page: tally.pages,
            }),
            Some(cursor) => {
                self.cursor = cursor;
                Ok(fresh)
            }
            None => {
                tally.state = match tally.total {
                    Some(expected) if tally.collected() < expected => State::Incomplete {
                        expected,
                        got: tally.collected(),
                    },
                    _ => State::Done,
                };
                Ok(fresh)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A simulated server over `n` records `r1..rn`.
    struct Server {
        n: u64,
        /// The most results per page; `u64::MAX` ignores `count` altogether.
        cap: u64,
        total: Option<u64>,
        ignore_start: bool,
        /// A `startIndex` past the last record is answered with the first page.
        restart_past_end: bool,
    }

    impl Server {
        fn page(&self, req: PageRequest) -> ListResponse<String> {
            let start = if self.ignore_start || (self.restart_past_end && req.start_index > self.n)
            {
                1
            } else {
                req.start_index
            };
            let count = if self.cap == u64::MAX {
                self.n
            } else {
                u64::from(req.count).min(self.cap)
            };
            let ids: Vec<String> = (start..start + count)
                .filter(|i| *i <= self.n)
                .map(|i| format!("r{i}"))
                .collect();
            let mut page = ListResponse::new(ids);
            page.total_results = self.total;
            page.start_index = Some(start);
            page
        }
    }

    /// Runs a listing to its end: the records, the requests made and the outcome.
    fn list(server: &Server, count: u32, max_pages: u32) -> (Vec<String>, u32, Result<(), String>) {
        let mut pager = Pager::new("/Users", count, max_pages);
        let mut out = Vec::new();
        let mut requests = 0;
        loop {
            match pager.next_request() {
                Ok(None) => return (out, requests, Ok(())),
                Err(e) => return (out, requests, Err(e.to_string())),
                Ok(Some(req)) => {
                    requests += 1;
                    match pager.accept(req, server.page(req), String::as_str) {
                        Ok(items) => out.extend(items),
                        Err(e) => return (out, requests, Err(e.to_string())),
                    }
                }
            }
        }
    }

    fn ids(range: std::ops::RangeInclusive<u64>) -> Vec<String> {
        range.map(|i| format!("r{i}")).collect()
    }

    #[test]
    fn capped_pages_advance_by_what_was_returned() {
        let server = Server {
            n: 5,
            cap: 2,
            total: Some(5),
            ignore_start: false,
            restart_past_end: false,
        };
        assert_eq!(list(&server, 100, 10), (ids(1..=5), 3, Ok(())));
    }

    #[test]
    fn a_server_ignoring_count_is_done_after_one_confirming_page() {
        let server = Server {
            n: 5,
            cap: u64::MAX,
            total: Some(5),
            ignore_start: false,
            restart_past_end: false,
        };
        // The first page is fuller than asked for, so an empty page confirms the end.
        assert_eq!(list(&server, 2, 10), (ids(1..=5), 2, Ok(())));
    }

    #[test]
    fn total_too_high_is_an_incomplete_listing() {
        let server = Server {
            n: 5,
            cap: 2,
            total: Some(7),
            ignore_start: false,
            restart_past_end: false,
        };
        let (records, requests, outcome) = list(&server, 2, 10);
        assert_eq!((records, requests), (ids(1..=5), 4));
        assert_eq!(
            outcome.unwrap_err(),
            "/Users: incomplete listing: the server announced 7 results but the pages held 5"
        );
    }

    #[test]
    fn total_too_low_is_paged_past_once_more_records_arrive() {
        let server = Server {
            n: 5,
            cap: 2,
            total: Some(3),
            ignore_start: false,
            restart_past_end: false,
        };
        // Pages of 2, 2 (now 4 > 3: the count is distrusted), 1, then an empty page.
        assert_eq!(list(&server, 2, 10), (ids(1..=5), 4, Ok(())));
    }

    #[test]
    fn total_too_low_ending_on_a_full_page_is_confirmed_by_one_more_page() {
        let server = Server {
            n: 4,
            cap: 2,
            total: Some(2),
            ignore_start: false,
            restart_past_end: false,
        };
        assert_eq!(list(&server, 2, 10), (ids(1..=4), 3, Ok(())));
    }

    #[test]
    fn a_short_last_page_needs_no_confirmation() {
        let server = Server {
            n: 5,
            cap: 100,
            total: Some(5),
            ignore_start: false,
            restart_past_end: false,
        };
        assert_eq!(list(&server, 100, 10), (ids(1..=5), 1, Ok(())));
    }

    #[test]
    fn no_total_pages_until_empty() {
        let server = Server {
            n: 5,
            cap: 2,
            total: None,
            ignore_start: false,
            restart_past_end: false,
        };
        assert_eq!(list(&server, 2, 10), (ids(1..=5), 4, Ok(())));
        let (_, requests, outcome) = list(&server, 2, 3);
        assert_eq!(requests, 3);
        assert_eq!(
            outcome.unwrap_err(),
            "/Users: listing needs more than 3 pages (5 records so far); check the server's paging (the cap follows its totalResults and page size, within the configured maximum)"
        );
    }

    #[test]
    fn ignored_start_index_is_an_error_not_a_loop() {
        let server = Server {
            n: 5,
            cap: 2,
            total: Some(5),
            ignore_start: true,
            restart_past_end: false,
        };
        let (records, requests, outcome) = list(&server, 2, 100);
        assert_eq!((records, requests), (ids(1..=2), 2));
        assert_eq!(
            outcome.unwrap_err(),
            "/Users: page 2 (startIndex 3) brought no new records; the server appears to ignore startIndex"
        );
    }

    #[test]
    fn empty_results() {
        let server = Server {
            n: 0,
            cap: 2,
            total: Some(0),
            ignore_start: false,
            restart_past_end: false,
        };
        assert_eq!(list(&server, 2, 10), (vec![], 1, Ok(())));
    }

    #[test]
    fn duplicates_from_shifted_pages_are_dropped() {
        let mut pager = Pager::new("/Groups", 2, 10);
        let req = pager.next_request().unwrap().unwrap();
        let mut page = ListResponse::new(vec!["a".to_owned(), "b".to_owned()]);
        page.total_results = Some(3);
        page.start_index = Some(1);
        assert_eq!(pager.accept(req, page, String::as_str).unwrap(), ["a", "b"]);
        let req = pager.next_request().unwrap().unwrap();
        assert_eq!(
            req,
            PageRequest {
                start_index: 3,
                count: 2
            }
        );
        // A record created in between shifted "b" onto this page.
        let mut page = ListResponse::new(vec!["b".to_owned(), "c".to_owned()]);
        page.total_results = Some(3);
        page.start_index = Some(3);
        assert_eq!(pager.accept(req, page, String::as_str).unwrap(), ["c"]);
        // That page was full, so an empty one confirms the end.
        let req = pager.next_request().unwrap().unwrap();
        assert_eq!(req.start_index, 5);
        let mut page = ListResponse::new(Vec::<String>::new());
        page.total_results = Some(3);
        assert!(pager.accept(req, page, String::as_str).unwrap().is_empty());
        assert_eq!(pager.next_request().unwrap(), None);
    }

    fn server(n: u64, cap: u64) -> Server {
        Server {
            n,
            cap,
            total: Some(n),
            ignore_start: false,
            restart_past_end: false,
        }
    }

    #[test]
    fn a_page_past_the_end_repeating_the_first_completes_a_listing_that_has_everything() {
        // 4 records in full pages of 2: the page confirming the end is asked for at
        // startIndex 5, and the server answers the first page again.
        let restarting = Server {
            restart_past_end: true,
            ..server(4, 2)
        };
        assert_eq!(list(&restarting, 2, 10), (ids(1..=4), 3, Ok(())));
        // The same answer with records still missing is a server ignoring startIndex.
        let lying = Server {
            total: Some(6),
            ..restarting
        };
        let (records, requests, outcome) = list(&lying, 2, 10);
        assert_eq!((records, requests), (ids(1..=4), 3));
        assert_eq!(
            outcome.unwrap_err(),
            "/Users: page 3 (startIndex 5) brought no new records; the server appears to ignore startIndex"
        );
    }

    #[test]
    fn a_repeated_first_page_after_a_low_total_is_still_an_error() {
        // The count was distrusted (more records than announced), so repeats prove
        // nothing.
        let low = Server {
            total: Some(3),
            restart_past_end: true,
            ..server(4, 2)
        };
        let (records, _, outcome) = list(&low, 2, 10);
        assert_eq!(records, ids(1..=4));
        assert!(
            outcome.unwrap_err().contains("brought no new records"),
            "a repeated page after a distrusted total fails"
        );
    }

    #[test]
    fn the_page_cap_follows_the_total_and_the_real_page_size() {
        // 2,000 pages of 50 (the server caps `count` 100) pass a configured maximum of
        // 100,000 pages where a fixed cap of 1,000 would have failed.
        assert_eq!(
            list(&server(100_000, 50), 100, 100_000).2,
            Ok(()),
            "100,000 records in pages of 50"
        );
        // With the total known, a server that keeps sending new records is stopped
        // after ceil(total / page size) + a tenth + 2 pages, far below the maximum.
        let mut pager = Pager::new("/Users", 10, 100_000);
        let mut next = 0_u64;
        let outcome = loop {
            let req = match pager.next_request() {
                Ok(Some(req)) => req,
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            };
            let page_ids: Vec<String> = (next..next + 10).map(|i| format!("x{i}")).collect();
            next += 10;
            let mut page = ListResponse::new(page_ids);
            // Always "one more page than I have given you": the count keeps rising,
            // so it is never found too low.
            page.total_results = Some(next + 1_000);
            page.start_index = Some(req.start_index);
            if let Err(e) = pager.accept(req, page, String::as_str) {
                break Err(e);
            }
        };
        // The cap of a listing grows with its announced total, here by 1,000 records
        // a page, and is bounded by the configured maximum.
        let error = outcome.unwrap_err();
        assert!(
            matches!(
                error,
                ScimError::PageCapExceeded {
                    max_pages: 100_000,
                    ..
                }
            ),
            "{error:?}"
        );
        let bounded = Pager::new("/Users", 10, 100_000);
        assert_eq!(bounded.tally.cap(), 100_000, "no total yet: the maximum");
        let mut pager = Pager::new("/Users", 100, 100_000);
        let req = pager.next_request().unwrap().unwrap();
        let mut page = ListResponse::new((1..=50).map(|i| format!("r{i}")).collect());
        page.total_results = Some(1_000);
        pager.accept(req, page, String::as_str).unwrap();
        // 20 pages of 50, plus 2 and plus 2.
        assert_eq!(pager.tally.cap(), 24);
        let mut page = ListResponse::new(vec!["s1".to_owned()]);
        page.total_results = Some(1_000_000_000_000);
        let req = pager.next_request().unwrap().unwrap();
        pager.accept(req, page, String::as_str).unwrap();
        assert_eq!(pager.tally.cap(), 100_000, "bounded by the maximum");
    }

    /// The requests a sequential listing makes after its first page, next to what
    /// the plan made after that page predicted.
    fn planned_and_made(server: &Server, count: u32) -> (Vec<PageRequest>, Vec<PageRequest>) {
        let mut pager = Pager::new("/Users", count, 100);
        let first = pager.next_request().unwrap().unwrap();
        pager
            .accept(first, server.page(first), String::as_str)
            .unwrap();
        let plan: Vec<PageRequest> = pager.plan().collect();
        let mut made = Vec::new();
        while let Ok(Some(req)) = pager.next_request() {
            made.push(req);
            if pager.accept(req, server.page(req), String::as_str).is_err() {
                break;
            }
        }
        (plan, made)
    }

    #[test]
    fn the_plan_is_exactly_what_an_honest_server_makes_the_pager_ask_for() {
        for n in 0..=23 {
            for cap in [1, 2, 3, 5, 7, 50, u64::MAX] {
                for count in [1, 2, 3, 4, 10] {
                    let (plan, made) = planned_and_made(&server(n, cap), count);
                    assert_eq!(plan, made, "n={n} cap={cap} count={count}");
                }
            }
        }
        let (plan, _) = planned_and_made(&server(10, 2), 4);
        let starts: Vec<u64> = plan.iter().map(|r| r.start_index).collect();
        assert_eq!(starts, [3, 5, 7, 9], "pages of 2 although 4 were asked for");
        let (plan, _) = planned_and_made(&server(8, 4), 4);
        let starts: Vec<u64> = plan.iter().map(|r| r.start_index).collect();
        assert_eq!(starts, [5, 9], "full pages end with a confirming page");
    }

    #[test]
    fn nothing_is_planned_without_a_believed_total() {
        let no_total = Server {
            total: None,
            ..server(10, 2)
        };
        assert_eq!(planned_and_made(&no_total, 2).0, []);
        let mut pager = Pager::new("/Users", 2, 100);
        let req = pager.next_request().unwrap().unwrap();
        let mut page = ListResponse::new(vec!["a".to_owned(), "b".to_owned(), "c".to_owned()]);
        page.total_results = Some(2);
        pager.accept(req, page, String::as_str).unwrap();
        assert_eq!(pager.plan().count(), 0, "the total was found too low");
    }

    #[test]
    fn the_plan_stops_at_the_page_cap() {
        let mut pager = Pager::new("/Users", 2, 4);
        let req = pager.next_request().unwrap().unwrap();
        pager
            .accept(req, server(100, 2).page(req), String::as_str)
            .unwrap();
        // 4 pages at most, one already read.
        assert_eq!(pager.plan().count(), 3);
    }

    /// A cursor page holding `ids`, naming `next`.
    fn cursor_page(ids: &[&str], total: Option<u64>, next: Option<&str>) -> ListResponse<String> {
        let mut page = ListResponse::new(ids.iter().map(|&i| i.to_owned()).collect());
        page.total_results = total;
        page.next_cursor = next.map(str::to_owned);
        page
    }

    #[test]
    fn a_cursor_listing_follows_next_cursor_to_the_end() {
        let mut pager = CursorPager::new("/Groups", 2, 10);
        let first = pager.next_request().unwrap().unwrap();
        assert_eq!((first.cursor.as_str(), first.count), ("", 2));
        let got = pager
            .accept(
                cursor_page(&["a", "b"], Some(3), Some("c1")),
                String::as_str,
            )
            .unwrap();
        assert_eq!(got, ["a", "b"]);
        assert_eq!(pager.next_request().unwrap().unwrap().cursor, "c1");
        // A record shifted onto the next page is dropped.
        let got = pager
            .accept(cursor_page(&["b", "c"], Some(3), None), String::as_str)
            .unwrap();
        assert_eq!(got, ["c"]);
        assert_eq!(pager.next_request().unwrap(), None);
    }

    #[test]
    fn a_cursor_listing_ending_short_of_its_total_is_incomplete() {
        let mut pager = CursorPager::new("/Users", 2, 10);
        pager
            .accept(
                cursor_page(&["a", "b"], Some(5), Some("c1")),
                String::as_str,
            )
            .unwrap();
        pager
            .accept(cursor_page(&["c"], Some(5), None), String::as_str)
            .unwrap();
        assert_eq!(
            pager.next_request().unwrap_err().to_string(),
            "/Users: incomplete listing: the server announced 5 results but the pages held 3"
        );
    }

    #[test]
    fn a_cursor_page_without_new_records_that_names_a_next_page_is_an_error() {
        let mut pager = CursorPager::new("/Users", 2, 10);
        pager
            .accept(
                cursor_page(&["a", "b"], Some(4), Some("c1")),
                String::as_str,
            )
            .unwrap();
        let error = pager
            .accept(
                cursor_page(&["a", "b"], Some(4), Some("c1")),
                String::as_str,
            )
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "/Users: page 2 of the cursor listing brought no new records but named a next page; the server's cursors do not advance"
        );
        let mut pager = CursorPager::new("/Users", 2, 10);
        assert!(
            pager
                .accept(cursor_page(&[], Some(4), Some("c1")), String::as_str)
                .is_err(),
            "an empty page naming a next one"
        );
    }

    #[test]
    fn a_cursor_listing_is_held_to_its_page_cap() {
        let mut pager = CursorPager::new("/Users", 1, 100);
        let mut read = 0;
        let error = loop {
            match pager.next_request() {
                Ok(Some(_)) => {}
                Ok(None) => panic!("the listing never ends"),
                Err(e) => break e,
            }
            read += 1;
            let id = format!("r{read}");
            pager
                .accept(cursor_page(&[&id], Some(10), Some("more")), String::as_str)
                .unwrap();
        };
        // The total is soon distrusted (more than 10 arrive): the maximum applies.
        assert!(
            matches!(
                error,
                ScimError::PageCapExceeded {
                    max_pages: 100,
                    collected: 100,
                    ..
                }
            ),
            "{error:?}"
        );
    }
}
