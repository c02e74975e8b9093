//! Large synthetic organizations for benchmarks and soak tests.
//!
//! [`SyntheticOrg::generate`] builds a [`Fixture`] deterministically from a seed:
//! the same spec gives the same organization, byte for byte. The shape follows what
//! real organizations look like:
//!
//! - full names from a mixed, partly non-ASCII name pool (`Zoë Łukasiewicz`),
//!   usernames `first.last` in ASCII (with a number when taken), one email each;
//! - about 7 % of users inactive, 3 % with license `inactive`, 2 % complimentary;
//! - keys: 15 % of users have none, 60 % one, 20 % two, 5 % three; every key is a
//!   well-formed `ssh-ed25519` line (see [`ed25519_key_line`]);
//! - group 0 (`all-users`) holds about 90 % of the users; group `j` holds about
//!   `users / (2j)` (at least 2): a few big groups and a long tail of small ones.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::activate::{Fixture, FixtureGroup, FixtureUser, LicenseStatus};
use crate::clock::format_rfc3339;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntheticOrg {
    /// Organization name.
    pub organization: String,
    /// Number of users.
    pub users: usize,
    /// Number of groups.
    pub groups: usize,
    /// Seed; the same seed gives the same organization.
    pub seed: u64,
}

impl Default for SyntheticOrg {
    fn default() -> Self {
        Self {
            organization: "synthetic-lab".to_owned(),
            users: 1000,
            groups: 20,
            seed: 1,
        }
    }
}

const FIRST_NAMES: &[(&str, &str)] = &[
    ("Alice", "alice"),
    ("Bruno", "bruno"),
    ("Chloé", "chloe"),
    ("Dmitri", "dmitri"),
    ("Eun-ji", "eunji"),
    ("Fatima", "fatima"),
    ("Gustavo", "gustavo"),
    ("Hiroshi", "hiroshi"),
    ("Ingrid", "ingrid"),
    ("José", "jose"),
    ("Kwame", "kwame"),
    ("Léa", "lea"),
    ("Mateus", "mateus"),
    ("Nadia", "nadia"),
    ("Oluwaseun", "oluwaseun"),
    ("Priya", "priya"),
    ("Quentin", "quentin"),
    ("Renée", "renee"),
    ("Søren", "soren"),
    ("Tomasz", "tomasz"),
    ("Uma", "uma"),
    ("Vikram", "vikram"),
    ("Wei", "wei"),
    ("Ximena", "ximena"),
    ("Yusuf", "yusuf"),
    ("Zoë", "zoe"),
];

const LAST_NAMES: &[(&str, &str)] = &[
    ("Nguyen", "nguyen"),
    ("Okafor", "okafor"),
    ("Müller", "muller"),
    ("García", "garcia"),
    ("Kowalski", "kowalski"),
    ("Sato", "sato"),
    ("Haddad", "haddad"),
    ("Fischer", "fischer"),
    ("O'Brien", "obrien"),
    ("Łukasiewicz", "lukasiewicz"),
    ("Petrov", "petrov"),
    ("Mensah", "mensah"),
    ("Lindqvist", "lindqvist"),
    ("Rossi", "rossi"),
    ("Chen", "chen"),
    ("Patel", "patel"),
    ("Dubois", "dubois"),
    ("Silva", "silva"),
    ("Novák", "novak"),
    ("Yılmaz", "yilmaz"),
    ("Andersen", "andersen"),
    ("Kim", "kim"),
    ("Martínez", "martinez"),
    ("Schmidt", "schmidt"),
];

const GROUP_NAMES: &[&str] = &[
    "all-users",
    "gpu-users",
    "ml-team",
    "hpc-users",
    "admins",
    "data-engineering",
    "bioinformatics",
    "climate-modeling",
];

/// An OpenSSH `ssh-ed25519` public key line for the 32-byte key `public`.
///
/// The blob is the SSH wire format (RFC 8709): `string "ssh-ed25519"` followed by
/// `string public`, each a big-endian `u32` length and the bytes, then base64.
/// `ssh-keygen -l -f` parses such a line; random bytes are not checked against the
/// curve by OpenSSH's parser or fingerprinting.
pub fn ed25519_key_line(public: &[u8; 32], comment: &str) -> String {
    const ALGORITHM: &[u8] = b"ssh-ed25519";
    let mut blob = Vec::with_capacity(4 + ALGORITHM.len() + 4 + public.len());
    for part in [ALGORITHM, public.as_slice()] {
        let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
        blob.extend_from_slice(&len.to_be_bytes());
        blob.extend_from_slice(part);
    }
    let encoded = STANDARD.encode(blob);
    if comment.is_empty() {
        format!("ssh-ed25519 {encoded}")
    } else {
        format!("ssh-ed25519 {encoded} {comment}")
    }
}

impl SyntheticOrg {
    /// Builds the organization.
    pub fn generate(&self) -> Fixture {
        let mut rng = SmallRng::seed_from_u64(self.seed);
        let mut taken = std::collections::HashSet::new();
        let mut users = Vec::with_capacity(self.users);
        for i in 0..self.users {
            users.push(self.user(&mut rng, i, &mut taken));
        }
        let mut groups = Vec::with_capacity(self.groups);
        for j in 0..self.groups {
            let name = GROUP_NAMES
                .get(j)
                .map_or_else(|| format!("project-{j:04}"), |n| (*n).to_owned());
            let wanted = if j == 0 {
                self.users * 9 / 10
            } else {
                (self.users / (2 * j)).max(2)
            }
            .min(self.users);
            let mut picked = rand::seq::index::sample(&mut rng, self.users, wanted).into_vec();
            picked.sort_unstable();
            groups.push(FixtureGroup {
                id: format!("7{:023x}", j + 1),
                name,
                description: Some(format!("Synthetic group {j}")),
                gid: Some(30_000 + u32::try_from(j).unwrap_or(u32::MAX - 30_000)),
                created_at: Some(timestamp(j as u64 * 86_400 * 3)),
                members: picked
                    .into_iter()
                    .map(|k| users[k].username.clone())
                    .collect(),
            });
        }
        Fixture {
            organization: self.organization.clone(),
            organization_id: Some(format!("{:024x}", self.seed)),
            users,
            groups,
        }
    }

    fn user(
        &self,
        rng: &mut SmallRng,
        index: usize,
        taken: &mut std::collections::HashSet<String>,
    ) -> FixtureUser {
        let (first, first_ascii) = FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())];
        let (last, last_ascii) = LAST_NAMES[rng.random_range(0..LAST_NAMES.len())];
        let base = format!("{first_ascii}.{last_ascii}");
        let mut username = base.clone();
        let mut n = 2;
        while !taken.insert(username.clone()) {
            username = format!("{base}{n}");
            n += 1;
        }
        let roll = rng.random_range(0..100);
        let (license_status, complimentary) = match roll {
            0..=2 => (LicenseStatus::Inactive, false),
            3..=4 => (LicenseStatus::Complimentary, true),
            _ => (LicenseStatus::Active, false),
        };
        let active = rng.random_range(0..100) >= 7;
        let key_count = match rng.random_range(0..100) {
            0..=14 => 0,
            15..=74 => 1,
            75..=94 => 2,
            _ => 3,
        };
        let ssh_keys = (0..key_count)
            .map(|k| {
                let mut public = [0u8; 32];
                rng.fill(&mut public);
                ed25519_key_line(&public, &format!("{username}@host{k}"))
            })
            .collect();
        FixtureUser {
            id: format!("6{:023x}", index + 1),
            email: Some(format!("{username}@{}.example", self.organization)),
            name: Some(format!("{first} {last}")),
            username,
            active,
            license_status,
            admin: index == 0,
            billing_admin: false,
            complimentary,
            uid: Some(20_000 + u32::try_from(index).unwrap_or(u32::MAX - 20_000)),
            created_at: Some(timestamp(index as u64 * 7_919 % 94_608_000)),
            ssh_keys,
        }
    }
}

/// 2022-01-01T00:00:00Z plus `offset` seconds.
fn timestamp(offset: u64) -> String {
    format_rfc3339(1_640_995_200 + offset, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_line_has_the_ssh_wire_format() {
        let line = ed25519_key_line(&[7u8; 32], "u@h");
        let mut parts = line.split(' ');
        assert_eq!(parts.next(), Some("ssh-ed25519"));
        let blob = STANDARD.decode(parts.next().unwrap_or_default()).unwrap();
        assert_eq!(parts.next(), Some("u@h"));
        assert_eq!(blob.len(), 4 + 11 + 4 + 32);
        assert_eq!(&blob[..4], &[0, 0, 0, 11]);
        assert_eq!(&blob[4..15], b"ssh-ed25519");
        assert_eq!(&blob[15..19], &[0, 0, 0, 32]);
        assert_eq!(&blob[19..], &[7u8; 32]);
        // Every ed25519 blob starts with the same 26 base64 characters.
        assert!(line.starts_with("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI"));
    }

    #[test]
    fn generation_is_deterministic_valid_and_shaped() {
        let spec = SyntheticOrg {
            users: 400,
            groups: 12,
            ..SyntheticOrg::default()
        };
        let org = spec.generate();
        assert_eq!(org, spec.generate());
        assert_ne!(
            org,
            SyntheticOrg {
                seed: 2,
                ..spec.clone()
            }
            .generate()
        );
        org.validate().unwrap();
        assert_eq!(org.users.len(), 400);
        assert_eq!(org.groups.len(), 12);
        assert_eq!(org.groups[0].name, "all-users");
        assert_eq!(org.groups[0].members.len(), 360);
        assert_eq!(org.groups[1].members.len(), 200);
        assert_eq!(org.groups[11].members.len(), 18);
        assert_eq!(org.groups[11].name, "project-0011");
        let inactive = org.users.iter().filter(|u| !u.active).count();
        assert!((10..=50).contains(&inactive), "{inactive}");
        let keys: usize = org.users.iter().map(|u| u.ssh_keys.len()).sum();
        assert!((350..=500).contains(&keys), "{keys}");
        assert!(
            org.users
                .iter()
                .any(|u| u.name.as_deref().is_some_and(|n| !n.is_ascii()))
        );
        assert!(org.users.iter().all(|u| u.username.is_ascii()));
    }
}
