//! Adapters between the two clients and the reconcile core.
//!
//! - [`source`]: an ACTIVATE [`OrgSnapshot`](activate_client::OrgSnapshot) as the
//!   core's [`SourceSnapshot`](reconcile_core::SourceSnapshot).
//! - [`observe`]: the SCIM records this tool owns (and the user names it must not
//!   take) as the core's [`Observed`](reconcile_core::Observed) state.
//! - [`rules`]: the target's comparison rules from its `/Schemas`.
//! - [`target`]: the core's [`ScimTarget`](reconcile_core::ScimTarget) over
//!   [`ScimClient`](scim_client::ScimClient).

pub mod observe;
pub mod rules;
pub mod source;
pub mod target;
