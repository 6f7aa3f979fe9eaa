//! Projects, API keys and service accounts, created straight in the server's store (the first
//! start's bootstrap and the `projects`/`keys`/`service-accounts` client commands).

use std::path::Path;

use sluice_api::auth::bearer::secret_hash;
use sluice_api::auth::digest::{ha1, Algorithm};
use sluice_control::{new_id, now_ms, random_hex};
use sluice_store::{
    ApiKey, FirstProject, MetadataStore, Project, ScramCredential, Sealer, ServiceAccount, SqliteStore,
};
use sluice_types::Role;

/// The metadata file inside a data dir.
pub fn db_path(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("sluice.db")
}

/// Opens the SQLite store of a data dir, creating the dir. The dir is its owner's alone (0700)
/// and so are the database's files (0600); connection secrets are sealed with the key of
/// `SLUICE_SECRET_KEY` (hex), or of `key_file` (made on first start).
pub async fn open_store(data_dir: &Path, key_file: &Path) -> Result<SqliteStore, String> {
    std::fs::create_dir_all(data_dir).map_err(|e| format!("cannot create {}: {}", data_dir.display(), e))?;
    let db = db_path(data_dir);
    owner_only(data_dir, &db)?;
    let key = std::env::var("SLUICE_SECRET_KEY").ok();
    let sealer = Sealer::from_hex_or_file(key.as_deref(), key_file).map_err(|e| e.to_string())?;
    // SQLite makes its -wal and -shm files with the database file's mode (0600 by now).
    let store = SqliteStore::open(&db).await.map_err(|e| e.to_string())?;
    store.sealed_with(sealer).await.map_err(|e| e.to_string())
}

/// Makes the data dir 0700 and the database file (created empty if missing) 0600, with its
/// journal files if they exist.
fn owner_only(data_dir: &Path, db: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let set = |p: &Path, mode: u32| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
                .map_err(|e| format!("cannot restrict {}: {}", p.display(), e))
        };
        set(data_dir, 0o700)?;
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(db)
            .map_err(|e| format!("cannot create {}: {}", db.display(), e))?;
        for suffix in ["", "-wal", "-shm"] {
            let p = std::path::PathBuf::from(format!("{}{}", db.display(), suffix));
            if p.exists() {
                set(&p, 0o600)?;
            }
        }
    }
    Ok(())
}

/// Creates a project in the organization of the existing ones (or a new organization).
pub async fn create_project(store: &dyn MetadataStore, name: &str) -> Result<Project, String> {
    let org_id = match store.projects().await.map_err(|e| e.to_string())?.first() {
        Some(p) => p.org_id.clone(),
        None => new_id(),
    };
    let p = Project { id: new_id(), name: name.to_string(), org_id, created_at: now_ms() };
    store.insert_project(&p).await.map_err(|e| format!("cannot create project {}: {}", name, e))?;
    Ok(p)
}

/// Creates an API key; returns `(public, private)`. Only the Digest HA1s and the SCRAM
/// credentials (salt, iterations, StoredKey, ServerKey) of the MongoDB wire protocol are stored.
pub async fn create_api_key(
    store: &dyn MetadataStore,
    project_id: &str,
    roles: Vec<Role>,
    description: &str,
) -> Result<(String, String), String> {
    store.project(project_id).await.map_err(|_| format!("no project {}", project_id))?;
    let (key, scram, private) = new_api_key(project_id, roles, description);
    store.insert_api_key(&key).await.map_err(|e| e.to_string())?;
    for c in &scram {
        store.insert_scram_credential(c).await.map_err(|e| e.to_string())?;
    }
    Ok((key.public_key, private))
}

/// A new API key's records (Digest HA1s, SCRAM credentials) and its private key.
fn new_api_key(project_id: &str, roles: Vec<Role>, description: &str) -> (ApiKey, Vec<ScramCredential>, String) {
    // Atlas-like shapes: 8 lowercase letters, and a UUID-shaped private key.
    let public: String = random_hex(8).bytes().map(|b| (b'a' + b % 26) as char).collect();
    let h = random_hex(16);
    let private = format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32]);
    let key = ApiKey {
        public_key: public.clone(),
        project_id: project_id.to_string(),
        roles,
        ha1_md5: ha1(Algorithm::Md5, &public, &private),
        ha1_sha256: ha1(Algorithm::Sha256, &public, &private),
        description: description.to_string(),
        created_at: now_ms(),
    };
    let scram =
        sluice_wire::scram::Mechanism::ALL.into_iter().map(|m| sluice_wire::scram::credential(m, &public, &private));
    (key, scram.collect(), private)
}

/// The first start's records: a project `name` in a new organization with a Project Owner key;
/// with the key's private part, which is not among them.
pub fn first_project(name: &str) -> (FirstProject, String) {
    let project = Project { id: new_id(), name: name.to_string(), org_id: new_id(), created_at: now_ms() };
    let (api_key, scram, private) = new_api_key(&project.id, vec![Role::ProjectOwner], "bootstrap key");
    (FirstProject { project, api_key, scram }, private)
}

/// Gives an API key the SCRAM credentials of the MongoDB wire protocol (a key made before the
/// store kept them has none). The private key must match the stored Digest hash.
pub async fn add_scram_credentials(store: &dyn MetadataStore, public: &str, private: &str) -> Result<(), String> {
    let key = store.api_key(public).await.map_err(|_| format!("no API key {}", public))?;
    if ha1(Algorithm::Sha256, public, private) != key.ha1_sha256 {
        return Err(format!("that is not the private key of API key {}", public));
    }
    for mech in sluice_wire::scram::Mechanism::ALL {
        let c = sluice_wire::scram::credential(mech, public, private);
        store.insert_scram_credential(&c).await.map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Creates a service account; returns `(client_id, client_secret)`. Only a salted hash is stored.
pub async fn create_service_account(
    store: &dyn MetadataStore,
    project_id: &str,
    roles: Vec<Role>,
    description: &str,
) -> Result<(String, String), String> {
    store.project(project_id).await.map_err(|_| format!("no project {}", project_id))?;
    let client_id = format!("mdb_sa_id_{}", new_id());
    let secret = format!("mdb_sa_sk_{}", random_hex(20));
    let salt = random_hex(16);
    let sa = ServiceAccount {
        client_id: client_id.clone(),
        project_id: project_id.to_string(),
        roles,
        secret_hash: secret_hash(&salt, &secret),
        secret_salt: salt,
        description: description.to_string(),
        created_at: now_ms(),
    };
    store.insert_service_account(&sa).await.map_err(|e| e.to_string())?;
    Ok((client_id, secret))
}

/// Parses `--role` values (Atlas names, e.g. GROUP_OWNER).
pub fn parse_roles(names: &[String]) -> Result<Vec<Role>, String> {
    if names.is_empty() {
        return Err(
            "give at least one --role (e.g. GROUP_OWNER, GROUP_STREAM_PROCESSING_OWNER, GROUP_READ_ONLY)".into()
        );
    }
    names
        .iter()
        .map(|n| {
            Role::parse(n)
                .ok_or_else(|| format!("unknown role {}: one of {}", n, Role::ALL.map(|r| r.as_str()).join(", ")))
        })
        .collect()
}
