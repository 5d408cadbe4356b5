//! Authentication and authorisation (SPEC §9). Tokens are JWTs (HS256, shared with the API
//! gateway): end users (buyer, merchant, agent, arbitrator, admin) come through the gateway,
//! services mint their own short-lived service tokens, carriers get partner tokens. The kit
//! layer verifies the token and the method's role rule; ownership of a resource is checked
//! by the service, which knows who owns what. `access` holds the per-method rules.

mod access;

pub use access::{Policy, Rule, machine, rule};

use std::{
    collections::HashMap,
    fmt,
    str::FromStr,
    sync::{Arc, Mutex},
    time::{SystemTime, UNIX_EPOCH},
};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Who the caller is acting as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A shopper: sees only his own cases.
    Buyer,
    /// A shop: sees only its own shop's cases (`sub` is the merchant id).
    Merchant,
    /// Customer-service agent of the platform.
    Agent,
    /// Platform arbitrator (disputes, rulings).
    Arbitrator,
    /// Operator with every right.
    Admin,
    /// Another aftersales or platform service (`sub` is its name).
    Service,
    /// A logistics partner (`carrier` claim names its carrier).
    Partner,
}

impl Role {
    /// Every role, for policies that allow any authenticated caller.
    pub const ALL: &'static [Role] = &[
        Role::Buyer,
        Role::Merchant,
        Role::Agent,
        Role::Arbitrator,
        Role::Admin,
        Role::Service,
        Role::Partner,
    ];

    /// The lowercase name used in tokens.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Buyer => "buyer",
            Role::Merchant => "merchant",
            Role::Agent => "agent",
            Role::Arbitrator => "arbitrator",
            Role::Admin => "admin",
            Role::Service => "service",
            Role::Partner => "partner",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .iter()
            .copied()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role {s:?}"))
    }
}

/// The claims of an aftersales token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The principal's id: buyer id, merchant id, agent id, service name or partner id.
    pub sub: String,
    /// Its role.
    pub role: Role,
    /// For partner tokens: the carrier code the partner may report for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    /// For staff: the groups the identity provider puts the principal in (e.g. `expert`,
    /// the complaints expert group whose arbitrators alone rule escalated tickets).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Issuer.
    pub iss: String,
    /// Expiry (seconds since the epoch).
    pub exp: u64,
    /// Issued at.
    pub iat: u64,
}

/// The verified caller, put in every request's extensions by the kit layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// See [`Claims::sub`].
    pub id: String,
    /// See [`Claims::role`].
    pub role: Role,
    /// See [`Claims::carrier`].
    pub carrier: Option<String>,
    /// See [`Claims::groups`].
    pub groups: Vec<String>,
}

impl Principal {
    /// Whether the token puts the principal in staff group `group`.
    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }

    /// True for platform staff and services, who may see every party's cases.
    pub fn is_platform(&self) -> bool {
        matches!(
            self.role,
            Role::Agent | Role::Arbitrator | Role::Admin | Role::Service
        )
    }

    /// `role:id`: whose `request_id`s an idempotency claim is scoped to.
    pub fn caller_key(&self) -> String {
        format!("{}:{}", self.role, self.id)
    }

    /// Whether this caller may see a case owned by `buyer_id` at `merchant_id`. Callers
    /// answer NOT_FOUND when it is false, so a foreign case's existence never leaks.
    pub fn can_see_case(&self, buyer_id: &str, merchant_id: &str) -> bool {
        match self.role {
            Role::Buyer => self.id == buyer_id,
            Role::Merchant => self.id == merchant_id,
            Role::Partner => false,
            _ => self.is_platform(),
        }
    }
}

/// Signs and verifies tokens with one HS256 secret.
#[derive(Clone)]
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    issuer: String,
    verified: Arc<Mutex<HashMap<String, Verified>>>,
}

/// A token that passed verification, kept so that the next call with the same token
/// (services reuse theirs for minutes) skips the HMAC and the JSON: a hash lookup instead.
#[derive(Clone)]
struct Verified {
    principal: Principal,
    exp: u64,
}

/// Seconds a token is still accepted after its `exp` (clock skew between issuers).
const LEEWAY_SECS: u64 = 60;
/// Tokens remembered at most; the memory is dropped whole when full (a cheap bound that
/// costs one verification per token afterwards).
const VERIFIED_MAX: usize = 10_000;

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("issuer", &self.issuer)
            .finish()
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

impl Tokens {
    /// Keys from the shared secret.
    pub fn new(secret: &str, issuer: &str) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            issuer: issuer.to_string(),
            verified: Arc::default(),
        }
    }

    /// Mints a token valid for `ttl_secs` (dev tokens, service tokens, tests).
    pub fn mint(&self, role: Role, sub: &str, carrier: Option<&str>, ttl_secs: u64) -> String {
        self.mint_in_groups(role, sub, carrier, &[], ttl_secs)
    }

    /// Like [`Tokens::mint`], for a principal in staff `groups`.
    pub fn mint_in_groups(
        &self,
        role: Role,
        sub: &str,
        carrier: Option<&str>,
        groups: &[&str],
        ttl_secs: u64,
    ) -> String {
        let now = now_secs();
        let claims = Claims {
            sub: sub.to_string(),
            role,
            carrier: carrier.map(str::to_string),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            iss: self.issuer.clone(),
            exp: now + ttl_secs,
            iat: now,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing cannot fail")
    }

    /// Verifies signature, expiry and issuer; a token verified before is answered from
    /// memory until it expires.
    pub fn verify(&self, token: &str) -> Result<Principal, Error> {
        if let Some(p) = self.remembered(token, now_secs()) {
            return Ok(p);
        }
        let (principal, exp) = self.verify_fully(token)?;
        let mut verified = self.verified.lock().expect("verified poisoned");
        if verified.len() >= VERIFIED_MAX {
            verified.clear();
        }
        verified.insert(
            token.to_string(),
            Verified {
                principal: principal.clone(),
                exp,
            },
        );
        Ok(principal)
    }

    /// The principal of a token verified before, unless it has expired by `now`.
    fn remembered(&self, token: &str, now: u64) -> Option<Principal> {
        let verified = self.verified.lock().expect("verified poisoned");
        verified
            .get(token)
            .filter(|v| now <= v.exp.saturating_add(LEEWAY_SECS))
            .map(|v| v.principal.clone())
    }

    fn verify_fully(&self, token: &str) -> Result<(Principal, u64), Error> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.set_issuer(&[&self.issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|e| Error::Unauthenticated(format!("invalid token: {e}")))?;
        let c = data.claims;
        if c.sub.is_empty() {
            return Err(Error::Unauthenticated("token has an empty subject".into()));
        }
        if c.role == Role::Partner && c.carrier.is_none() {
            return Err(Error::Unauthenticated(
                "partner token without a carrier claim".into(),
            ));
        }
        Ok((
            Principal {
                id: c.sub,
                role: c.role,
                carrier: c.carrier,
                groups: c.groups,
            },
            c.exp,
        ))
    }

    /// Reads `authorization: Bearer <jwt>` from request headers.
    pub fn authenticate(&self, headers: &http::HeaderMap) -> Result<Principal, Error> {
        let raw = headers
            .get(http::header::AUTHORIZATION)
            .ok_or_else(|| Error::Unauthenticated("missing authorization header".into()))?
            .to_str()
            .map_err(|_| Error::Unauthenticated("malformed authorization header".into()))?;
        let token = raw
            .strip_prefix("Bearer ")
            .or_else(|| raw.strip_prefix("bearer "))
            .ok_or_else(|| Error::Unauthenticated("expected a Bearer token".into()))?;
        self.verify(token.trim())
    }
}

/// The verified caller of a request, or UNAUTHENTICATED when the layer did not set one.
pub fn principal<T>(req: &tonic::Request<T>) -> Result<Principal, Error> {
    req.extensions()
        .get::<Principal>()
        .cloned()
        .ok_or_else(|| Error::Unauthenticated("no verified caller".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "test-secret-0123456789";

    #[test]
    fn round_trip_and_tamper() {
        let t = Tokens::new(SECRET, "aftersales");
        let tok = t.mint(Role::Buyer, "b1", None, 60);
        assert_eq!(t.verify(&tok).unwrap().id, "b1");
        let other = Tokens::new("another-secret-01234567", "aftersales");
        assert!(other.verify(&tok).is_err());
        let wrong_iss = Tokens::new(SECRET, "someone-else");
        assert!(wrong_iss.verify(&tok).is_err());
    }

    #[test]
    fn a_verified_token_is_remembered_until_it_expires() {
        let t = Tokens::new(SECRET, "aftersales");
        let tok = t.mint(Role::Service, "returns", None, 300);
        let now = now_secs();
        assert_eq!(t.remembered(&tok, now), None, "not before it was verified");
        assert_eq!(t.verify(&tok).unwrap().id, "returns");
        assert_eq!(t.remembered(&tok, now).unwrap().id, "returns");
        let exp = now + 300;
        assert!(t.remembered(&tok, exp + LEEWAY_SECS).is_some());
        assert_eq!(t.remembered(&tok, exp + LEEWAY_SECS + 1), None, "expired");
        // A remembered token vouches for nothing else: one changed byte is verified afresh.
        let mut forged = tok.clone().into_bytes();
        let last = forged.len() - 2;
        forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
        assert!(t.verify(std::str::from_utf8(&forged).unwrap()).is_err());
    }

    #[test]
    fn partner_needs_carrier() {
        let t = Tokens::new(SECRET, "aftersales");
        let tok = t.mint(Role::Partner, "p1", None, 60);
        assert!(t.verify(&tok).is_err());
        let tok = t.mint(Role::Partner, "p1", Some("SF"), 60);
        assert_eq!(t.verify(&tok).unwrap().carrier.as_deref(), Some("SF"));
    }

    #[test]
    fn groups_are_carried_and_absent_by_default() {
        let t = Tokens::new(SECRET, "aftersales");
        let plain = t.verify(&t.mint(Role::Arbitrator, "a1", None, 60)).unwrap();
        assert!(!plain.in_group("expert"));
        let tok = t.mint_in_groups(Role::Arbitrator, "a2", None, &["expert"], 60);
        let p = t.verify(&tok).unwrap();
        assert!(p.in_group("expert") && !p.in_group("other"));
    }

    #[test]
    fn ownership() {
        let b = Principal {
            id: "b1".into(),
            role: Role::Buyer,
            carrier: None,
            groups: Vec::new(),
        };
        assert!(b.can_see_case("b1", "m1"));
        assert!(!b.can_see_case("b2", "m1"));
        let m = Principal {
            id: "m1".into(),
            role: Role::Merchant,
            carrier: None,
            groups: Vec::new(),
        };
        assert!(m.can_see_case("b2", "m1"));
        assert!(!m.can_see_case("b2", "m2"));
    }
}
