//! Plan rendering: human-readable text (like `terraform plan`) and JSON.
//!
//! # JSON form (version 2)
//!
//! [`Plan::to_json`] prints one object:
//!
//! ```text
//! {
//!   "version": 2,
//!   "summary": { "create_users": 0, "update_users": 0, "reactivate_users": 0,
//!                "rekey_users": 0, "deactivate_users": 0, "revoke_keys": 0,
//!                "create_groups": 0,
//!                "update_groups": 0, "empty_groups": 0, "withheld": 0,
//!                "conflicts": 0, "warnings": 0 },
//!   "guards": { "source_complete": true, "desired_users": 0, "owned_active_users": 0,
//!               "deactivations_planned": 0, "deactivation_limit": "10%" | "25" | null,
//!               "deactivations_allowed": 0 | null, "limit_overridden": false,
//!               "owned_users": 0, "rekeys_planned": 0, "rekey_limit": "25" | null,
//!               "rekeys_allowed": 0 | null, "rekey_limit_overridden": false,
//!               "tripped": ["incomplete_source" | "empty_source" | "deactivation_limit"
//!                           | "rekey_limit"] },
//!   "operations": [ { "op": "<kind>", ...fields..., "withheld": null | "<guard>" } ],
//!   "conflicts": [ { "kind": "<kind>", ... } ],
//!   "warnings": [ { "kind": "<kind>", ... } ]
//! }
//! ```
//!
//! Operation kinds (`op`), in apply order: `deactivate`, `revoke_keys`, `rekey`,
//! `reactivate`,
//! `update_user`, `create_user`, `create_group`, `update_group`, `empty_group`;
//! their fields are those of the Rust types ([`crate::plan::Deactivate`],
//! [`crate::plan::RevokeKeys`],
//! [`crate::plan::UserPatch`], [`crate::plan::CreateUser`], ...), in snake case.
//! User attribute changes are `{ "attribute": "<name>", "old": ..., "new": ... }`.
//! Group members are `{ "kind": "existing", "user_name", "scim_id" }` or
//! `{ "kind": "created", "user_name", "user" }`. SSH keys appear only as
//! `{ "algorithm", "fingerprint", "comment" }` (or `{ "invalid_length" }` for a
//! stored value that does not parse). All lists are sorted; the same plan
//! always prints the same bytes. Fields are only ever added within a version.
//! Version 2 added `revoke_keys` (operation and summary count) and the
//! `removed_keys` of a deactivation.

use std::fmt;

use serde::Serialize;

use crate::guards::{GuardKind, GuardStatus};
use crate::keys::KeySummary;
use crate::notes::{Conflict, Warning};
use crate::plan::{
    Action, ActionKind, ExistingMember, MemberRef, Operation, Plan, RevokeKeys, Summary,
    UpdateGroup, UserChange,
};

#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    summary: Summary,
    guards: &'a GuardStatus,
    operations: &'a [Operation],
    conflicts: &'a [Conflict],
    warnings: &'a [Warning],
}

impl Plan {
    /// The plan as pretty-printed JSON (see the [module docs](crate::render)).
    ///
    /// # Panics
    ///
    /// Never: every value serializes and every map key is a string.
    pub fn to_json(&self) -> String {
        let document = Document {
            version: self.version,
            summary: self.summary(),
            guards: &self.guards,
            operations: &self.operations,
            conflicts: &self.conflicts,
            warnings: &self.warnings,
        };
        serde_json::to_string_pretty(&document).expect("plan documents always serialize")
    }

    /// The plan as human-readable text, ending with a `Plan: ...` summary line.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        // Writing to a `String` cannot fail.
        let _ = self.write_text(&mut out);
        out
    }

    /// Writes the text of [`to_text`](Self::to_text) piece by piece, without
    /// building it whole first (at 100,000 creations it is tens of megabytes).
    ///
    /// # Errors
    ///
    /// The first error `out` returned; nothing is written after it.
    pub fn write_text(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        let mut out = TrimStart {
            out,
            started: false,
            failed: false,
        };
        self.render_text(&mut out);
        if out.failed { Err(fmt::Error) } else { Ok(()) }
    }

    fn render_text(&self, out: &mut dyn fmt::Write) {
        if self.is_converged() {
            if self.conflicts.is_empty() && !self.has_withheld() {
                let _ = out.write_str("No changes: the target matches the source.\n");
            } else {
                let _ = out.write_str("Nothing to apply.\n");
            }
        }
        let sections = [
            (ActionKind::CreateUser, "Users to create"),
            (ActionKind::UpdateUser, "Users to update"),
            (ActionKind::Deactivate, "Users to deactivate"),
            (
                ActionKind::RevokeKeys,
                "Inactive users whose keys are removed",
            ),
            (ActionKind::Reactivate, "Users to reactivate"),
            (ActionKind::ReKey, "Users to re-key"),
            (ActionKind::CreateGroup, "Groups to create"),
            (ActionKind::UpdateGroup, "Groups to update"),
            (ActionKind::EmptyGroup, "Groups to empty"),
        ];
        for (kind, title) in sections {
            let ops: Vec<&Operation> = self
                .applicable()
                .filter(|op| op.action.kind() == kind)
                .collect();
            if ops.is_empty() {
                continue;
            }
            let _ = writeln!(out, "\n{title} ({}):", ops.len());
            for op in ops {
                render_action(out, &op.action, "  ");
            }
        }
        if !self.conflicts.is_empty() {
            let _ = writeln!(out, "\nConflicts, not written ({}):", self.conflicts.len());
            for conflict in &self.conflicts {
                let _ = writeln!(out, "  ! {conflict}");
            }
        }
        if !self.warnings.is_empty() {
            let _ = writeln!(out, "\nWarnings ({}):", self.warnings.len());
            for warning in &self.warnings {
                let _ = writeln!(out, "  * {warning}");
            }
        }
        render_guards(out, self);
        let _ = writeln!(out, "\n{}", summary_line(&self.summary()));
    }
}

/// Passes text on without the newlines it starts with, and stops at the first error.
struct TrimStart<'a> {
    out: &'a mut dyn fmt::Write,
    started: bool,
    failed: bool,
}

impl fmt::Write for TrimStart<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        if self.failed {
            return Err(fmt::Error);
        }
        let text = if self.started {
            text
        } else {
            let rest = text.trim_start_matches('\n');
            self.started = !rest.is_empty();
            rest
        };
        if text.is_empty() {
            return Ok(());
        }
        self.out.write_str(text).inspect_err(|_| self.failed = true)
    }
}

fn summary_line(s: &Summary) -> String {
    format!(
        "Plan: {} to create, {} to update, {} to reactivate, {} to re-key, {} to deactivate, \
         {} to revoke keys; groups: {} to create, {} to update, {} to empty; {} withheld, \
         {} conflict{}, {} warning{}.",
        s.create_users,
        s.update_users,
        s.reactivate_users,
        s.rekey_users,
        s.deactivate_users,
        s.revoke_keys,
        s.create_groups,
        s.update_groups,
        s.empty_groups,
        s.withheld,
        s.conflicts,
        if s.conflicts == 1 { "" } else { "s" },
        s.warnings,
        if s.warnings == 1 { "" } else { "s" },
    )
}

fn render_guards(out: &mut dyn fmt::Write, plan: &Plan) {
    let g = &plan.guards;
    let withheld: Vec<&Operation> = plan.withheld().collect();
    if withheld.is_empty() && !g.limit_overridden && !g.rekey_limit_overridden {
        return;
    }
    let limit = g
        .deactivation_limit
        .map(|l| l.to_string())
        .unwrap_or_default();
    let allowed = g.deactivations_allowed.unwrap_or_default();
    let _ = writeln!(out, "\nSafety guards:");
    for kind in &g.tripped {
        let reason = match kind {
            GuardKind::IncompleteSource => "the source snapshot is incomplete: deactivations, \
                 group emptying and member removals are withheld"
                .to_owned(),
            GuardKind::EmptySource => "the source has no users in scope: deactivations, group \
                 emptying and member removals are withheld"
                .to_owned(),
            GuardKind::ReKeyLimit => format!(
                "{} re-keys planned, the limit {} allows {} (of {} owned users): the source's \
                 ids changed (a switch of ACTIVATE source?) or records come from an earlier key \
                 scheme; re-keys and the group memberships those records would gain are withheld",
                g.rekeys_planned,
                g.rekey_limit.map(|l| l.to_string()).unwrap_or_default(),
                g.rekeys_allowed.unwrap_or_default(),
                g.owned_users
            ),
            GuardKind::DeactivationLimit => format!(
                "{} deactivations planned, the limit {limit} allows {allowed} (of {} owned active \
                 users): deactivations and those users' group removals are withheld",
                g.deactivations_planned, g.owned_active_users
            ),
        };
        let _ = writeln!(out, "  ! {reason}");
    }
    if g.limit_overridden {
        let _ = writeln!(
            out,
            "  ! {} deactivations planned, the limit {limit} allows {allowed} (of {} owned active \
             users): applied anyway because the limit is overridden",
            g.deactivations_planned, g.owned_active_users
        );
    }
    if g.rekey_limit_overridden {
        let _ = writeln!(
            out,
            "  ! {} re-keys planned, the limit {} allows {} (of {} owned users): applied anyway \
             because the limit is overridden",
            g.rekeys_planned,
            g.rekey_limit.map(|l| l.to_string()).unwrap_or_default(),
            g.rekeys_allowed.unwrap_or_default(),
            g.owned_users
        );
    }
    if withheld.is_empty() {
        return;
    }
    let _ = writeln!(out, "  Withheld ({}):", withheld.len());
    for kind in ActionKind::ALL {
        let ops: Vec<&&Operation> = withheld
            .iter()
            .filter(|op| op.action.kind() == kind)
            .collect();
        if ops.is_empty() {
            continue;
        }
        let _ = writeln!(out, "    {kind} ({}):", ops.len());
        for op in ops {
            render_action(out, &op.action, "      ");
        }
    }
}

fn render_action(out: &mut dyn fmt::Write, action: &Action, indent: &str) {
    let detail = format!("{indent}    ");
    match action {
        Action::Deactivate(d) => {
            let _ = writeln!(
                out,
                "{indent}- {} [{}] {}: {}",
                d.user_name, d.scim_id, d.external_id, d.reason
            );
            let _ = writeln!(out, "{detail}active: true → false");
            render_keys(out, &detail, &[], &d.removed_keys);
        }
        Action::RevokeKeys(r) => render_revocation(out, r, indent),
        Action::ReKey(p) | Action::Reactivate(p) | Action::UpdateUser(p) => {
            let _ = writeln!(
                out,
                "{indent}~ {} [{}] {}",
                p.user_name, p.scim_id, p.external_id
            );
            for change in &p.changes {
                render_change(out, change, &detail);
            }
        }
        Action::CreateUser(c) => {
            let r = &c.record;
            let _ = writeln!(out, "{indent}+ {} {}", r.user_name, r.external_id);
            let _ = writeln!(out, "{detail}displayName: {}", opt(r.display_name.as_ref()));
            let _ = writeln!(
                out,
                "{detail}name: given {}, family {}, formatted {}",
                opt(r.given_name.as_ref()),
                opt(r.family_name.as_ref()),
                opt(r.formatted_name.as_ref())
            );
            let _ = writeln!(out, "{detail}emails: {}", opt(r.email.as_ref()));
            render_keys(
                out,
                &detail,
                &r.ssh_keys
                    .iter()
                    .map(crate::SshKey::summary)
                    .collect::<Vec<_>>(),
                &[],
            );
        }
        Action::CreateGroup(c) => {
            let _ = writeln!(out, "{indent}+ {} {}", c.display_name, c.external_id);
            let _ = writeln!(
                out,
                "{detail}members ({}): {}",
                c.members.len(),
                members(&c.members)
            );
        }
        Action::UpdateGroup(u) => render_group_update(out, u, indent),
        Action::EmptyGroup(e) => {
            let _ = writeln!(
                out,
                "{indent}- {} [{}] {}: {}",
                e.display_name, e.scim_id, e.external_id, e.reason
            );
            let _ = writeln!(
                out,
                "{detail}- members ({}): {}",
                e.remove.len(),
                removed(&e.remove)
            );
        }
    }
}

fn render_group_update(out: &mut dyn fmt::Write, u: &UpdateGroup, indent: &str) {
    let detail = format!("{indent}    ");
    let _ = writeln!(
        out,
        "{indent}~ {} [{}] {}",
        u.display_name, u.scim_id, u.external_id
    );
    if let Some(rekey) = &u.rekey {
        let _ = writeln!(
            out,
            "{detail}externalId: {:?} → {:?}",
            rekey.old.as_str(),
            rekey.new.as_str()
        );
    }
    if let Some(rename) = &u.rename {
        let _ = writeln!(
            out,
            "{detail}displayName: {:?} → {:?}",
            rename.old, rename.new
        );
    }
    if !u.add.is_empty() {
        let _ = writeln!(
            out,
            "{detail}+ members ({}): {}",
            u.add.len(),
            members(&u.add)
        );
    }
    if !u.remove.is_empty() {
        let _ = writeln!(
            out,
            "{detail}- members ({}): {}",
            u.remove.len(),
            removed(&u.remove)
        );
    }
}

fn render_revocation(out: &mut dyn fmt::Write, r: &RevokeKeys, indent: &str) {
    let _ = writeln!(
        out,
        "{indent}- {} [{}] {}: {}, inactive but still carrying keys",
        r.user_name, r.scim_id, r.external_id, r.reason
    );
    render_keys(out, &format!("{indent}    "), &[], &r.removed_keys);
}

fn render_change(out: &mut dyn fmt::Write, change: &UserChange, detail: &str) {
    let attribute = change.attribute();
    match change {
        UserChange::ExternalId(c) => {
            let _ = writeln!(
                out,
                "{detail}{attribute}: {:?} → {:?}",
                c.old.as_str(),
                c.new.as_str()
            );
        }
        UserChange::UserName(c) => {
            let _ = writeln!(out, "{detail}{attribute}: {:?} → {:?}", c.old, c.new);
        }
        UserChange::GivenName(c)
        | UserChange::FamilyName(c)
        | UserChange::FormattedName(c)
        | UserChange::DisplayName(c)
        | UserChange::Email(c) => {
            let _ = writeln!(
                out,
                "{detail}{attribute}: {} → {}",
                opt(c.old.as_ref()),
                opt(c.new.as_ref())
            );
        }
        UserChange::SshKeys(k) => {
            render_keys(out, detail, &k.added(), &k.removed());
        }
        UserChange::Active(c) => {
            let _ = writeln!(out, "{detail}{attribute}: {} → {}", c.old, c.new);
        }
    }
}

fn render_keys(
    out: &mut dyn fmt::Write,
    detail: &str,
    added: &[KeySummary],
    removed: &[KeySummary],
) {
    if added.is_empty() && removed.is_empty() {
        let _ = writeln!(out, "{detail}sunkSshKeys: (none)");
        return;
    }
    let _ = writeln!(out, "{detail}sunkSshKeys:");
    for key in added {
        let _ = writeln!(out, "{detail}  + {key}");
    }
    for key in removed {
        let _ = writeln!(out, "{detail}  - {key}");
    }
}

fn opt(value: Option<&String>) -> String {
    value.map_or_else(|| "(none)".to_owned(), |v| format!("{v:?}"))
}

fn member(m: &MemberRef) -> String {
    match m {
        MemberRef::Existing(e) => existing(e),
        MemberRef::Created(c) => format!("{} (new)", c.user_name),
    }
}

fn existing(m: &ExistingMember) -> String {
    m.user_name
        .clone()
        .unwrap_or_else(|| format!("[{}]", m.scim_id))
}

fn members(list: &[MemberRef]) -> String {
    if list.is_empty() {
        return "(none)".to_owned();
    }
    list.iter().map(member).collect::<Vec<_>>().join(", ")
}

fn removed(list: &[ExistingMember]) -> String {
    list.iter().map(existing).collect::<Vec<_>>().join(", ")
}
