//! The paging rules of a listing, without I/O (RFC 7644 §3.4.2.4).
//!
//! A listing is only trusted when it ends cleanly:
//!
//! - the next `startIndex` is the page's `startIndex` plus the number of resources it
//!   actually held (never the requested `count`: servers cap it silently);
//! - the listing is complete when `totalResults` distinct records were collected, or
//!   when a page comes back empty and no `totalResults` was announced;
//! - an empty page, or running past `totalResults`, with fewer records than announced
//!   is [`ScimError::IncompleteListing`];
//! - a page with only ids already seen is [`ScimError::NoNewIds`] (the server ignores
//!   `startIndex`), and needing more than `max_pages` pages is
//!   [`ScimError::PageCapExceeded`]: neither loops forever.
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

use std::collections::HashSet;

use crate::error::ScimError;
use crate::model::ListResponse;

/// The query of the next page.
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

/// Paging state of one listing.
#[derive(Debug)]
pub(crate) struct Pager {
    path: String,
    count: u32,
    max_pages: u32,
    next_start: u64,
    pages: u32,
    seen: HashSet<String>,
    total: Option<u64>,
    /// More records arrived than `totalResults` announced.
    total_too_low: bool,
    state: State,
}

impl Pager {
    pub(crate) fn new(path: impl Into<String>, count: u32, max_pages: u32) -> Self {
        Self {
            path: path.into(),
            count,
            max_pages,
            next_start: 1,
            pages: 0,
            seen: HashSet::new(),
            total: None,
            total_too_low: false,
            state: State::More,
        }
    }

    /// The next page to fetch, `None` when the listing is complete, or the error that
    /// ends it.
    pub(crate) fn next_request(&self) -> Result<Option<PageRequest>, ScimError> {
        match self.state {
            State::Done => Ok(None),
            State::Incomplete { expected, got } => Err(ScimError::IncompleteListing {
                path: self.path.clone(),
                expected,
                got,
            }),
            State::More if self.pages >= self.max_pages => Err(ScimError::PageCapExceeded {
                path: self.path.clone(),
                max_pages: self.max_pages,
                collected: self.collected(),
            }),
            State::More => Ok(Some(PageRequest {
                start_index: self.next_start,
                count: self.count,
            })),
        }
    }

    /// Takes the page answering `request` and returns its records not seen before.
    pub(crate) fn accept<T>(
        &mut self,
        request: PageRequest,
        page: ListResponse<T>,
        id: impl Fn(&T) -> &str,
    ) -> Result<Vec<T>, ScimError> {
        self.pages += 1;
        if page.total_results.is_some() {
            self.total = page.total_results;
        }
        let returned = page.resources.len() as u64;
        if returned == 0 {
            self.state = match self.total {
                Some(expected) if self.collected() < expected => State::Incomplete {
                    expected,
                    got: self.collected(),
                },
                _ => State::Done,
            };
            return Ok(Vec::new());
        }
        let fresh: Vec<T> = page
            .resources
            .into_iter()
            .filter(|r| self.seen.insert(id(r).to_owned()))
            .collect();
        if fresh.is_empty() {
            return Err(ScimError::NoNewIds {
                path: self.path.clone(),
                page: self.pages,
                start_index: request.start_index,
            });
        }
        let start = page
            .start_index
            .filter(|&s| s >= 1)
            .unwrap_or(request.start_index);
        self.next_start = start.saturating_add(returned);
        let got = self.collected();
        let full = returned >= u64::from(request.count);
        if let Some(total) = self.total {
            if got > total && !self.total_too_low {
                self.total_too_low = true;
                tracing::warn!(
                    path = %self.path,
                    total_results = total,
                    collected = got,
                    "the server announced fewer results than it returned; listing until an empty page"
                );
            }
            if self.total_too_low || (got == total && full) {
                self.state = State::More;
            } else if got >= total {
                self.state = State::Done;
            } else if self.next_start > total {
                self.state = State::Incomplete {
                    expected: total,
                    got,
                };
            }
        }
        Ok(fresh)
    }

    fn collected(&self) -> u64 {
        self.seen.len() as u64
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
    }

    impl Server {
        fn page(&self, req: PageRequest) -> ListResponse<String> {
            let start = if self.ignore_start {
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
        };
        assert_eq!(list(&server, 2, 10), (ids(1..=5), 4, Ok(())));
        let (_, requests, outcome) = list(&server, 2, 3);
        assert_eq!(requests, 3);
        assert_eq!(
            outcome.unwrap_err(),
            "/Users: listing needs more than 3 pages (5 records so far); raise the page cap or check the server's paging"
        );
    }

    #[test]
    fn ignored_start_index_is_an_error_not_a_loop() {
        let server = Server {
            n: 5,
            cap: 2,
            total: Some(5),
            ignore_start: true,
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
}
