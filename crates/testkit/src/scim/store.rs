//! The in-memory resources of the SCIM emulator: creation, PATCH, listing.
//!
//! Resources are kept as JSON objects in creation order. Every write goes through the
//! same steps: check and normalise the attributes, check the invariants (`userName`
//! present and unique case-insensitively; `displayName` present; group members are
//! existing users), then commit and bump `meta.version` and `meta.lastModified`.
//!
//! A PATCH costs time in proportion to what it changes, not to the size of the
//! group it changes: member edits are staged ([`MemberEdits`]), and only the members
//! it appends are checked and written. That needs no recheck of the stored members
//! because a member, once accepted, stays valid: nothing is ever deleted, and an id
//! names one resource only (no group takes a user's id).
//!
//! A listing costs time in proportion to its page, not to the store: the positions
//! matching the last filter of each kind are kept until the next write, so the pages
//! of one listing (a client reads the owned-prefix filter page after page) evaluate
//! the filter once between them. Each stored resource keeps its JSON text once a
//! listing has serialised it, until the resource changes: a page is assembled from
//! that text, not cloned and serialised again for every request.

use std::cell::{OnceCell, RefCell};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};

use super::filter::Filter;
use super::members::{MemberEdits, member_id};
use super::patch;
use super::quirks::Quirks;
use super::rejection::Rejection;
use super::schema::{CW_USER_EXT, Kind, canonical};
use super::values::{coerce, coerce_extension};
use crate::clock::now_rfc3339;

/// Who is writing: a client request (strict or lenient) or a test seeding state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// An HTTP request; `strict` applies the strict-mode checks, and the server keeps
    /// what `quirks` let it keep.
    Request { strict: bool, quirks: Quirks },
    /// Direct seeding: `id` and `meta` may be given; no strict-mode checks.
    Seed,
}

#[derive(Debug, Default)]
struct Table {
    /// The resources in creation order.
    items: Vec<Map<String, Value>>,
    /// The JSON text of `items[i]`, once serialised, until it changes.
    texts: Vec<OnceCell<Box<str>>>,
    /// Id → position in `items`.
    positions: HashMap<String, usize>,
    /// The positions matching the last filter listed, until the next write.
    selection: RefCell<Option<Selection>>,
}

/// The resources of one table that match a filter, as of one state of the table.
#[derive(Debug)]
struct Selection {
    filter: Filter,
    positions: Arc<[usize]>,
}

impl Table {
    fn get(&self, id: &str) -> Option<&Map<String, Value>> {
        self.positions.get(id).map(|&at| &self.items[at])
    }

    fn get_mut(&mut self, id: &str) -> Option<&mut Map<String, Value>> {
        self.selection.get_mut().take();
        let &at = self.positions.get(id)?;
        self.texts[at].take();
        Some(&mut self.items[at])
    }

    fn contains(&self, id: &str) -> bool {
        self.positions.contains_key(id)
    }

    /// Stores a resource, replacing the one with its id if there is one.
    fn put(&mut self, id: &str, resource: Map<String, Value>) {
        self.selection.get_mut().take();
        if let Some(&at) = self.positions.get(id) {
            self.items[at] = resource;
            self.texts[at].take();
        } else {
            self.positions.insert(id.to_owned(), self.items.len());
            self.items.push(resource);
            self.texts.push(OnceCell::new());
        }
    }

    /// The JSON text of the resource at `at`, serialised on first use.
    fn text(&self, at: usize) -> Result<&str, Rejection> {
        let cell = &self.texts[at];
        if let Some(text) = cell.get() {
            return Ok(text);
        }
        let text = serde_json::to_string(&self.items[at]).map_err(|e| {
            Rejection::new(500, None, format!("a resource cannot be serialised: {e}"))
        })?;
        Ok(cell.get_or_init(|| text.into_boxed_str()))
    }

    /// The positions of the resources matching `filter`, in creation order.
    fn matching(&self, filter: &Filter) -> Arc<[usize]> {
        if let Some(selection) = self.selection.borrow().as_ref()
            && selection.filter == *filter
        {
            return Arc::clone(&selection.positions);
        }
        let positions: Arc<[usize]> = self
            .items
            .iter()
            .enumerate()
            .filter(|(_, r)| filter.matches(r.get(filter.attr).and_then(Value::as_str)))
            .map(|(at, _)| at)
            .collect();
        *self.selection.borrow_mut() = Some(Selection {
            filter: filter.clone(),
            positions: Arc::clone(&positions),
        });
        positions
    }
}

/// All users and groups.
#[derive(Debug)]
pub(crate) struct Store {
    base_url: String,
    users: Table,
    groups: Table,
    /// Lowercased `userName` → user id.
    user_names: HashMap<String, String>,
    /// Group id → the ids of its members.
    member_ids: HashMap<String, HashSet<String>>,
    version: u64,
    ids: SmallRng,
}

impl Store {
    pub(crate) fn new(base_url: String, seed: u64) -> Self {
        Self {
            base_url,
            users: Table::default(),
            groups: Table::default(),
            user_names: HashMap::new(),
            member_ids: HashMap::new(),
            version: 0,
            ids: SmallRng::seed_from_u64(seed ^ 0x5c1d_0000_0000_0001),
        }
    }

    fn table(&self, kind: Kind) -> &Table {
        match kind {
            Kind::User => &self.users,
            Kind::Group => &self.groups,
        }
    }

    fn table_mut(&mut self, kind: Kind) -> &mut Table {
        match kind {
            Kind::User => &mut self.users,
            Kind::Group => &mut self.groups,
        }
    }

    /// One resource by id.
    pub(crate) fn get(&self, kind: Kind, id: &str) -> Option<&Map<String, Value>> {
        self.table(kind).get(id)
    }

    fn found(&self, kind: Kind, id: &str) -> Result<&Map<String, Value>, Rejection> {
        self.get(kind, id)
            .ok_or_else(|| Rejection::not_found(format!("{} {id} not found", kind.resource_type())))
    }

    /// Whether a user or a group has this id.
    fn id_taken(&self, id: &str) -> bool {
        self.users.contains(id) || self.groups.contains(id)
    }

    /// Every resource of a kind, in creation order.
    pub(crate) fn all(&self, kind: Kind) -> impl Iterator<Item = &Map<String, Value>> {
        self.table(kind).items.iter()
    }

    /// The resources matching `filter` (all when `None`), in creation order.
    ///
    /// The filter is evaluated once per state of the store: until the next write,
    /// listing with the same filter again reuses the positions it found.
    #[cfg(test)]
    pub(crate) fn select(&self, kind: Kind, filter: Option<&Filter>) -> Vec<&Map<String, Value>> {
        let table = self.table(kind);
        match filter {
            None => table.items.iter().collect(),
            Some(filter) => table
                .matching(filter)
                .iter()
                .map(|&at| &table.items[at])
                .collect(),
        }
    }

    /// The resources matching `filter` (all when `None`) as positions, for a page
    /// assembled from their JSON text ([`Selected::write_page`]).
    pub(crate) fn select_text(&self, kind: Kind, filter: Option<&Filter>) -> Selected<'_> {
        let table = self.table(kind);
        Selected {
            table,
            positions: filter.map(|filter| table.matching(filter)),
        }
    }

    /// Creates a resource from a request body (or seed) and returns it.
    pub(crate) fn create(
        &mut self,
        kind: Kind,
        body: Value,
        origin: Origin,
    ) -> Result<Map<String, Value>, Rejection> {
        let Value::Object(body) = body else {
            return Err(Rejection::bad(
                "invalidSyntax",
                "the body must be a JSON object",
            ));
        };
        let strict = matches!(origin, Origin::Request { strict: true, .. });
        if strict {
            check_schemas(kind, &body)?;
        }
        let mut resource = Map::new();
        let mut given_id = None;
        let mut given_meta = None;
        for (key, value) in body {
            if let Some(read_only) = canonical(kind.read_only().iter().copied(), &key) {
                match origin {
                    Origin::Request { strict: true, .. } => {
                        return Err(Rejection::bad(
                            "mutability",
                            format!("{read_only} is read-only and must not be sent"),
                        ));
                    }
                    Origin::Request { strict: false, .. } => {}
                    Origin::Seed => match read_only {
                        "id" => given_id = Some(value),
                        "meta" => given_meta = Some(value),
                        _ => {}
                    },
                }
                continue;
            }
            if !set_attribute(kind, &mut resource, &key, &value, strict)? {
                match origin {
                    Origin::Request { strict: true, .. } => {
                        return Err(Rejection::bad(
                            "invalidValue",
                            format!("{} has no attribute {key:?}", kind.resource_type()),
                        ));
                    }
                    // A lenient server ignores attributes it does not know.
                    Origin::Request { strict: false, .. } => {}
                    // Seeded records are stored as given.
                    Origin::Seed => {
                        resource.insert(key, value);
                    }
                }
            }
        }
        if let Origin::Request { quirks, .. } = origin {
            quirks.keep(kind, &mut resource);
        }
        self.normalise(kind, &mut resource);
        self.check(kind, &resource, None)?;

        let id = match given_id {
            Some(Value::String(id)) if !id.is_empty() => {
                if self.id_taken(&id) {
                    return Err(Rejection::uniqueness(format!("id {id:?} exists already")));
                }
                id
            }
            Some(_) => {
                return Err(Rejection::bad(
                    "invalidValue",
                    "id must be a non-empty string",
                ));
            }
            None => self.new_id(),
        };
        let meta = match given_meta {
            Some(Value::Object(meta)) => meta,
            Some(_) => return Err(Rejection::bad("invalidValue", "meta must be an object")),
            None => self.new_meta(kind, &id),
        };
        let mut stored = Map::new();
        stored.insert("id".to_owned(), Value::String(id.clone()));
        stored.insert("meta".to_owned(), Value::Object(meta));
        stored.extend(resource);
        if kind == Kind::Group {
            let ids = stored
                .get("members")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(member_id)
                .map(str::to_owned)
                .collect();
            self.member_ids.insert(id.clone(), ids);
        }
        self.commit(kind, &id, stored.clone(), None);
        Ok(stored)
    }

    /// Applies a PATCH request atomically and returns the resulting resource.
    ///
    /// Everything but a group's members is small and is edited on a copy; member
    /// edits are staged and, when every operation and check passed, committed to the
    /// stored list in place. Only appended members are checked and built.
    pub(crate) fn patch(
        &mut self,
        kind: Kind,
        id: &str,
        body: &Value,
        strict: bool,
        quirks: Quirks,
        if_match: Option<&str>,
    ) -> Result<&Map<String, Value>, Rejection> {
        let current = self.found(kind, id)?;
        if let Some(expected) = if_match {
            let version = current
                .get("meta")
                .and_then(|m| m.get("version"))
                .and_then(Value::as_str);
            if expected.trim() != "*" && Some(expected.trim()) != version {
                return Err(Rejection::new(
                    412,
                    None,
                    format!("If-Match {expected} does not match the current version"),
                ));
            }
        }
        let (stored_members, before): (&[Value], Map<String, Value>) = match kind {
            Kind::User => (&[], current.clone()),
            Kind::Group => (
                current
                    .get("members")
                    .and_then(Value::as_array)
                    .map_or(&[], Vec::as_slice),
                current
                    .iter()
                    .filter(|(key, _)| key.as_str() != "members")
                    .map(|(key, value)| (key.clone(), value.clone()))
                    .collect(),
            ),
        };
        let no_members = HashSet::new();
        let mut edits = MemberEdits::new(self.member_ids.get(id).unwrap_or(&no_members));
        let mut updated = before.clone();
        patch::apply(kind, &mut updated, &mut edits, body, strict)?;
        let members = edits.finish();
        quirks.keep_patched(kind, &mut updated, &before);
        self.normalise(kind, &mut updated);
        self.check(kind, &updated, Some(id))?;
        self.check_members(members.appended().iter().map(String::as_str), Some(id))?;
        if updated == before && !members.changes(stored_members) {
            return self.found(kind, id);
        }
        self.version += 1;
        let version = format!("W/\"{}\"", self.version);
        if let Some(Value::Object(meta)) = updated.get_mut("meta") {
            meta.insert("lastModified".to_owned(), Value::String(now_rfc3339()));
            meta.insert("version".to_owned(), Value::String(version));
        }
        if kind == Kind::Group {
            let mut list = match self.groups.get_mut(id).and_then(|g| g.remove("members")) {
                Some(Value::Array(list)) => list,
                _ => Vec::new(),
            };
            let ids = self.member_ids.entry(id.to_owned()).or_default();
            members.commit(&mut list, ids, |member| member_ref(&self.base_url, member));
            if !list.is_empty() {
                updated.insert("members".to_owned(), Value::Array(list));
            }
        }
        self.commit(kind, id, updated, Some(&before));
        self.found(kind, id)
    }

    /// Users and groups with this `externalId` (compared exactly).
    pub(crate) fn count_by_external_id(&self, external_id: &str) -> usize {
        [Kind::User, Kind::Group]
            .into_iter()
            .flat_map(|kind| self.all(kind))
            .filter(|r| r.get("externalId").and_then(Value::as_str) == Some(external_id))
            .count()
    }

    /// The user holding this `userName`, compared case-insensitively.
    pub(crate) fn user_by_user_name(&self, user_name: &str) -> Option<&Map<String, Value>> {
        let id = self.user_names.get(&user_name.to_lowercase())?;
        self.get(Kind::User, id)
    }

    fn commit(
        &mut self,
        kind: Kind,
        id: &str,
        resource: Map<String, Value>,
        before: Option<&Map<String, Value>>,
    ) {
        if kind == Kind::User {
            if let Some(old) = before
                .and_then(|b| b.get("userName"))
                .and_then(Value::as_str)
            {
                self.user_names.remove(&old.to_lowercase());
            }
            if let Some(new) = resource.get("userName").and_then(Value::as_str) {
                self.user_names.insert(new.to_lowercase(), id.to_owned());
            }
        }
        self.table_mut(kind).put(id, resource);
    }

    fn new_id(&mut self) -> String {
        loop {
            let id = format!("{:032x}", self.ids.random::<u128>());
            if !self.id_taken(&id) {
                return id;
            }
        }
    }

    fn new_meta(&mut self, kind: Kind, id: &str) -> Map<String, Value> {
        self.version += 1;
        let now = now_rfc3339();
        let mut meta = Map::new();
        let mut put = |key: &str, value: String| meta.insert(key.to_owned(), Value::String(value));
        put("resourceType", kind.resource_type().to_owned());
        put("created", now.clone());
        put("lastModified", now);
        put(
            "location",
            format!("{}/{}/{id}", self.base_url, kind.endpoint()),
        );
        put("version", format!("W/\"{}\"", self.version));
        meta
    }

    /// Fixes `schemas` (core URN first; the extension URN exactly when the extension
    /// is present) and writes member references in full.
    fn normalise(&self, kind: Kind, resource: &mut Map<String, Value>) {
        let mut schemas: Vec<Value> = vec![Value::String(kind.core_schema().to_owned())];
        if let Some(Value::Array(given)) = resource.get("schemas") {
            for urn in given.iter().filter_map(Value::as_str) {
                let known = urn.eq_ignore_ascii_case(kind.core_schema())
                    || urn.eq_ignore_ascii_case(CW_USER_EXT);
                if !known && !schemas.iter().any(|s| s.as_str() == Some(urn)) {
                    schemas.push(Value::String(urn.to_owned()));
                }
            }
        }
        if resource.contains_key(CW_USER_EXT) {
            schemas.push(Value::String(CW_USER_EXT.to_owned()));
        }
        resource.insert("schemas".to_owned(), Value::Array(schemas));
        if let Some(Value::Array(members)) = resource.get_mut("members") {
            for member in members.iter_mut() {
                let Some(id) = member
                    .get("value")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                else {
                    continue;
                };
                *member = member_ref(&self.base_url, &id);
            }
        }
    }

    /// Required attributes, `userName` uniqueness, and flat membership.
    fn check(
        &self,
        kind: Kind,
        resource: &Map<String, Value>,
        self_id: Option<&str>,
    ) -> Result<(), Rejection> {
        match kind {
            Kind::User => {
                let user_name = resource
                    .get("userName")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| Rejection::bad("invalidValue", "userName is required"))?;
                if let Some(holder) = self.user_names.get(&user_name.to_lowercase())
                    && Some(holder.as_str()) != self_id
                {
                    return Err(Rejection::uniqueness(format!(
                        "userName {user_name:?} is already taken (compared case-insensitively)"
                    )));
                }
            }
            Kind::Group => {
                resource
                    .get("displayName")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| Rejection::bad("invalidValue", "displayName is required"))?;
                let members = resource.get("members").and_then(Value::as_array);
                self.check_members(members.into_iter().flatten().filter_map(member_id), self_id)?;
            }
        }
        Ok(())
    }

    /// Members are existing users, not groups (`self_id`: the group they go into).
    fn check_members<'a>(
        &self,
        ids: impl IntoIterator<Item = &'a str>,
        self_id: Option<&str>,
    ) -> Result<(), Rejection> {
        for id in ids {
            if self.groups.contains(id) || Some(id) == self_id {
                return Err(Rejection::bad(
                    "invalidValue",
                    format!("member {id} is a group; only flat groups are supported"),
                ));
            }
            if !self.users.contains(id) {
                return Err(Rejection::bad(
                    "invalidValue",
                    format!("member {id} is not an existing user"),
                ));
            }
        }
        Ok(())
    }

    /// All users and groups, as `{"Users": [...], "Groups": [...]}`.
    pub(crate) fn snapshot(&self) -> Value {
        json!({
            "Users": self.all(Kind::User).cloned().map(Value::Object).collect::<Vec<_>>(),
            "Groups": self.all(Kind::Group).cloned().map(Value::Object).collect::<Vec<_>>(),
        })
    }
}

/// The resources of one listing, by position in their table.
#[derive(Debug)]
pub(crate) struct Selected<'a> {
    table: &'a Table,
    /// `None`: every resource of the table.
    positions: Option<Arc<[usize]>>,
}

impl Selected<'_> {
    /// How many resources matched.
    pub(crate) fn len(&self) -> usize {
        self.positions
            .as_ref()
            .map_or(self.table.items.len(), |p| p.len())
    }

    /// Appends the JSON texts of the matches `skip..skip + count` to `out`, comma
    /// separated; returns how many it wrote.
    pub(crate) fn write_page(
        &self,
        skip: usize,
        count: usize,
        out: &mut String,
    ) -> Result<usize, Rejection> {
        let end = skip.saturating_add(count).min(self.len());
        let mut written = 0;
        for index in skip.min(end)..end {
            let at = self.positions.as_ref().map_or(index, |p| p[index]);
            if written > 0 {
                out.push(',');
            }
            out.push_str(self.table.text(at)?);
            written += 1;
        }
        Ok(written)
    }
}

/// A group member as stored: a reference to the user `id`.
fn member_ref(base_url: &str, id: &str) -> Value {
    json!({
        "value": id,
        "$ref": format!("{base_url}/Users/{id}"),
        "type": "User",
    })
}

/// Strict mode: `schemas` must list the core URN, and the extension URN whenever the
/// body carries the extension object.
fn check_schemas(kind: Kind, body: &Map<String, Value>) -> Result<(), Rejection> {
    let schemas: Vec<&str> = match body.get("schemas") {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        Some(_) => {
            return Err(Rejection::bad(
                "invalidSyntax",
                "schemas must be an array of URNs",
            ));
        }
        None => {
            return Err(Rejection::bad(
                "invalidSyntax",
                format!("schemas is required and must list {}", kind.core_schema()),
            ));
        }
    };
    let has = |urn: &str| schemas.iter().any(|s| s.eq_ignore_ascii_case(urn));
    if !has(kind.core_schema()) {
        return Err(Rejection::bad(
            "invalidSyntax",
            format!("schemas must list {}", kind.core_schema()),
        ));
    }
    let has_extension = body.keys().any(|k| k.eq_ignore_ascii_case(CW_USER_EXT));
    if has_extension && !has(CW_USER_EXT) {
        return Err(Rejection::bad(
            "invalidSyntax",
            format!("the body carries {CW_USER_EXT} but schemas does not list it"),
        ));
    }
    Ok(())
}

/// Sets one attribute of a body being created (names matched case-insensitively);
/// `Ok(false)` when the attribute is unknown.
fn set_attribute(
    kind: Kind,
    resource: &mut Map<String, Value>,
    key: &str,
    value: &Value,
    strict: bool,
) -> Result<bool, Rejection> {
    if key.eq_ignore_ascii_case("schemas") {
        if !value.is_array() {
            return Err(Rejection::bad(
                "invalidSyntax",
                "schemas must be an array of URNs",
            ));
        }
        resource.insert("schemas".to_owned(), value.clone());
        return Ok(true);
    }
    if kind == Kind::User && key.eq_ignore_ascii_case(CW_USER_EXT) {
        if let Some(ext) = coerce_extension(value, strict)? {
            resource.insert(CW_USER_EXT.to_owned(), Value::Object(ext));
        }
        return Ok(true);
    }
    let Some((name, shape)) = kind
        .attributes()
        .iter()
        .copied()
        .find(|(name, _)| name.eq_ignore_ascii_case(key))
    else {
        return Ok(false);
    };
    if let Some(value) = coerce(name, shape, value, strict)? {
        resource.insert(name.to_owned(), value);
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::filter;

    fn user(store: &mut Store, name: &str, external_id: &str) -> String {
        let created = store
            .create(
                Kind::User,
                json!({"userName": name, "externalId": external_id}),
                Origin::Seed,
            )
            .unwrap();
        created["id"].as_str().unwrap().to_owned()
    }

    fn names(store: &Store, filter: &Filter) -> Vec<String> {
        store
            .select(Kind::User, Some(filter))
            .into_iter()
            .map(|r| r["userName"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn a_listing_sees_every_write_since_the_last() {
        let mut store = Store::new("http://127.0.0.1/scim".to_owned(), 7);
        let owned = filter::parse(Kind::User, r#"externalId sw "pw-activate:""#).unwrap();
        let named = filter::parse(Kind::User, r#"userName eq "B""#).unwrap();
        user(&mut store, "a", "pw-activate:user:1");
        let b = user(&mut store, "b", "other:2");
        user(&mut store, "c", "pw-activate:user:3");
        assert_eq!(names(&store, &owned), ["a", "c"]);
        // The same filter again, and another one in between.
        assert_eq!(names(&store, &owned), ["a", "c"]);
        assert_eq!(names(&store, &named), ["b"]);
        assert_eq!(names(&store, &owned), ["a", "c"]);
        // A creation, then a PATCH that moves a record into the selection.
        user(&mut store, "d", "pw-activate:user:4");
        assert_eq!(names(&store, &owned), ["a", "c", "d"]);
        let patch = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "externalId", "value": "pw-activate:user:2"}],
        });
        store
            .patch(Kind::User, &b, &patch, false, Quirks::default(), None)
            .unwrap();
        assert_eq!(names(&store, &owned), ["a", "b", "c", "d"]);
        assert_eq!(store.select(Kind::User, None).len(), 4);
        assert_eq!(store.select(Kind::Group, Some(&owned)).len(), 0);
    }

    /// The page text, parsed, next to the stored resources it should hold.
    fn page(store: &Store, filter: Option<&Filter>, skip: usize, count: usize) -> (Value, Value) {
        let mut text = String::from("[");
        let written = store
            .select_text(Kind::User, filter)
            .write_page(skip, count, &mut text)
            .unwrap();
        text.push(']');
        let expected: Vec<Value> = store
            .select(Kind::User, filter)
            .into_iter()
            .skip(skip)
            .take(count)
            .cloned()
            .map(Value::Object)
            .collect();
        assert_eq!(written, expected.len());
        (serde_json::from_str(&text).unwrap(), Value::Array(expected))
    }

    #[test]
    fn a_page_of_stored_text_is_the_resources_as_they_are_now() {
        let mut store = Store::new("http://127.0.0.1/scim".to_owned(), 7);
        let owned = filter::parse(Kind::User, r#"externalId sw "pw-activate:""#).unwrap();
        user(&mut store, "a", "pw-activate:user:1");
        let b = user(&mut store, "b", "other:2");
        user(&mut store, "c", "pw-activate:user:3");
        for (skip, count) in [(0, 10), (1, 1), (2, 5), (3, 2), (9, 1)] {
            let (got, expected) = page(&store, None, skip, count);
            assert_eq!(got, expected, "skip {skip}, count {count}");
        }
        let (got, _) = page(&store, Some(&owned), 0, 10);
        assert_eq!(got.as_array().unwrap().len(), 2);
        // A PATCH changes the text of the record it changes, and the selection.
        let patch = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "replace", "path": "externalId", "value": "pw-activate:user:2"},
                {"op": "replace", "path": "userName", "value": "bee"}
            ],
        });
        store
            .patch(Kind::User, &b, &patch, false, Quirks::default(), None)
            .unwrap();
        let (got, expected) = page(&store, Some(&owned), 0, 10);
        assert_eq!(got, expected);
        assert_eq!(got[1]["userName"], "bee");
        assert_eq!(got.as_array().unwrap().len(), 3);
    }
}
