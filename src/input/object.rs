//! Serde types read from an export take a JSON object, never a list.
//!
//! serde's derived `Deserialize` for a struct takes a JSON list too and reads its fields by
//! position: `"AttachedManagedPolicies": [["arn:aws:iam::aws:policy/AdministratorAccess"]]` read
//! as an attached policy, `"RoleLastUsed": ["2026-11-19T00:00:00Z", "eu-west-1"]` as a last use.
//! No AWS output has such a list, and a hand-edited one would be read as something it does not
//! say. So every serde type of `input` is derived with `#[serde(remote = "Self")]` (serde then
//! writes its code as the type's own `deserialize` function, not as the trait) and given its
//! `Deserialize` by [`objects_only!`], which asks the parser for an object only: a list is a type
//! error ("expected an object") at its JSON path. serde_json reads an object the same way either
//! way, so this costs nothing.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserializer, MapAccess, Visitor};

/// A type read from the entries of a JSON object ([`objects_only!`] implements it).
pub(crate) trait FromObject<'de>: Sized {
    fn from_object<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error>;
}

/// `T` read from `deserializer`, which must hold an object.
pub(crate) fn object<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromObject<'de>,
{
    deserializer.deserialize_map(ObjectVisitor(PhantomData))
}

struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: FromObject<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::from_object(map)
    }
}

/// `Deserialize` for types derived with `#[serde(remote = "Self")]`, from an object only (see the
/// module docs).
macro_rules! objects_only {
    ($($ty:ident),+ $(,)?) => {$(
        impl<'de> $crate::input::object::FromObject<'de> for $ty {
            fn from_object<A: serde::de::MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
                // The derived code: `#[serde(remote = "Self")]` makes it `$ty::deserialize`.
                $ty::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                $crate::input::object::object(deserializer)
            }
        }
    )+};
}
pub(crate) use objects_only;

#[cfg(test)]
mod tests {
    /// Every serde type of `input` is derived with `remote = "Self"`, so that its `Deserialize`
    /// can only be the one [`objects_only!`] gives (a type without it does not compile).
    #[test]
    fn every_input_type_is_read_from_objects_only() {
        let sources = [
            ("authz.rs", include_str!("authz.rs")),
            ("last_accessed.rs", include_str!("last_accessed.rs")),
            ("manifest.rs", include_str!("manifest.rs")),
            ("organization.rs", include_str!("organization.rs")),
        ];
        let mut derived = 0;
        for (file, text) in sources {
            let lines: Vec<&str> = text.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                if line.starts_with("#[derive(") && line.contains("Deserialize") {
                    derived += 1;
                    let attributes = lines[i + 1..]
                        .iter()
                        .take_while(|l| !l.contains("struct ") && !l.contains("enum "))
                        .copied()
                        .collect::<Vec<_>>()
                        .join(" ");
                    assert!(
                        attributes.contains("remote = \"Self\""),
                        "{file}:{}: a Deserialize without remote = \"Self\"",
                        i + 1
                    );
                }
            }
        }
        assert!(
            derived >= 39,
            "{derived} serde types found: the check no longer sees them"
        );
    }
}
