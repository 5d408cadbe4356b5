//! The logistics partners allowed to report carrier events: each has its own secrets
//! (several at once while a secret is rotated) and the carriers it may report for.

use std::collections::BTreeMap;

use serde::Deserialize;

/// One partner.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Partner {
    /// The id it sends in `X-Partner-Id`.
    pub id: String,
    /// Carrier codes it reports for (lower case).
    pub carriers: Vec<String>,
    /// Active secrets: during a rotation the new one and the old one.
    pub secrets: Vec<String>,
}

/// All partners by id.
#[derive(Clone, Debug, Default)]
pub struct Partners(BTreeMap<String, Partner>);

impl Partners {
    /// Parses `LOGISTICS_PARTNERS`: a JSON list of `{"id", "carriers", "secrets"}`.
    pub fn from_json(raw: &str) -> Result<Self, String> {
        let list: Vec<Partner> = serde_json::from_str(raw).map_err(|e| e.to_string())?;
        let mut map = BTreeMap::new();
        for mut p in list {
            if p.id.is_empty() || p.secrets.is_empty() || p.carriers.is_empty() {
                return Err(format!(
                    "partner {:?} needs an id, carriers and secrets",
                    p.id
                ));
            }
            if let Some(short) = p.secrets.iter().find(|s| s.len() < 16) {
                return Err(format!(
                    "partner {}: secret {}... shorter than 16 bytes",
                    p.id,
                    &short[..short.len().min(2)]
                ));
            }
            p.carriers = p.carriers.iter().map(|c| c.to_ascii_lowercase()).collect();
            if map.insert(p.id.clone(), p).is_some() {
                return Err("duplicate partner id".into());
            }
        }
        Ok(Self(map))
    }

    /// The partner with `id`.
    pub fn get(&self, id: &str) -> Option<&Partner> {
        self.0.get(id)
    }

    /// Every carrier some partner reports for.
    pub fn carriers(&self) -> impl Iterator<Item = &str> {
        self.0
            .values()
            .flat_map(|p| p.carriers.iter().map(String::as_str))
    }
}

impl Partner {
    /// Whether this partner may report for `carrier` (lower case).
    pub fn reports_for(&self, carrier: &str) -> bool {
        self.carriers.iter().any(|c| c == carrier)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_partners_and_normalises_carriers() {
        let p = Partners::from_json(
            r#"[{"id":"sf-express","carriers":["SF"],"secrets":["0123456789abcdef","fedcba9876543210"]}]"#,
        )
        .unwrap();
        let sf = p.get("sf-express").unwrap();
        assert!(sf.reports_for("sf"));
        assert!(!sf.reports_for("yto"));
        assert_eq!(sf.secrets.len(), 2);
    }

    #[test]
    fn refuses_weak_or_incomplete_partners() {
        assert!(
            Partners::from_json(r#"[{"id":"a","carriers":["sf"],"secrets":["short"]}]"#).is_err()
        );
        assert!(
            Partners::from_json(r#"[{"id":"a","carriers":[],"secrets":["0123456789abcdef"]}]"#)
                .is_err()
        );
        assert!(Partners::from_json("not json").is_err());
    }
}
