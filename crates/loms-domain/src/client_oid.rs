//! Client order ids: the deterministic id under which an order is sent to a venue, so
//! that a retry after a crash reuses it and can never become a second order.

use std::fmt;

/// The `kv_state` key of the database's client id tag (made once, at schema v9).
pub const DB_TAG_KEY: &str = "client_oid_tag";

/// A client order id: 1 to 32 characters of `[A-Za-z0-9_-]` — within every rule the
/// venue's documents state, and sent in a query without encoding (signed = sent).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientOid(String);

/// Which order of a position a client order id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leg {
    /// The entry.
    Entry,
    /// The n-th exit (partial or full) of the position, from 1.
    Exit(u32),
}

impl ClientOid {
    /// Check a client order id.
    ///
    /// # Errors
    /// A message saying what is allowed.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.is_empty()
            || s.len() > 32
            || !s
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(format!(
                "client order id {s:?} must be 1 to 32 characters of A-Z a-z 0-9 _ -"
            ));
        }
        Ok(Self(s.to_string()))
    }

    /// The deterministic id of `leg` of position `position_id` in the database tagged
    /// `db_tag` (a short random tag made when the database was created, so that two
    /// databases never derive the same id): a retry after a crash derives the same id.
    ///
    /// # Errors
    /// When `db_tag` is not 1 to 8 characters of `[A-Za-z0-9]`.
    pub fn derive(db_tag: &str, position_id: i64, leg: Leg) -> Result<Self, String> {
        Self::check_tag(db_tag)?;
        // "L" + 8 + "-" + 19 digits + "-x" + 10 digits could pass 32: ids and exits
        // that big never occur, and `parse` refuses rather than truncates.
        let s = match leg {
            Leg::Entry => format!("L{db_tag}-{position_id}-e"),
            Leg::Exit(n) => format!("L{db_tag}-{position_id}-x{n}"),
        };
        Self::parse(&s)
    }

    /// Check a database tag: 1 to 8 characters of `[A-Za-z0-9]` (the tag the v9
    /// migration stores under [`DB_TAG_KEY`] is 8 upper-case hex digits).
    ///
    /// # Errors
    /// A message saying what is allowed.
    pub fn check_tag(db_tag: &str) -> Result<(), String> {
        if db_tag.is_empty()
            || db_tag.len() > 8
            || !db_tag.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(format!(
                "database tag {db_tag:?} must be 1 to 8 letters or digits"
            ));
        }
        Ok(())
    }

    /// Which leg of its position a derived id names (`None`: not a derived id).
    pub fn leg(&self) -> Option<Leg> {
        let (_, last) = self.0.rsplit_once('-')?;
        match last.strip_prefix('x') {
            None if last == "e" => Some(Leg::Entry),
            None => None,
            Some(n) => n.parse().ok().filter(|n| *n > 0).map(Leg::Exit),
        }
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientOid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_derived_id_says_its_leg() {
        for leg in [Leg::Entry, Leg::Exit(1), Leg::Exit(12)] {
            assert_eq!(ClientOid::derive("T1", 7, leg).unwrap().leg(), Some(leg));
        }
        for s in ["abc", "L1-2-x0", "L1-2-xx", "L1-2-f"] {
            assert_eq!(ClientOid::parse(s).unwrap().leg(), None, "{s}");
        }
    }

    #[test]
    fn derived_ids_are_stable_short_and_checked() {
        let a = ClientOid::derive("k7Q2", 42, Leg::Entry).unwrap();
        assert_eq!(a.as_str(), "Lk7Q2-42-e");
        assert_eq!(a, ClientOid::derive("k7Q2", 42, Leg::Entry).unwrap());
        assert_eq!(
            ClientOid::derive("k7Q2", 42, Leg::Exit(2))
                .unwrap()
                .as_str(),
            "Lk7Q2-42-x2"
        );
        let longest = ClientOid::derive("ABCDEFGH", 9_999_999_999, Leg::Exit(99_999)).unwrap();
        assert!(longest.as_str().len() <= 32);
        assert!(ClientOid::derive("a-b", 1, Leg::Entry).is_err());
        assert!(ClientOid::derive("", 1, Leg::Entry).is_err());
        assert!(ClientOid::check_tag("123456789").is_err());
        assert!(ClientOid::parse("loms#1").is_err());
        assert!(ClientOid::parse(&"x".repeat(33)).is_err());
    }
}
