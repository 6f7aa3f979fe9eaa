//! The test PostgreSQL server (`SLUICE_TEST_POSTGRES`, started by scripts/test-servers.sh): a
//! fresh database per test, for servers that share it as their store.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::Connection as _;

/// The test server's URL.
pub fn server_url() -> String {
    std::env::var("SLUICE_TEST_POSTGRES")
        .expect("SLUICE_TEST_POSTGRES is not set: run the tests through scripts/test.sh, which starts PostgreSQL")
}

/// A new, empty database on the test server; its URL.
pub async fn fresh_database(label: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let name = format!("sluice_{}_{}_{}_{}", label, std::process::id(), nanos, N.fetch_add(1, Ordering::Relaxed));
    let url = server_url();
    let mut admin = sqlx::PgConnection::connect(&url).await.expect("connect to the test PostgreSQL");
    sqlx::raw_sql(&format!("CREATE DATABASE {}", name)).execute(&mut admin).await.expect("CREATE DATABASE");
    admin.close().await.expect("close");
    // The server's URL names its own database last, after the last `/` (no query string).
    let (server, _) = url.rsplit_once('/').expect("a database in SLUICE_TEST_POSTGRES");
    format!("{}/{}", server, name)
}

/// Runs `sql` on the database of `url`; its rows' first column, as text.
pub async fn query_texts(url: &str, sql: &str) -> Vec<String> {
    use sqlx::Row as _;
    let mut c = sqlx::PgConnection::connect(url).await.expect("connect");
    let rows = sqlx::query(sql).fetch_all(&mut c).await.expect("query");
    rows.iter().map(|r| r.try_get::<String, _>(0).expect("text")).collect()
}
