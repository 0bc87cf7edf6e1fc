//! `required_engine_version` and `required_plugin_versions` checks.

/// The Falco rules-engine version whose language this crate implements.
pub(super) const ENGINE_VERSION: Version = Version(0, 63, 0);

/// The plugins this crate stands in for, with the versions whose fields it
/// implements: rules asking for these (or older, same-major) versions load.
pub(super) const PLUGINS: [(&str, Version); 2] = [
    ("cloudtrail", Version(0, 17, 1)),
    ("json", Version(0, 7, 4)),
];

/// A `major.minor.patch` version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Version(pub u64, pub u64, pub u64);

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

impl Version {
    /// Parses `X.Y.Z` (a pre-release or build suffix is ignored).
    fn parse(text: &str) -> Option<Version> {
        let core = text.trim().split(['-', '+']).next()?;
        let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
        let v = Version(parts.next()??, parts.next()??, parts.next()??);
        parts.next().is_none().then_some(v)
    }

    /// Whether `self` can serve a request for `wanted`: same major, and at
    /// least as new.
    fn satisfies(self, wanted: Version) -> bool {
        self.0 == wanted.0 && self >= wanted
    }
}

/// Checks a `required_engine_version` value: an integer `N` means `0.N.0`.
pub(super) fn check_engine(text: &str) -> Result<(), String> {
    let wanted = match text.trim().parse::<u64>() {
        Ok(minor) => Version(0, minor, 0),
        Err(_) => Version::parse(text)
            .ok_or_else(|| format!("Unable to parse engine version '{text}' as a semver string"))?,
    };
    if ENGINE_VERSION.satisfies(wanted) {
        Ok(())
    } else {
        Err(format!(
            "Rules require engine version {wanted}, but engine version is {ENGINE_VERSION}"
        ))
    }
}

/// Checks one `required_plugin_versions` entry, given as `(name, version)`
/// choices: any one satisfied choice is enough.
pub(super) fn check_plugin(choices: &[(String, String)]) -> Result<(), String> {
    let mut wanted = Vec::new();
    for (name, version) in choices {
        let v = Version::parse(version)
            .ok_or_else(|| format!("Invalid version '{version}' for plugin '{name}'"))?;
        wanted.push(format!("{name} (>= {version})"));
        let loaded = PLUGINS.iter().find(|(n, _)| n == name);
        if loaded.is_some_and(|(_, have)| have.satisfies(v)) {
            return Ok(());
        }
    }
    Err(format!(
        "Plugin requirement not satisfied, must load one of: {}",
        wanted.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_versions() {
        assert_eq!(check_engine("10"), Ok(()));
        assert_eq!(check_engine("0.63.0"), Ok(()));
        assert_eq!(
            check_engine("64"),
            Err("Rules require engine version 0.64.0, but engine version is 0.63.0".into())
        );
        assert!(check_engine("1.0.0").is_err());
        assert!(check_engine("ten").is_err());
    }

    #[test]
    fn plugin_alternatives() {
        let req = |v: &[(&str, &str)]| {
            let owned: Vec<_> = v
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect();
            check_plugin(&owned)
        };
        assert_eq!(req(&[("cloudtrail", "0.10.0")]), Ok(()));
        assert_eq!(req(&[("k8saudit", "0.1.0"), ("json", "0.7.0")]), Ok(()));
        assert_eq!(
            req(&[("cloudtrail", "0.18.0"), ("json", "1.0.0")]),
            Err("Plugin requirement not satisfied, must load one of: cloudtrail (>= 0.18.0), json (>= 1.0.0)".into())
        );
    }
}
