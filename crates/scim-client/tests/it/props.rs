//! Properties: model round trips and filter quoting through the query string.

use proptest::prelude::*;
use scim_client::filter::Filter;
use scim_client::{
    Email, Group, ListResponse, Name, NewGroup, NewUser, PatchOp, PatchOperation, User,
};
use serde_json::{Value, json};

fn opt_string() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(any::<String>())
}

fn email() -> impl Strategy<Value = Email> {
    (
        any::<String>(),
        opt_string(),
        proptest::option::of(any::<bool>()),
    )
        .prop_map(|(value, kind, primary)| Email {
            value,
            kind,
            primary,
        })
}

fn name() -> impl Strategy<Value = Name> {
    (opt_string(), opt_string(), opt_string()).prop_map(|(formatted, given_name, family_name)| {
        Name {
            formatted,
            given_name,
            family_name,
        }
    })
}

fn new_user() -> impl Strategy<Value = NewUser> {
    (
        any::<String>(),
        opt_string(),
        proptest::option::of(name()),
        opt_string(),
        proptest::collection::vec(email(), 0..3),
        any::<bool>(),
        proptest::collection::vec(any::<String>(), 0..4),
    )
        .prop_map(
            |(user_name, external_id, name, display_name, emails, active, keys)| NewUser {
                external_id,
                name,
                display_name,
                emails,
                active,
                sunk_ssh_keys: keys,
                ..NewUser::new(user_name)
            },
        )
}

/// A user as a server might send it: the written body plus an id and metadata.
fn served_user() -> impl Strategy<Value = Value> {
    (new_user(), any::<String>(), opt_string()).prop_map(|(user, id, version)| {
        let mut v = serde_json::to_value(&user).unwrap();
        v["id"] = json!(id);
        if let Some(version) = version {
            v["meta"] = json!({"resourceType": "User", "version": version});
        }
        v
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_value_survives_filter_quoting_and_query_encoding(value in any::<String>()) {
        for (filter, op) in [(Filter::eq("externalId", &value), "eq"), (Filter::sw("externalId", &value), "sw")] {
            let query = format!("filter={}&count=1", filter.to_query_value());
            // A server that decodes `+` as a space must still see the same filter.
            let decoded: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            prop_assert_eq!(decoded.len(), 2);
            prop_assert_eq!(&decoded[0].0, "filter");
            let literal = decoded[0].1.strip_prefix(&format!("externalId {op} ")).unwrap();
            let back: String = serde_json::from_str(literal).unwrap();
            prop_assert_eq!(&back, &value);
            prop_assert!(!filter.to_query_value().contains(['+', ' ', '"', '&', '=', '#']));
        }
    }

    #[test]
    fn what_is_written_reads_back_the_same(user in new_user()) {
        let mut json = serde_json::to_value(&user).unwrap();
        json["id"] = json!("srv-1");
        let read: User = serde_json::from_value(json).unwrap();
        prop_assert_eq!(&read.user_name, &user.user_name);
        prop_assert_eq!(&read.external_id, &user.external_id);
        prop_assert_eq!(&read.name, &user.name);
        prop_assert_eq!(&read.display_name, &user.display_name);
        prop_assert_eq!(&read.emails, &user.emails);
        prop_assert_eq!(read.active, Some(user.active));
        prop_assert_eq!(read.sunk_ssh_keys(), user.sunk_ssh_keys.as_slice());
    }

    #[test]
    fn users_and_pages_round_trip(served in proptest::collection::vec(served_user(), 0..4), total in any::<Option<u32>>()) {
        let mut page = json!({"Resources": served});
        if let Some(total) = total {
            page["totalResults"] = json!(total);
        }
        let read: ListResponse<User> = serde_json::from_value(page).unwrap();
        let again: ListResponse<User> =
            serde_json::from_value(serde_json::to_value(&read).unwrap()).unwrap();
        prop_assert_eq!(again, read);
    }

    #[test]
    fn groups_round_trip(name in any::<String>(), external_id in opt_string(), members in proptest::collection::vec(any::<String>(), 0..5)) {
        let body = NewGroup { display_name: name.clone(), external_id: external_id.clone(), members: members.clone() };
        let mut json = serde_json::to_value(&body).unwrap();
        json["id"] = json!("g");
        let read: Group = serde_json::from_value(json).unwrap();
        prop_assert_eq!(&read.display_name, &name);
        prop_assert_eq!(&read.external_id, &external_id);
        prop_assert_eq!(read.member_ids().map(str::to_owned).collect::<Vec<_>>(), members);
        let again: Group = serde_json::from_value(serde_json::to_value(&read).unwrap()).unwrap();
        prop_assert_eq!(again, read);
    }

    #[test]
    fn patches_round_trip(keys in proptest::collection::vec(any::<String>(), 0..3), active in any::<bool>(), ids in proptest::collection::vec(any::<String>(), 0..4), text in any::<String>()) {
        let mut patch = PatchOp::new()
            .with(PatchOperation::replace_sunk_ssh_keys(keys))
            .with(PatchOperation::replace_active(active))
            .with(PatchOperation::replace_members(&ids))
            .with(PatchOperation::add_members(&ids))
            .with(PatchOperation::replace_external_id(text.clone()))
            .with(PatchOperation::replace_display_name(text.clone()))
            .with(PatchOperation::replace_user_name(text.clone()));
        patch.extend(ids.iter().map(|id| PatchOperation::remove_member(id)));
        let again: PatchOp = serde_json::from_value(serde_json::to_value(&patch).unwrap()).unwrap();
        prop_assert_eq!(again, patch);
    }

    #[test]
    fn remove_paths_quote_any_id(id in any::<String>()) {
        let op = PatchOperation::remove_member(&id);
        let path = op.path().unwrap();
        let literal = path.strip_prefix("members[value eq ").unwrap().strip_suffix(']').unwrap();
        prop_assert_eq!(serde_json::from_str::<String>(literal).unwrap(), id);
    }
}
