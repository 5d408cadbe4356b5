//! Configuration from environment variables: one loader for every service, and errors that
//! name the variable that is wrong so an operator can fix it without reading code.

use std::{collections::BTreeMap, net::SocketAddr, str::FromStr, time::Duration};

/// A configuration problem, always naming the offending variable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {name} is required: {hint}")]
    Missing { name: String, hint: &'static str },
    #[error("environment variable {name}={value:?} is invalid: {reason}")]
    Invalid {
        name: String,
        value: String,
        reason: String,
    },
}

/// Reads variables from a map (the process environment in production, a literal map in
/// tests, so tests never mutate global state).
#[derive(Clone, Debug, Default)]
pub struct Env(BTreeMap<String, String>);

impl Env {
    /// The process environment.
    pub fn from_process() -> Self {
        Self(std::env::vars().collect())
    }

    /// A fixed set of variables (tests).
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// Sets one variable, returning the updated set.
    pub fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        self.0.insert(name.to_string(), value.into());
        self
    }

    /// The raw value, treating empty as unset.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A required string.
    pub fn required(&self, name: &str, hint: &'static str) -> Result<String, ConfigError> {
        self.get(name)
            .map(str::to_string)
            .ok_or_else(|| ConfigError::Missing {
                name: name.to_string(),
                hint,
            })
    }

    /// A parsed value with a default.
    pub fn parse_or<T>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => raw.parse().map_err(|e: T::Err| ConfigError::Invalid {
                name: name.to_string(),
                value: raw.to_string(),
                reason: e.to_string(),
            }),
        }
    }

    /// A duration written as `500ms`, `30s`, `5m`, `2h` or `7d`.
    pub fn duration_or(&self, name: &str, default: Duration) -> Result<Duration, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => parse_duration(raw).ok_or_else(|| ConfigError::Invalid {
                name: name.to_string(),
                value: raw.to_string(),
                reason: "expected a number followed by ms, s, m, h or d".into(),
            }),
        }
    }
}

/// Parses `500ms`, `30s`, `5m`, `2h`, `7d`.
pub fn parse_duration(raw: &str) -> Option<Duration> {
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit())?;
    let (num, unit) = raw.split_at(split);
    let n: u64 = num.parse().ok()?;
    let secs = match unit {
        "ms" => return Some(Duration::from_millis(n)),
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return None,
    };
    Some(Duration::from_secs(secs))
}

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line (production).
    Json,
    /// Human-readable (local debugging).
    Pretty,
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "json" => Ok(Self::Json),
            "pretty" | "text" => Ok(Self::Pretty),
            other => Err(format!(
                "unknown log format {other:?}, expected json or pretty"
            )),
        }
    }
}

/// The settings every service shares. Service-specific settings are read by the service
/// from the same [`Env`].
#[derive(Clone, Debug)]
pub struct Config {
    /// Service name: also its Postgres schema, Redis consumer group and JWT subject.
    pub service: String,
    /// gRPC listen address (`GRPC_LISTEN`).
    pub grpc_listen: SocketAddr,
    /// Prometheus metrics listen address (`METRICS_LISTEN`); port 0 disables it.
    pub metrics_listen: SocketAddr,
    /// Postgres URL (`DATABASE_URL`).
    pub database_url: Option<String>,
    /// Schema owned by this service (`DATABASE_SCHEMA`, default: the service name).
    pub database_schema: String,
    /// Pool size (`DATABASE_MAX_CONNECTIONS`).
    pub database_max_connections: u32,
    /// Redis URL (`REDIS_URL`).
    pub redis_url: String,
    /// Prefix for every Redis key (`REDIS_KEY_PREFIX`), so tests and tenants can share a server.
    pub redis_prefix: String,
    /// HS256 secret shared by the gateway and the services (`AUTH_JWT_SECRET`).
    pub jwt_secret: String,
    /// Expected `iss` of tokens (`AUTH_JWT_ISSUER`).
    pub jwt_issuer: String,
    /// OTLP gRPC endpoint for traces (`OTEL_EXPORTER_OTLP_ENDPOINT`); none disables export.
    pub otlp_endpoint: Option<String>,
    /// `LOG_FORMAT`: json (default) or pretty.
    pub log_format: LogFormat,
    /// How long delivered outbox rows are kept so streams can be re-filled (`OUTBOX_RETENTION`).
    pub outbox_retention: Duration,
    /// Fallback polling period of the outbox dispatcher (`OUTBOX_POLL`).
    pub outbox_poll: Duration,
    env: Env,
}

impl Config {
    /// Loads and validates the shared settings for `service` with its default gRPC port.
    pub fn load(service: &str, default_port: u16, env: Env) -> Result<Self, ConfigError> {
        let grpc_listen = env.parse_or(
            "GRPC_LISTEN",
            SocketAddr::from(([0, 0, 0, 0], default_port)),
        )?;
        let metrics_listen = env.parse_or(
            "METRICS_LISTEN",
            SocketAddr::from(([0, 0, 0, 0], default_port.saturating_add(1000))),
        )?;
        let database_url = env.get("DATABASE_URL").map(str::to_string);
        if let Some(url) = &database_url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            return Err(ConfigError::Invalid {
                name: "DATABASE_URL".into(),
                value: url.clone(),
                reason: "expected a postgres:// URL".into(),
            });
        }
        let database_schema = env
            .get("DATABASE_SCHEMA")
            .map(str::to_string)
            .unwrap_or_else(|| service.replace('-', "_"));
        if !database_schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            || database_schema.is_empty()
        {
            return Err(ConfigError::Invalid {
                name: "DATABASE_SCHEMA".into(),
                value: database_schema,
                reason: "use lowercase letters, digits and underscores".into(),
            });
        }
        let redis_url = env
            .get("REDIS_URL")
            .unwrap_or("redis://127.0.0.1:6379")
            .to_string();
        if !redis_url.starts_with("redis://") && !redis_url.starts_with("rediss://") {
            return Err(ConfigError::Invalid {
                name: "REDIS_URL".into(),
                value: redis_url,
                reason: "expected a redis:// URL".into(),
            });
        }
        let jwt_secret = env.required(
            "AUTH_JWT_SECRET",
            "the HS256 secret shared with the API gateway (make run generates one)",
        )?;
        if jwt_secret.len() < 16 {
            return Err(ConfigError::Invalid {
                name: "AUTH_JWT_SECRET".into(),
                value: "<redacted>".into(),
                reason: "must be at least 16 bytes".into(),
            });
        }
        Ok(Self {
            service: service.to_string(),
            grpc_listen,
            metrics_listen,
            database_url,
            database_schema,
            database_max_connections: env.parse_or("DATABASE_MAX_CONNECTIONS", 10)?,
            redis_url,
            redis_prefix: env.get("REDIS_KEY_PREFIX").unwrap_or("").to_string(),
            jwt_secret,
            jwt_issuer: env
                .get("AUTH_JWT_ISSUER")
                .unwrap_or("aftersales")
                .to_string(),
            otlp_endpoint: env.get("OTEL_EXPORTER_OTLP_ENDPOINT").map(str::to_string),
            log_format: env.parse_or("LOG_FORMAT", LogFormat::Json)?,
            outbox_retention: env
                .duration_or("OUTBOX_RETENTION", Duration::from_secs(7 * 86_400))?,
            outbox_poll: env.duration_or("OUTBOX_POLL", Duration::from_secs(1))?,
            env,
        })
    }

    /// The environment the config was read from, for service-specific settings.
    pub fn env(&self) -> &Env {
        &self.env
    }

    /// The base URL of a peer service (`<NAME>_URL`, e.g. `SLA_URL`), required when used.
    pub fn peer_url(&self, peer: &str) -> Result<String, ConfigError> {
        let var = format!("{}_URL", peer.to_ascii_uppercase().replace('-', "_"));
        let url = self.env.required_owned(&var)?;
        if !url.starts_with("http://") && !url.starts_with("https://") {
            return Err(ConfigError::Invalid {
                name: var,
                value: url,
                reason: "expected an http:// or https:// URL".into(),
            });
        }
        Ok(url)
    }

    /// The database URL, or a clear error when the service needs one.
    pub fn require_database_url(&self) -> Result<&str, ConfigError> {
        self.database_url
            .as_deref()
            .ok_or_else(|| ConfigError::Missing {
                name: "DATABASE_URL".into(),
                hint: "a postgres:// URL; make run sets it",
            })
    }
}

impl Env {
    fn required_owned(&self, name: &str) -> Result<String, ConfigError> {
        self.get(name)
            .map(str::to_string)
            .ok_or_else(|| ConfigError::Missing {
                name: name.to_string(),
                hint: "the peer's base URL, e.g. http://127.0.0.1:50056",
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Env {
        Env::from_pairs([("AUTH_JWT_SECRET", "0123456789abcdef0123")])
    }

    #[test]
    fn defaults_follow_the_service_port() {
        let cfg = Config::load("returns", 50051, base()).unwrap();
        assert_eq!(cfg.grpc_listen.port(), 50051);
        assert_eq!(cfg.metrics_listen.port(), 51051);
        assert_eq!(cfg.database_schema, "returns");
        assert_eq!(cfg.log_format, LogFormat::Json);
    }

    #[test]
    fn errors_name_the_bad_variable() {
        let err = Config::load("returns", 50051, Env::default()).unwrap_err();
        assert!(err.to_string().contains("AUTH_JWT_SECRET"), "{err}");
        let err = Config::load("returns", 50051, base().with("GRPC_LISTEN", "nope")).unwrap_err();
        assert!(err.to_string().contains("GRPC_LISTEN"), "{err}");
        let err =
            Config::load("returns", 50051, base().with("DATABASE_URL", "mysql://x")).unwrap_err();
        assert!(err.to_string().contains("DATABASE_URL"), "{err}");
        let err =
            Config::load("returns", 50051, base().with("DATABASE_SCHEMA", "Bad-Name")).unwrap_err();
        assert!(err.to_string().contains("DATABASE_SCHEMA"), "{err}");
        let err = Config::load("returns", 50051, base().with("OUTBOX_POLL", "fast")).unwrap_err();
        assert!(err.to_string().contains("OUTBOX_POLL"), "{err}");
        let cfg = Config::load("returns", 50051, base()).unwrap();
        let err = cfg.peer_url("sla").unwrap_err();
        assert!(err.to_string().contains("SLA_URL"), "{err}");
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_duration("7d"), Some(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("7"), None);
        assert_eq!(parse_duration("x1s"), None);
    }
}
