//! Listing the records a provisioning client owns: those whose `externalId` starts
//! with its prefix.

use std::fmt;

use futures::TryStreamExt;

use super::{Resource, ScimClient};
use crate::error::ScimError;
use crate::filter::Filter;
use crate::model::{Group, ListedGroup, User};

/// How a prefix listing selected the records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListingMode {
    /// The server filtered with `externalId sw "<prefix>"`.
    ServerFilter,
    /// The server refused that filter; everything was listed and selected here.
    ClientFilter,
    /// The server accepted that filter but answered with no record, while an
    /// unfiltered listing holds records with the prefix: it ignores or does not
    /// support `sw` without saying so. Everything was listed and selected here.
    ClientFilterAfterEmptyAnswer,
}

impl ListingMode {
    /// `server filter`, `client-side filter`, or `client-side filter (the server's
    /// filter answered nothing)`, for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ServerFilter => "server filter",
            Self::ClientFilter => "client-side filter",
            Self::ClientFilterAfterEmptyAnswer => {
                "client-side filter (the server's filter answered nothing)"
            }
        }
    }

    /// Whether the records were selected here rather than by the server.
    pub fn is_client_side(self) -> bool {
        !matches!(self, Self::ServerFilter)
    }
}

impl fmt::Display for ListingMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The records whose `externalId` starts with a prefix, from a complete listing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PrefixListing<T> {
    /// The matching records, in the server's order.
    pub records: Vec<T>,
    /// How they were selected.
    pub mode: ListingMode,
}

impl ScimClient {
    /// Lists the users whose `externalId` starts with `prefix` (an exact,
    /// case-sensitive match: `externalId` is caseExact).
    ///
    /// Asks the server with `externalId sw "<prefix>"`; if it rejects the filter
    /// (`400 invalidFilter`, `501`, or a `400` naming the filter), lists all users and
    /// selects here, logging that once at `warn`. The prefix is checked here in every
    /// mode, so a server that ignores the filter cannot hand out records that are
    /// not ours.
    ///
    /// An empty filtered answer is never believed blindly: a server that ignores an
    /// operator it does not support may answer `200` with nothing, and believing it
    /// would make every run create duplicates (or fail on conflicts). So when the
    /// filtered listing holds no record with the prefix, an unfiltered listing
    /// confirms it; if that one does hold such records, they are the result, the mode
    /// is [`ListingMode::ClientFilterAfterEmptyAnswer`], and a `warn` says so. The
    /// price is one unfiltered listing while nothing is owned yet.
    pub async fn list_users_with_prefix(
        &self,
        prefix: &str,
    ) -> Result<PrefixListing<User>, ScimError> {
        self.list_with_prefix(prefix, |user| user).await
    }

    /// Lists the users whose `externalId` starts with `prefix`, as
    /// [`list_users_with_prefix`](Self::list_users_with_prefix) does, handing each one
    /// to `convert` as its page arrives: only what `convert` returns is kept, never
    /// the whole listing of full records.
    pub async fn list_users_with_prefix_as<O>(
        &self,
        prefix: &str,
        convert: impl FnMut(User) -> O,
    ) -> Result<PrefixListing<O>, ScimError> {
        self.list_with_prefix(prefix, convert).await
    }

    /// Lists the groups whose `externalId` starts with `prefix`; as
    /// [`list_users_with_prefix`](Self::list_users_with_prefix).
    pub async fn list_groups_with_prefix(
        &self,
        prefix: &str,
    ) -> Result<PrefixListing<Group>, ScimError> {
        self.list_with_prefix(prefix, |group| group).await
    }

    /// Lists the groups whose `externalId` starts with `prefix`, converting each as
    /// its page arrives; as [`list_users_with_prefix_as`](Self::list_users_with_prefix_as).
    /// Each group is decoded as a [`ListedGroup`] (its member ids, not every member's
    /// attributes), so a page of large groups costs little more than its ids.
    pub async fn list_groups_with_prefix_as<O>(
        &self,
        prefix: &str,
        convert: impl FnMut(ListedGroup) -> O,
    ) -> Result<PrefixListing<O>, ScimError> {
        self.list_with_prefix(prefix, convert).await
    }

    async fn list_with_prefix<T: Resource, O>(
        &self,
        prefix: &str,
        mut convert: impl FnMut(T) -> O,
    ) -> Result<PrefixListing<O>, ScimError> {
        let filter = Filter::sw("externalId", prefix);
        let (selected, mut mode) = match self
            .select_pages::<T, O>(Some(filter), prefix, &mut convert)
            .await
        {
            Ok(selected) => (selected, ListingMode::ServerFilter),
            Err(error) if error.is_filter_rejection() => {
                tracing::warn!(
                    endpoint = T::ENDPOINT.as_str(),
                    %error,
                    "the server rejected the externalId filter; listing everything and selecting by prefix here"
                );
                let all = self
                    .select_pages::<T, O>(None, prefix, &mut convert)
                    .await?;
                (all, ListingMode::ClientFilter)
            }
            Err(error) => return Err(error),
        };
        let Selected {
            mut records,
            listed,
        } = selected;
        if mode == ListingMode::ServerFilter && records.len() < listed {
            tracing::warn!(
                endpoint = T::ENDPOINT.as_str(),
                ignored = listed - records.len(),
                "the server returned records outside the externalId filter; they were ignored"
            );
        }
        if mode == ListingMode::ServerFilter && records.is_empty() {
            let all = self
                .select_pages::<T, O>(None, prefix, &mut convert)
                .await?
                .records;
            if !all.is_empty() {
                tracing::warn!(
                    endpoint = T::ENDPOINT.as_str(),
                    owned = all.len(),
                    "the server answered the externalId filter with nothing, but an unfiltered listing holds owned records: it ignores the filter; selecting by prefix here for this run"
                );
                records = all;
                mode = ListingMode::ClientFilterAfterEmptyAnswer;
            }
        }
        Ok(PrefixListing { records, mode })
    }

    /// Lists with `filter`, keeping page by page the records whose `externalId`
    /// starts with `prefix` (exactly: it is caseExact), converted.
    async fn select_pages<T: Resource, O>(
        &self,
        filter: Option<Filter>,
        prefix: &str,
        convert: &mut impl FnMut(T) -> O,
    ) -> Result<Selected<O>, ScimError> {
        let mut selected = Selected {
            records: Vec::new(),
            listed: 0,
        };
        let mut pages = std::pin::pin!(self.list_pages::<T>(filter));
        while let Some(page) = pages.try_next().await? {
            selected.listed += page.len();
            selected.records.extend(
                page.into_iter()
                    .filter(|r| r.external_id().is_some_and(|x| x.starts_with(prefix)))
                    .map(&mut *convert),
            );
        }
        Ok(selected)
    }
}

/// The records of a listing kept by prefix, and how many were listed.
struct Selected<O> {
    records: Vec<O>,
    listed: usize,
}
