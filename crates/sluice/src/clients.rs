//! Client commands that manage credentials in a server's store: `projects`, `keys`,
//! `service-accounts`. They write to the same store the server reads: SQLite in its data dir
//! (SQLite allows both), or the PostgreSQL database of `--store`.

use clap::Subcommand;

use crate::admin;
use crate::metadata::StoreArgs;

/// `sluice projects ...`
#[derive(Subcommand)]
pub enum ProjectsCmd {
    /// Create a project; prints its groupId.
    Create {
        #[command(flatten)]
        dir: StoreArgs,
        /// Its name.
        #[arg(long)]
        name: String,
    },
    /// List projects.
    List {
        #[command(flatten)]
        dir: StoreArgs,
    },
}

/// `sluice keys ...` and `sluice service-accounts ...`
#[derive(Subcommand)]
pub enum CredentialCmd {
    /// Create credentials with roles in a project; prints them once.
    Create {
        #[command(flatten)]
        dir: StoreArgs,
        /// The project (groupId).
        #[arg(long)]
        project: String,
        /// A role (GROUP_OWNER, GROUP_STREAM_PROCESSING_OWNER, GROUP_DATA_ACCESS_ADMIN,
        /// GROUP_DATA_ACCESS_READ_WRITE, GROUP_DATA_ACCESS_READ_ONLY, GROUP_READ_ONLY); repeatable.
        #[arg(long = "role")]
        roles: Vec<String>,
        /// Free text.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// (keys only) Give a key made before the MongoDB wire protocol existed its SCRAM
    /// credentials, so it can log in with mongosh; the private key is checked first.
    EnableWire {
        #[command(flatten)]
        dir: StoreArgs,
        /// The key's public key.
        #[arg(long)]
        public_key: String,
        /// Its private key (from the environment, to keep it out of the process list).
        #[arg(long, env = "SLUICE_PRIVATE_KEY", hide_env_values = true)]
        private_key: String,
    },
}

fn block_on<T>(f: impl std::future::Future<Output = Result<T, String>>) -> Result<T, String> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?.block_on(f)
}

/// Runs `sluice projects ...`.
pub fn projects(cmd: ProjectsCmd) -> Result<(), String> {
    block_on(async {
        match cmd {
            ProjectsCmd::Create { dir, name } => {
                let opened = dir.open().await?;
                let store = opened.get();
                let p = admin::create_project(store, &name).await?;
                println!("groupId: {}", p.id);
            }
            ProjectsCmd::List { dir } => {
                let opened = dir.open().await?;
                let store = opened.get();
                for p in sluice_store::MetadataStore::projects(store).await.map_err(|e| e.to_string())? {
                    println!("{}  {}", p.id, p.name);
                }
            }
        }
        Ok(())
    })
}

/// Runs `sluice keys ...` (`service_account` false) or `sluice service-accounts ...`.
pub fn credentials(cmd: CredentialCmd, service_account: bool) -> Result<(), String> {
    let (dir, project, roles, description) = match cmd {
        CredentialCmd::Create { dir, project, roles, description } => (dir, project, roles, description),
        CredentialCmd::EnableWire { dir, public_key, private_key } => {
            if service_account {
                return Err("enable-wire is for API keys: service accounts do not use the wire protocol".into());
            }
            return block_on(async {
                let opened = dir.open().await?;
                let store = opened.get();
                admin::add_scram_credentials(store, &public_key, &private_key).await?;
                println!("API key {} can now log in over the MongoDB wire protocol", public_key);
                Ok(())
            });
        }
    };
    let roles = admin::parse_roles(&roles)?;
    block_on(async {
        let opened = dir.open().await?;
        let store = opened.get();
        if service_account {
            let (id, secret) = admin::create_service_account(store, &project, roles, &description).await?;
            println!("clientId: {}\nclientSecret: {}", id, secret);
        } else {
            let (public, private) = admin::create_api_key(store, &project, roles, &description).await?;
            println!("publicKey: {}\nprivateKey: {}", public, private);
        }
        println!("Keep the secret now: it is not stored and will not be shown again.");
        Ok(())
    })
}
