//! The metadata store's contract, one async function per case over any [`MetadataStore`]; every
//! backend's test file runs all of them with `store_suite!(<an expression opening a fresh store>)`.

#![allow(dead_code)]

pub mod cases;
pub mod fixtures;

pub use cases::*;

/// One `#[tokio::test]` per case of the suite, each on a store made by `$open` (an expression,
/// awaited inside the test).
macro_rules! store_suite {
    ($open:expr) => {
        store_suite!(@cases $open;
            records_round_trip_and_conflicts_are_refused,
            missing_records_are_not_found,
            a_workspace_is_inserted_with_all_its_connections_or_none,
            connections_are_listed_by_name_updated_and_deleted,
            network_resources_keep_their_kind_and_order,
            logs_are_kept_in_order_within_a_range,
            projects_and_service_accounts_refuse_duplicates,
            scram_credentials_are_replaced,
            the_first_project_is_added_once
        );
    };
    (@cases $open:expr; $($case:ident),*) => {
        $(
            #[tokio::test]
            async fn $case() {
                let store = $open;
                suite::$case(&store).await;
            }
        )*
    };
}
