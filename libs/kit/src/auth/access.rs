//! Who may call which method (SPEC §9): every service declares one table of [`Rule`]s in
//! its `access.rs` and names it in its `ServiceSpec`; the kit's layer enforces it before
//! any handler runs. A rule names the end-user and staff roles a method is open to and,
//! separately, the calling **services by identity**: a service token is never enough on
//! its own, so a method open to "services" is open to the ones named and no other (only
//! `sla` delivers timer callbacks; only the services whose cases carry refunds request
//! them). Methods without a rule are refused (deny by default), and a test walks every
//! method of the descriptor set so none is forgotten.

use std::collections::HashMap;

use crate::{
    auth::{Principal, Role},
    error::Error,
};

/// One line of a service's access table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// The full gRPC service name, e.g. `aftersales.refunds.v1.RefundsService`.
    pub service: &'static str,
    /// The method, e.g. `CreateRefund`.
    pub method: &'static str,
    /// End-user and staff roles allowed (never [`Role::Service`]: services are named).
    pub roles: &'static [Role],
    /// The calling services allowed, by the identity their token carries (`sub`).
    pub services: &'static [&'static str],
    /// Whether an admin may call it too. True for every method people call; false for the
    /// machine-only doors (timer callbacks), where a human could only forge an event.
    pub admin: bool,
}

/// A rule for a method people (and perhaps services) call: `roles`, the named `services`,
/// and admins.
pub const fn rule(
    service: &'static str,
    method: &'static str,
    roles: &'static [Role],
    services: &'static [&'static str],
) -> Rule {
    Rule {
        service,
        method,
        roles,
        services,
        admin: true,
    }
}

/// A rule for a machine-only method: only the named `services`, not even an admin.
pub const fn machine(
    service: &'static str,
    method: &'static str,
    services: &'static [&'static str],
) -> Rule {
    Rule {
        service,
        method,
        roles: &[],
        services,
        admin: false,
    }
}

impl Rule {
    /// `/service/method`, the HTTP/2 path of the call.
    pub fn path(&self) -> String {
        format!("/{}/{}", self.service, self.method)
    }

    /// Whether `p` may call the method.
    pub fn admits(&self, p: &Principal) -> bool {
        match p.role {
            Role::Service => self.services.contains(&p.id.as_str()),
            Role::Admin => self.admin || self.roles.contains(&Role::Admin),
            role => self.roles.contains(&role),
        }
    }

    /// Who may call it, for refusals and docs: `buyer, agent, services returns|repairs`.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self.roles.iter().map(|r| r.to_string()).collect();
        if self.admin && !self.roles.contains(&Role::Admin) {
            parts.push("admin".into());
        }
        if !self.services.is_empty() {
            parts.push(format!("services {}", self.services.join("|")));
        }
        if parts.is_empty() {
            "nobody".into()
        } else {
            parts.join(", ")
        }
    }
}

/// A service's access table, indexed by path.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    rules: HashMap<String, Rule>,
}

/// Paths that need no token: probes and tooling.
const PUBLIC_PREFIXES: &[&str] = &[
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1.ServerReflection/",
    "/grpc.reflection.v1alpha.ServerReflection/",
];

impl Policy {
    /// The policy of `table`, refusing a table that could not mean what it says: a rule
    /// listing the `service` role (services are named, never admitted as a class), a method
    /// listed twice, or a rule open to nobody at all.
    pub fn from_rules(table: &[Rule]) -> Result<Self, String> {
        let mut rules = HashMap::new();
        for r in table {
            if r.roles.contains(&Role::Service) {
                return Err(format!(
                    "{}: name the calling services instead of the service role",
                    r.path()
                ));
            }
            if r.roles.is_empty() && r.services.is_empty() && !r.admin {
                return Err(format!("{}: the rule admits nobody", r.path()));
            }
            if rules.insert(r.path(), *r).is_some() {
                return Err(format!("{}: listed twice", r.path()));
            }
        }
        Ok(Self { rules })
    }

    /// The rule for `path`, if the table has one.
    pub fn rule(&self, path: &str) -> Option<&Rule> {
        self.rules.get(path)
    }

    /// True when `path` needs no authentication.
    pub fn is_public(path: &str) -> bool {
        PUBLIC_PREFIXES.iter().any(|p| path.starts_with(p))
    }

    /// Whether `principal` may call the method at `path`. The refusal says who may, so a
    /// caller wired to the wrong identity learns it from the first call.
    pub fn authorize(&self, path: &str, principal: &Principal) -> Result<(), Error> {
        match self.rules.get(path) {
            Some(rule) if rule.admits(principal) => Ok(()),
            Some(rule) => Err(Error::PermissionDenied(match principal.role {
                Role::Service => format!(
                    "service {} may not call {path} (open to {})",
                    principal.id,
                    rule.describe()
                ),
                role => format!(
                    "role {role} may not call {path} (open to {})",
                    rule.describe()
                ),
            })),
            None => Err(Error::PermissionDenied(format!(
                "{path} is not open to any caller"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(role: Role, id: &str) -> Principal {
        Principal {
            id: id.into(),
            role,
            carrier: None,
            groups: Vec::new(),
        }
    }

    const TABLE: &[Rule] = &[
        rule("svc.S", "M", &[Role::Buyer], &["returns"]),
        machine("svc.S", "Tick", &["sla"]),
        rule("svc.S", "Admin", &[], &[]),
    ];

    #[test]
    fn roles_and_named_services_only() {
        let p = Policy::from_rules(TABLE).unwrap();
        assert!(p.authorize("/svc.S/M", &who(Role::Buyer, "b")).is_ok());
        assert!(p.authorize("/svc.S/M", &who(Role::Merchant, "m")).is_err());
        assert!(p.authorize("/svc.S/M", &who(Role::Admin, "a")).is_ok());
        assert!(
            p.authorize("/svc.S/M", &who(Role::Service, "returns"))
                .is_ok()
        );
        let e = p
            .authorize("/svc.S/M", &who(Role::Service, "logistics"))
            .unwrap_err();
        assert!(
            e.to_string().contains("service logistics may not call"),
            "{e}"
        );
        assert!(p.authorize("/svc.S/Other", &who(Role::Admin, "a")).is_err());
    }

    #[test]
    fn machine_doors_admit_no_human() {
        let p = Policy::from_rules(TABLE).unwrap();
        assert!(
            p.authorize("/svc.S/Tick", &who(Role::Service, "sla"))
                .is_ok()
        );
        assert!(p.authorize("/svc.S/Tick", &who(Role::Admin, "a")).is_err());
        assert!(
            p.authorize("/svc.S/Tick", &who(Role::Service, "refunds"))
                .is_err()
        );
        assert!(p.authorize("/svc.S/Admin", &who(Role::Admin, "a")).is_ok());
        assert!(p.authorize("/svc.S/Admin", &who(Role::Agent, "a")).is_err());
    }

    #[test]
    fn tables_that_cannot_mean_what_they_say_are_refused() {
        let class = [rule("svc.S", "M", &[Role::Service], &[])];
        assert!(Policy::from_rules(&class).unwrap_err().contains("name the"));
        let twice = [rule("svc.S", "M", &[], &[]), rule("svc.S", "M", &[], &[])];
        assert!(Policy::from_rules(&twice).unwrap_err().contains("twice"));
        let nobody = [machine("svc.S", "M", &[])];
        assert!(Policy::from_rules(&nobody).unwrap_err().contains("nobody"));
    }
}
