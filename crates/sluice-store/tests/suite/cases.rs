//! The cases of the store suite. Each takes a fresh, empty store.

use serde_json::json;
use sluice_store::*;
use sluice_types::{ProcessorState, Tier};

use super::fixtures::*;

/// Records read back as written; duplicates are conflicts; a workspace takes its children along.
pub async fn records_round_trip_and_conflicts_are_refused(s: &dyn MetadataStore) {
    s.insert_project(&project()).await.unwrap();
    let key = api_key("pub", &project().id);
    s.insert_api_key(&key).await.unwrap();
    assert_eq!(s.api_key("pub").await.unwrap(), key);
    assert_eq!(s.api_key("nope").await, Err(StoreError::NotFound));
    assert_eq!(s.insert_api_key(&key).await, Err(StoreError::Conflict));

    // SCRAM credentials per mechanism; a key without them (made before they were kept) has none.
    let sha256 = scram("pub", "SCRAM-SHA-256", 1);
    s.insert_scram_credential(&sha256).await.unwrap();
    assert_eq!(s.scram_credential("pub", "SCRAM-SHA-256").await.unwrap(), sha256);
    assert_eq!(s.scram_credential("pub", "SCRAM-SHA-1").await, Err(StoreError::NotFound));

    let w = workspace("w1", "111111111111111111111111");
    s.insert_workspace(&w, &[sample(&w.id)]).await.unwrap();
    assert_eq!(s.insert_workspace(&workspace("w1", "222222222222222222222222"), &[]).await, Err(StoreError::Conflict));
    assert_eq!(s.workspace(&w.group_id, "w1").await.unwrap(), w);
    assert_eq!(s.workspace_by_id(&w.id).await.unwrap(), w);
    assert_eq!(s.connections(&w.id).await.unwrap(), vec![sample(&w.id)]);
    let mut renamed = w.clone();
    renamed.tier = Tier::SP30;
    renamed.region = "DUBLIN_IRL".into();
    s.update_workspace(&renamed).await.unwrap();
    assert_eq!(s.workspaces(&w.group_id).await.unwrap(), vec![renamed]);

    let mut p = processor(&w.id, "p1", "333333333333333333333333");
    s.insert_processor(&p).await.unwrap();
    assert_eq!(
        s.insert_processor(&processor(&w.id, "p1", "444444444444444444444444")).await,
        Err(StoreError::Conflict)
    );
    p.state = ProcessorState::Started;
    p.tier = Some(Tier::SP30);
    p.error_msg = Some("why".into());
    p.pipeline = json!([{"$source": {"connectionName": "x"}}, {"$match": {"a": {"$gt": 1.5}}}]);
    p.updated_at = 9;
    s.update_processor(&p).await.unwrap();
    assert_eq!(s.processor(&w.id, "p1").await.unwrap(), p);
    assert_eq!(s.processors(&w.id).await.unwrap(), vec![p.clone()]);
    assert_eq!(s.processors_in_state(ProcessorState::Started).await.unwrap(), vec![p.clone()]);
    assert!(s.processors_in_state(ProcessorState::Created).await.unwrap().is_empty());

    // Deleting the workspace takes its connections and processors with it.
    s.delete_workspace(&w.id).await.unwrap();
    assert_eq!(s.processor_by_id(&p.id).await, Err(StoreError::NotFound));
    assert!(s.connections(&w.id).await.unwrap().is_empty());
    assert_eq!(s.delete_workspace(&w.id).await, Err(StoreError::NotFound));
}

/// Reads, updates and deletes of missing records are NotFound; an orphan is refused.
pub async fn missing_records_are_not_found(s: &dyn MetadataStore) {
    assert_eq!(s.project("aaaaaaaaaaaaaaaaaaaaaaaa").await, Err(StoreError::NotFound));
    assert_eq!(s.service_account("nobody").await, Err(StoreError::NotFound));
    let w = workspace("w", "111111111111111111111111");
    assert_eq!(s.update_workspace(&w).await, Err(StoreError::NotFound));
    assert_eq!(s.workspace_by_id(&w.id).await, Err(StoreError::NotFound));
    let c = sample(&w.id);
    assert_eq!(s.update_connection(&c).await, Err(StoreError::NotFound));
    assert_eq!(s.delete_connection(&c.id).await, Err(StoreError::NotFound));
    assert_eq!(s.connection(&w.id, &c.name).await, Err(StoreError::NotFound));
    let p = processor(&w.id, "p", "222222222222222222222222");
    assert_eq!(s.update_processor(&p).await, Err(StoreError::NotFound));
    assert_eq!(s.delete_processor(&p.id).await, Err(StoreError::NotFound));
    assert_eq!(s.processor(&w.id, "p").await, Err(StoreError::NotFound));
    assert_eq!(s.delete_network("333333333333333333333333").await, Err(StoreError::NotFound));
    // A record whose parent does not exist is refused, and not as a duplicate.
    let orphan = s.insert_api_key(&api_key("k", "ffffffffffffffffffffffff")).await;
    assert!(matches!(orphan, Err(StoreError::Backend(_))), "{:?}", orphan);
    assert!(s.projects().await.unwrap().is_empty());
}

/// A workspace is stored with all its initial connections or not at all.
pub async fn a_workspace_is_inserted_with_all_its_connections_or_none(s: &dyn MetadataStore) {
    s.insert_project(&project()).await.unwrap();
    let w = workspace("w", "111111111111111111111111");
    let twins = [kafka(&w.id, "c1c1c1c1c1c1c1c1c1c1c1c1", "k"), kafka(&w.id, "c2c2c2c2c2c2c2c2c2c2c2c2", "k")];
    assert_eq!(s.insert_workspace(&w, &twins).await, Err(StoreError::Conflict));
    assert_eq!(s.workspace_by_id(&w.id).await, Err(StoreError::NotFound), "no workspace without its connections");
    assert!(s.connections(&w.id).await.unwrap().is_empty());
    s.insert_workspace(&w, &twins[..1]).await.unwrap();
    assert_eq!(s.connections(&w.id).await.unwrap(), vec![twins[0].clone()]);
}

/// Connections list by name (bytes order), update and delete.
pub async fn connections_are_listed_by_name_updated_and_deleted(s: &dyn MetadataStore) {
    s.insert_project(&project()).await.unwrap();
    let w = workspace("w", "111111111111111111111111");
    s.insert_workspace(&w, &[]).await.unwrap();
    for (id, name) in
        [("c1c1c1c1c1c1c1c1c1c1c1c1", "b"), ("c2c2c2c2c2c2c2c2c2c2c2c2", "a"), ("c3c3c3c3c3c3c3c3c3c3c3c3", "B")]
    {
        s.insert_connection(&kafka(&w.id, id, name)).await.unwrap();
    }
    assert_eq!(s.insert_connection(&kafka(&w.id, "c4c4c4c4c4c4c4c4c4c4c4c4", "a")).await, Err(StoreError::Conflict));
    let names: Vec<String> = s.connections(&w.id).await.unwrap().into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["B", "a", "b"], "ordered by bytes, whatever the locale");
    let mut c = s.connection(&w.id, "a").await.unwrap();
    c.name = "renamed".into();
    c.config["authentication"]["password"] = json!("rotated");
    s.update_connection(&c).await.unwrap();
    assert_eq!(s.connection(&w.id, "renamed").await.unwrap(), c);
    assert_eq!(s.connection(&w.id, "a").await, Err(StoreError::NotFound));
    s.delete_connection(&c.id).await.unwrap();
    assert_eq!(s.connections(&w.id).await.unwrap().len(), 2);
}

/// Network resources keep their kind, list by creation, update and delete.
pub async fn network_resources_keep_their_kind_and_order(s: &dyn MetadataStore) {
    s.insert_project(&project()).await.unwrap();
    let g = project().id;
    let net = |id: &str, kind: NetworkKind, at: i64| NetworkResource {
        id: id.into(),
        group_id: g.clone(),
        kind,
        body: json!({"provider": "AWS", "n": at}),
        state: "PENDING".into(),
        created_at: at,
    };
    let (a, b, v) = (
        net("a00000000000000000000000", NetworkKind::PrivateLink, 20),
        net("b00000000000000000000000", NetworkKind::PrivateLink, 10),
        net("c00000000000000000000000", NetworkKind::VpcPeering, 5),
    );
    for r in [&a, &b, &v] {
        s.insert_network(r).await.unwrap();
    }
    assert_eq!(s.insert_network(&a).await, Err(StoreError::Conflict));
    assert_eq!(s.networks(&g, NetworkKind::PrivateLink).await.unwrap(), vec![b.clone(), a.clone()]);
    assert_eq!(s.networks(&g, NetworkKind::VpcPeering).await.unwrap(), vec![v.clone()]);
    assert_eq!(s.network(&g, NetworkKind::VpcPeering, &a.id).await, Err(StoreError::NotFound));
    let mut done = a.clone();
    done.state = "DONE".into();
    s.update_network(&done).await.unwrap();
    assert_eq!(s.network(&g, NetworkKind::PrivateLink, &a.id).await.unwrap(), done);
    s.delete_network(&a.id).await.unwrap();
    assert_eq!(s.networks(&g, NetworkKind::PrivateLink).await.unwrap(), vec![b]);
}

/// Log lines come back in the order appended, within a time range.
pub async fn logs_are_kept_in_order_within_a_range(s: &dyn MetadataStore) {
    let ws = "555555555555555555555555";
    s.append_log(&log(ws, LogKind::Audit, 10, "x")).await.unwrap();
    s.append_logs(&[]).await.unwrap();
    let many: Vec<LogEvent> = (0..5).map(|i| log(ws, LogKind::Operational, 20 + i, &format!("line {}", i))).collect();
    s.append_logs(&many).await.unwrap();
    s.append_logs(&[log(ws, LogKind::Operational, 21, "late")]).await.unwrap();
    assert_eq!(s.logs(ws, LogKind::Audit, 0, 100).await.unwrap(), vec![log(ws, LogKind::Audit, 10, "x")]);
    let lines: Vec<String> =
        s.logs(ws, LogKind::Operational, 21, 23).await.unwrap().into_iter().map(|e| e.line).collect();
    assert_eq!(lines, ["line 1", "line 2", "line 3", "late"], "in the order appended, within the range");
    assert!(s.logs("666666666666666666666666", LogKind::Audit, 0, 100).await.unwrap().is_empty());
}

/// Project names and service account ids are unique.
pub async fn projects_and_service_accounts_refuse_duplicates(s: &dyn MetadataStore) {
    s.insert_project(&project()).await.unwrap();
    let mut twin = project();
    twin.id = "cccccccccccccccccccccccc".into();
    assert_eq!(s.insert_project(&twin).await, Err(StoreError::Conflict), "names are unique");
    let mut second = twin.clone();
    second.name = "q".into();
    second.created_at = 2;
    s.insert_project(&second).await.unwrap();
    assert_eq!(s.projects().await.unwrap(), vec![project(), second.clone()]);
    assert_eq!(s.project(&second.id).await.unwrap(), second);

    let sa = ServiceAccount {
        client_id: "mdb_sa_id_1".into(),
        project_id: project().id,
        roles: vec![sluice_types::Role::ProjectStreamProcessingOwner],
        secret_salt: "salt".into(),
        secret_hash: "hash".into(),
        description: "".into(),
        created_at: 3,
    };
    s.insert_service_account(&sa).await.unwrap();
    assert_eq!(s.service_account(&sa.client_id).await.unwrap(), sa);
    assert_eq!(s.insert_service_account(&sa).await, Err(StoreError::Conflict));
}

/// A key's SCRAM credential for a mechanism is replaced, not duplicated.
pub async fn scram_credentials_are_replaced(s: &dyn MetadataStore) {
    s.insert_project(&project()).await.unwrap();
    s.insert_api_key(&api_key("pub", &project().id)).await.unwrap();
    s.insert_scram_credential(&scram("pub", "SCRAM-SHA-1", 1)).await.unwrap();
    s.insert_scram_credential(&scram("pub", "SCRAM-SHA-1", 9)).await.unwrap();
    assert_eq!(s.scram_credential("pub", "SCRAM-SHA-1").await.unwrap(), scram("pub", "SCRAM-SHA-1", 9));
}

/// The first project is added only on an empty store.
pub async fn the_first_project_is_added_once(s: &dyn MetadataStore) {
    let first = first_project(1);
    assert!(s.insert_first_project(&first).await.unwrap());
    assert_eq!(s.projects().await.unwrap(), vec![first.project.clone()]);
    assert_eq!(s.api_key(&first.api_key.public_key).await.unwrap(), first.api_key);
    for c in &first.scram {
        assert_eq!(&s.scram_credential(&c.public_key, &c.mechanism).await.unwrap(), c);
    }
    let again = first_project(2);
    assert!(!s.insert_first_project(&again).await.unwrap(), "a project exists: nothing is added");
    assert_eq!(s.projects().await.unwrap().len(), 1);
    assert_eq!(s.api_key(&again.api_key.public_key).await, Err(StoreError::NotFound));
}
