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

/// `Serialize` for types derived with `#[serde(remote = "Self")]` that are also written (fetch's
/// `manifest.json`): the attribute turns the derived `Serialize` into the type's own `serialize`
/// function as well, which this forwards to.
#[cfg(feature = "fetch")]
macro_rules! serialize_derived {
    ($($ty:ident),+ $(,)?) => {$(
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                $ty::serialize(self, serializer)
            }
        }
    )+};
}
#[cfg(feature = "fetch")]
pub(crate) use serialize_derived;

#[cfg(test)]
mod tests {
    /// Every serde struct of `input`, and of what `fetch` reads back to resume (its manifest,
    /// kept jobs, the organisation summary: `fetch/store.rs`), is derived with `remote = "Self"`,
    /// so that its `Deserialize` can only be the one [`objects_only!`] gives (a type without it
    /// does not compile). Enums are read from strings, which serde_json never takes from a list.
    #[test]
    fn every_input_type_is_read_from_objects_only() {
        let sources = [
            ("authz.rs", include_str!("authz.rs")),
            ("last_accessed.rs", include_str!("last_accessed.rs")),
            ("manifest.rs", include_str!("manifest.rs")),
            ("organization.rs", include_str!("organization.rs")),
            ("../fetch/store.rs", include_str!("../fetch/store.rs")),
        ];
        let mut derived = 0;
        for (file, text) in sources {
            let lines: Vec<&str> = text.lines().map(str::trim_start).collect();
            for (i, line) in lines.iter().enumerate() {
                if line.starts_with("#[derive(") && line.contains("Deserialize") {
                    let item: Vec<&str> = lines[i + 1..]
                        .iter()
                        .take_while(|l| !l.contains("struct ") && !l.contains("enum "))
                        .copied()
                        .collect();
                    let is_enum = lines
                        .get(i + 1 + item.len())
                        .is_some_and(|l| l.contains("enum "));
                    if is_enum {
                        continue;
                    }
                    derived += 1;
                    assert!(
                        item.join(" ").contains("remote = \"Self\""),
                        "{file}:{}: a Deserialize without remote = \"Self\"",
                        i + 1
                    );
                }
            }
        }
        assert!(
            derived >= 44,
            "{derived} serde types found: the check no longer sees them"
        );
    }
}
