//! Keys and their rotation, as Kubernetes lays them out: the API server's
//! EncryptionConfiguration (providers and key *names*; the secrets were
//! redacted on the node), the files behind the service-account flags, and
//! the kubelet's rotating certificate store.
//!
//! Upstream references:
//! - EncryptionConfiguration: k8s.io/apiserver `pkg/apis/apiserver/types_encryption.go`
//!   (`ProviderConfiguration` with `aesgcm`, `aescbc`, `secretbox`,
//!   `identity`, `kms`; `AESConfiguration.Keys`/`SecretboxConfiguration.Keys`
//!   of `Key{Name, Secret}`; `KMSConfiguration{APIVersion (default "v1"),
//!   Name, Endpoint, CacheSize, Timeout}`). The API server writes with the
//!   first provider and its first key, and reads with any of them
//!   (`pkg/server/options/encryptionconfig/config.go`).
//! - The kubelet's certificate store: k8s.io/client-go
//!   `util/certificate/certificate_store.go` writes each new pair as
//!   `<prefix>-<time.Now().Format("2006-01-02-15-04-05")>.pem` and points
//!   `<prefix>-current.pem` at it (prefix `kubelet-client` and
//!   `kubelet-server`); `certificate_manager.go` (`nextRotationDeadline`)
//!   rotates at a jittered 70–90 % of the certificate's validity.

use serde_json::Value as Json;

use super::effective::{NodeCtx, Resolution, Unresolved};
use crate::facts::{ComponentKind, FileFacts};

/// One provider of an EncryptionConfiguration resource entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provider {
    pub kind: ProviderKind,
    /// Key names (aescbc, aesgcm, secretbox), in order; the first is the
    /// one written with. For KMS, the plugin's `name`.
    pub keys: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProviderKind {
    AesCbc,
    AesGcm,
    Secretbox,
    /// KMS v1 (`apiVersion` absent or `v1`): deprecated since 1.28.
    KmsV1,
    /// KMS v2: the plugin rotates its key itself.
    KmsV2,
    Identity,
    /// A provider name this version does not know, kept as written.
    Unknown(String),
}

impl ProviderKind {
    pub fn as_str(&self) -> &str {
        match self {
            ProviderKind::AesCbc => "aescbc",
            ProviderKind::AesGcm => "aesgcm",
            ProviderKind::Secretbox => "secretbox",
            ProviderKind::KmsV1 => "kms v1",
            ProviderKind::KmsV2 => "kms v2",
            ProviderKind::Identity => "identity",
            ProviderKind::Unknown(s) => s,
        }
    }

    /// Keys that live in the file (and so age with it).
    pub fn local_keys(&self) -> bool {
        matches!(
            self,
            ProviderKind::AesCbc | ProviderKind::AesGcm | ProviderKind::Secretbox
        )
    }

    pub fn is_kms(&self) -> bool {
        matches!(self, ProviderKind::KmsV1 | ProviderKind::KmsV2)
    }
}

impl Provider {
    /// `aescbc [key2, key1]`, `kms v2 (vault)`, `identity`.
    pub fn describe(&self) -> String {
        match &self.kind {
            k if k.is_kms() => format!("{} ({})", k.as_str(), self.keys.join(", ")),
            k if k.local_keys() => format!("{} [{}]", k.as_str(), self.keys.join(", ")),
            k => k.as_str().to_string(),
        }
    }
}

/// One entry of `resources`: the resources it covers and its providers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptionEntry {
    pub index: usize,
    pub resources: Vec<String>,
    pub providers: Vec<Provider>,
}

impl EncryptionEntry {
    /// The provider written with, and its key: the first key of the first
    /// provider (None for identity, or a provider without keys).
    pub fn active(&self) -> Option<(&Provider, Option<&str>)> {
        let p = self.providers.first()?;
        Some((p, p.keys.first().map(String::as_str)))
    }

    /// Keys still listed besides the active one: the active provider's
    /// other keys, and every key of the providers after it (identity and
    /// KMS plugins are not keys of the file).
    pub fn old_keys(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (i, p) in self.providers.iter().enumerate() {
            if !p.kind.local_keys() {
                continue;
            }
            let skip = usize::from(i == 0);
            out.extend(
                p.keys
                    .iter()
                    .skip(skip)
                    .map(|k| format!("{k} ({})", p.kind.as_str())),
            );
        }
        out
    }
}

/// Parses an EncryptionConfiguration (YAML or JSON, as parsed by
/// `crate::yaml`). Key secrets are never looked at: only names.
pub fn parse_encryption(doc: &Json) -> Result<Vec<EncryptionEntry>, String> {
    let resources = doc
        .get("resources")
        .and_then(Json::as_array)
        .ok_or("no resources list")?;
    let mut out = Vec::new();
    for (i, r) in resources.iter().enumerate() {
        let names = r
            .get("resources")
            .and_then(Json::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Json::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        let providers = r
            .get("providers")
            .and_then(Json::as_array)
            .ok_or_else(|| format!("resources[{i}] has no providers list"))?;
        let mut parsed = Vec::new();
        for (j, p) in providers.iter().enumerate() {
            let obj = p
                .as_object()
                .ok_or_else(|| format!("resources[{i}].providers[{j}] is not a mapping"))?;
            let Some((name, body)) = obj.iter().next() else {
                return Err(format!("resources[{i}].providers[{j}] is empty"));
            };
            parsed.push(parse_provider(name, body));
        }
        out.push(EncryptionEntry {
            index: i,
            resources: names,
            providers: parsed,
        });
    }
    Ok(out)
}

fn parse_provider(name: &str, body: &Json) -> Provider {
    let key_names = || -> Vec<String> {
        body.get("keys")
            .and_then(Json::as_array)
            .map(|keys| {
                keys.iter()
                    .map(|k| {
                        k.get("name")
                            .and_then(Json::as_str)
                            .unwrap_or("(unnamed)")
                            .to_string()
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    match name {
        "aescbc" => Provider {
            kind: ProviderKind::AesCbc,
            keys: key_names(),
        },
        "aesgcm" => Provider {
            kind: ProviderKind::AesGcm,
            keys: key_names(),
        },
        "secretbox" => Provider {
            kind: ProviderKind::Secretbox,
            keys: key_names(),
        },
        "identity" => Provider {
            kind: ProviderKind::Identity,
            keys: Vec::new(),
        },
        "kms" => {
            let v2 = body.get("apiVersion").and_then(Json::as_str) == Some("v2");
            Provider {
                kind: if v2 {
                    ProviderKind::KmsV2
                } else {
                    ProviderKind::KmsV1
                },
                keys: body
                    .get("name")
                    .and_then(Json::as_str)
                    .map(|n| vec![n.to_string()])
                    .unwrap_or_default(),
            }
        }
        other => Provider {
            kind: ProviderKind::Unknown(other.to_string()),
            keys: Vec::new(),
        },
    }
}

/// The API server's encryption configuration: its path (as the API server
/// sees it), the file's facts, and its entries. `None` when
/// `--encryption-provider-config` is not set.
pub struct EncryptionConfig<'a> {
    pub path: String,
    pub shown: String,
    pub file: &'a FileFacts,
    pub entries: Vec<EncryptionEntry>,
}

impl<'a> NodeCtx<'a> {
    pub fn encryption_config(&self) -> Resolution<Option<EncryptionConfig<'a>>> {
        let (_, args) = self.running(ComponentKind::ApiServer)?;
        let Some(path) = args.value("--encryption-provider-config") else {
            return Ok(None);
        };
        let path = path.to_string();
        let doc = self.config_doc(&path, "encryption provider config")?;
        let file = self.file(&path)?;
        let shown = self.shown_path(&path);
        let entries =
            parse_encryption(&doc).map_err(|e| Unresolved::Unreadable(format!("{shown}: {e}")))?;
        Ok(Some(EncryptionConfig {
            path,
            shown,
            file,
            entries,
        }))
    }
}

/// The time a client-go certificate store file name carries:
/// `kubelet-client-2025-03-01-10-04-05.pem` → seconds since the epoch
/// (the node's local time, read as UTC). `None` for `-current.pem` and any
/// other name.
pub fn store_stamp(name: &str, prefix: &str) -> Option<i64> {
    let stamp = name.strip_prefix(prefix)?.strip_prefix('-')?;
    let stamp = stamp.strip_suffix(".pem")?;
    let parts: Vec<&str> = stamp.split('-').collect();
    if parts.len() != 6 || parts.iter().any(|p| p.parse::<u32>().is_err()) {
        return None;
    }
    let text = format!(
        "{}-{}-{}T{}:{}:{}Z",
        parts[0], parts[1], parts[2], parts[3], parts[4], parts[5]
    );
    let t = humantime::parse_rfc3339(&text).ok()?;
    t.duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<EncryptionEntry> {
        parse_encryption(&crate::yaml::parse(text).unwrap()).unwrap()
    }

    #[test]
    fn every_provider_type_gives_its_kind_and_key_names() {
        let e = parse(
            "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n\
             - resources: [secrets, configmaps]\n  providers:\n\
             \x20 - aescbc:\n      keys:\n      - name: key2\n        secret: <redacted>\n      - name: key1\n        secret: <redacted>\n\
             \x20 - aesgcm:\n      keys:\n      - {name: g1, secret: <redacted>}\n\
             \x20 - secretbox:\n      keys:\n      - name: sb1\n        secret: <redacted>\n\
             \x20 - kms:\n      name: legacy\n      endpoint: unix:///tmp/kms.sock\n      cachesize: 100\n\
             \x20 - kms:\n      apiVersion: v2\n      name: vault\n      endpoint: unix:///tmp/v2.sock\n\
             \x20 - identity: {}\n\
             \x20 - foo: {}\n",
        );
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].resources, ["secrets", "configmaps"]);
        let kinds: Vec<&str> = e[0].providers.iter().map(|p| p.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "aescbc",
                "aesgcm",
                "secretbox",
                "kms v1",
                "kms v2",
                "identity",
                "foo"
            ]
        );
        let keys: Vec<Vec<String>> = e[0].providers.iter().map(|p| p.keys.clone()).collect();
        assert_eq!(keys[0], ["key2", "key1"]);
        assert_eq!(keys[1], ["g1"]);
        assert_eq!(keys[2], ["sb1"]);
        assert_eq!(keys[3], ["legacy"]);
        assert_eq!(keys[4], ["vault"]);
        assert!(keys[5].is_empty());
        let (p, k) = e[0].active().unwrap();
        assert_eq!((p.kind.clone(), k), (ProviderKind::AesCbc, Some("key2")));
        assert_eq!(
            e[0].old_keys(),
            ["key1 (aescbc)", "g1 (aesgcm)", "sb1 (secretbox)"]
        );
        assert_eq!(e[0].providers[0].describe(), "aescbc [key2, key1]");
        assert_eq!(e[0].providers[4].describe(), "kms v2 (vault)");
    }

    #[test]
    fn json_as_k3s_writes_it_and_identity_first() {
        let e = parse(
            r#"{"kind":"EncryptionConfiguration","apiVersion":"apiserver.config.k8s.io/v1","resources":[{"resources":["secrets"],"providers":[{"aescbc":{"keys":[{"name":"aescbckey","secret":"<redacted>"}]}},{"identity":{}}]}]}"#,
        );
        assert_eq!(e[0].active().unwrap().1, Some("aescbckey"));
        assert!(e[0].old_keys().is_empty());
        let id = parse(
            "resources:\n- resources: [secrets]\n  providers:\n  - identity: {}\n  - aesgcm:\n      keys:\n      - name: k\n        secret: x\n",
        );
        let (p, k) = id[0].active().unwrap();
        assert_eq!((p.kind.clone(), k), (ProviderKind::Identity, None));
        assert_eq!(id[0].old_keys(), ["k (aesgcm)"]);
    }

    #[test]
    fn broken_configs_say_what_is_wrong() {
        let bad = |t: &str| parse_encryption(&crate::yaml::parse(t).unwrap()).unwrap_err();
        assert_eq!(bad("kind: X\n"), "no resources list");
        assert!(bad("resources:\n- resources: [secrets]\n").contains("no providers"));
        assert!(bad("resources:\n- providers: [x]\n").contains("not a mapping"));
    }

    #[test]
    fn store_names_carry_their_time() {
        assert_eq!(
            store_stamp("kubelet-client-2024-12-05-08-00-00.pem", "kubelet-client"),
            Some(1_733_385_600)
        );
        assert_eq!(
            store_stamp("kubelet-client-current.pem", "kubelet-client"),
            None
        );
        assert_eq!(
            store_stamp("kubelet-server-2024-12-05-08-00-00.pem", "kubelet-client"),
            None
        );
        assert_eq!(
            store_stamp("kubelet-client-2024-12-05.pem", "kubelet-client"),
            None
        );
    }
}
