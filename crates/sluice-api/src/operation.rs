//! Every operation of the contract in one table: its operationId, the media-type versions the
//! contract lists for it, and the roles allowed to call it (the union of what the contract's
//! descriptions and the seed documents name).

use sluice_types::Role;

/// The response format of an operation's media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/vnd.atlas.DATE+json`
    Json,
    /// `application/vnd.atlas.DATE+gzip`
    Gzip,
}

/// One operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// The contract's operationId.
    pub id: &'static str,
    /// The versions (dates) the contract lists, oldest first.
    pub versions: &'static [&'static str],
    /// The response format.
    pub format: Format,
    /// Who may call it.
    pub roles: &'static [Role],
}

use Role::*;

/// Anyone with a role in the project may read.
const READ: &[Role] = &[
    ProjectOwner,
    ProjectStreamProcessingOwner,
    ProjectDataAccessAdmin,
    ProjectDataAccessReadWrite,
    ProjectDataAccessReadOnly,
    ProjectReadOnly,
];
/// Seed 003: creating (and so changing) a workspace or connection takes Project Data Access Admin,
/// Project Owner or Project Stream Processing Owner.
const MANAGE: &[Role] = &[ProjectOwner, ProjectStreamProcessingOwner, ProjectDataAccessAdmin];
/// Seeds 000-002: processors are run by Project Owner or Project Stream Processing Owner.
const PROCESS: &[Role] = &[ProjectOwner, ProjectStreamProcessingOwner];
/// Logs hold data access information: data access roles and owners.
const LOGS: &[Role] = &[
    ProjectOwner,
    ProjectStreamProcessingOwner,
    ProjectDataAccessAdmin,
    ProjectDataAccessReadWrite,
    ProjectDataAccessReadOnly,
];

const V2023: &[&str] = &["2023-02-01"];
const V2024_05: &[&str] = &["2024-05-30"];
const V2024_08: &[&str] = &["2024-08-05"];
const V2024_11: &[&str] = &["2024-11-13"];
const V2025: &[&str] = &["2025-03-12"];

const fn op(id: &'static str, versions: &'static [&'static str], roles: &'static [Role]) -> Operation {
    Operation { id, versions, format: Format::Json, roles }
}

const fn gz(id: &'static str, versions: &'static [&'static str], roles: &'static [Role]) -> Operation {
    Operation { id, versions, format: Format::Gzip, roles }
}

/// The table.
pub mod ops {
    use super::*;
    /// Return all stream workspaces in one project: GET `/streams`.
    pub const LIST_WORKSPACES: Operation = op("listGroupStreamWorkspaces", V2023, READ);
    /// Create one stream workspace: POST `/streams`.
    pub const CREATE_WORKSPACE: Operation = op("createGroupStreamWorkspace", V2023, MANAGE);
    /// Create one stream workspace with sample connections: POST `/streams:withSampleConnections`.
    pub const CREATE_WITH_SAMPLES: Operation = op("withGroupStreamSampleConnections", V2024_08, MANAGE);
    /// Return one stream workspace: GET `/streams/{tenantName}`.
    pub const GET_WORKSPACE: Operation = op("getGroupStreamWorkspace", V2023, READ);
    /// Update one stream workspace: PATCH `/streams/{tenantName}`.
    pub const UPDATE_WORKSPACE: Operation = op("updateGroupStreamWorkspace", V2023, MANAGE);
    /// Delete one stream workspace: DELETE `/streams/{tenantName}`.
    pub const DELETE_WORKSPACE: Operation = op("deleteGroupStreamWorkspace", V2023, MANAGE);
    /// Download audit logs for one Atlas stream processing workspace: GET `/streams/{tenantName}/auditLogs`.
    pub const AUDIT_LOGS: Operation = gz("downloadGroupStreamAuditLogs", V2023, LOGS);
    /// Download operational logs for one Atlas stream processing workspace:
    /// GET `/streams/{tenantName}:downloadOperationalLogs`.
    pub const OPERATIONAL_LOGS: Operation = gz("downloadGroupStreamOperationalLogs", V2025, LOGS);
    /// Return account ID and VPC ID for one project and region: GET `/streams/accountDetails`.
    pub const ACCOUNT_DETAILS: Operation = op("getGroupStreamAccountDetails", V2024_11, READ);
    /// Return all Private Link connections: GET `/streams/privateLinkConnections`.
    pub const LIST_PRIVATE_LINKS: Operation = op("listGroupStreamPrivateLinkConnections", V2023, READ);
    /// Create one Private Link connection: POST `/streams/privateLinkConnections`.
    pub const CREATE_PRIVATE_LINK: Operation = op("createGroupStreamPrivateLinkConnection", V2023, MANAGE);
    /// Return one Private Link connection: GET `/streams/privateLinkConnections/{connectionId}`.
    pub const GET_PRIVATE_LINK: Operation = op("getGroupStreamPrivateLinkConnection", V2023, READ);
    /// Update one Private Link connection: PATCH `/streams/privateLinkConnections/{connectionId}`.
    pub const UPDATE_PRIVATE_LINK: Operation = op("updateGroupStreamPrivateLinkConnection", V2025, MANAGE);
    /// Delete one Private Link connection: DELETE `/streams/privateLinkConnections/{connectionId}`.
    pub const DELETE_PRIVATE_LINK: Operation = op("deleteGroupStreamPrivateLinkConnection", V2023, MANAGE);
    /// Return all VPC peering connections: GET `/streams/vpcPeeringConnections`.
    pub const LIST_VPC_PEERINGS: Operation = op("listGroupStreamVpcPeeringConnections", V2023, READ);
    /// Return all active incoming VPC peering connections: GET `/streams/activeVpcPeeringConnections`.
    pub const LIST_ACTIVE_VPC_PEERINGS: Operation = op("listGroupStreamActiveVpcPeeringConnections", V2024_11, READ);
    /// Accept one incoming VPC peering connection: POST `/streams/vpcPeeringConnections/{id}:accept`.
    pub const ACCEPT_VPC_PEERING: Operation = op("acceptGroupStreamVpcPeeringConnection", V2023, MANAGE);
    /// Reject one incoming VPC peering connection: POST `/streams/vpcPeeringConnections/{id}:reject`.
    pub const REJECT_VPC_PEERING: Operation = op("rejectGroupStreamVpcPeeringConnection", V2023, MANAGE);
    /// Delete one VPC peering connection: DELETE `/streams/vpcPeeringConnections/{id}`.
    pub const DELETE_VPC_PEERING: Operation = op("deleteGroupStreamVpcPeeringConnection", V2023, MANAGE);
    /// Return all stream failover connections:
    /// GET `/streams/{tenantName}/connections/{connectionName}/failoverConnections`.
    pub const LIST_FAILOVERS: Operation = op("listGroupStreamConnectionFailoverConnections", V2025, READ);
    /// Create one failover stream connection:
    /// POST `/streams/{tenantName}/connections/{connectionName}/failoverConnections`.
    pub const CREATE_FAILOVER: Operation = op("createGroupStreamConnectionFailoverConnection", V2025, MANAGE);
    /// Return one stream failover connection:
    /// GET `/streams/{tenantName}/connections/{connectionName}/failoverConnections/{failoverConnectionId}`.
    pub const GET_FAILOVER: Operation = op("getGroupStreamConnectionFailoverConnection", V2025, READ);
    /// Update one stream failover connection:
    /// PATCH `/streams/{tenantName}/connections/{connectionName}/failoverConnections/{failoverConnectionId}`.
    pub const UPDATE_FAILOVER: Operation = op("updateGroupStreamConnectionFailoverConnection", V2025, MANAGE);
    /// Delete one stream failover connection:
    /// DELETE `/streams/{tenantName}/connections/{connectionName}/failoverConnections/{failoverConnectionId}`.
    pub const DELETE_FAILOVER: Operation = op("deleteGroupStreamConnectionFailoverConnection", V2025, MANAGE);

    /// Return all connections of the stream workspaces: GET `/streams/{tenantName}/connections`.
    pub const LIST_CONNECTIONS: Operation = op("listGroupStreamConnections", V2023, READ);
    /// Create one stream connection: POST `/streams/{tenantName}/connections`.
    pub const CREATE_CONNECTION: Operation = op("createGroupStreamConnection", V2023, MANAGE);
    /// Return one stream connection: GET `/streams/{tenantName}/connections/{connectionName}`.
    pub const GET_CONNECTION: Operation = op("getGroupStreamConnection", V2023, READ);
    /// Update one stream connection: PATCH `/streams/{tenantName}/connections/{connectionName}`.
    pub const UPDATE_CONNECTION: Operation = op("updateGroupStreamConnection", V2023, MANAGE);
    /// Delete one stream connection: DELETE `/streams/{tenantName}/connections/{connectionName}`.
    pub const DELETE_CONNECTION: Operation = op("deleteGroupStreamConnection", V2023, MANAGE);

    /// Create one stream processor: POST `/streams/{tenantName}/processor`.
    pub const CREATE_PROCESSOR: Operation = op("createGroupStreamProcessor", V2024_05, PROCESS);
    /// Return one stream processor: GET `/streams/{tenantName}/processor/{processorName}`.
    pub const GET_PROCESSOR: Operation = op("getGroupStreamProcessor", V2024_05, READ);
    /// Return all stream processors in one stream workspace: GET `/streams/{tenantName}/processors`.
    pub const LIST_PROCESSORS: Operation = op("getGroupStreamProcessors", V2024_05, READ);
    /// Update one stream processor: PATCH `/streams/{tenantName}/processor/{processorName}`.
    pub const UPDATE_PROCESSOR: Operation = op("updateGroupStreamProcessor", V2024_05, PROCESS);
    /// Delete one stream processor: DELETE `/streams/{tenantName}/processor/{processorName}`.
    pub const DELETE_PROCESSOR: Operation = op("deleteGroupStreamProcessor", V2024_05, PROCESS);
    /// Start one stream processor: POST `/streams/{tenantName}/processor/{processorName}:start`.
    pub const START_PROCESSOR: Operation = op("startGroupStreamProcessor", V2024_05, PROCESS);
    /// Start one stream processor with options: POST `/streams/{tenantName}/processor/{processorName}:startWith`.
    pub const START_PROCESSOR_WITH: Operation = op("startGroupStreamProcessorWith", V2025, PROCESS);
    /// Stop one stream processor: POST `/streams/{tenantName}/processor/{processorName}:stop`.
    pub const STOP_PROCESSOR: Operation = op("stopGroupStreamProcessor", V2024_05, PROCESS);
    /// Sluice extension: the last output documents of a running processor.
    pub const SAMPLE_PROCESSOR: Operation = op("sampleStreamProcessor", V2024_05, READ);
    /// EnOS: `POST /streaming/v2.0/streaming/pipeline/{pipelineId}?action=...`.
    pub const ENOS_PIPELINE_ACTION: Operation = op("enosPipelineAction", V2024_05, PROCESS);
    /// EnOS: `GET /streaming/v2.0/streaming/pipeline/{pipelineId}`.
    pub const ENOS_GET_PIPELINE: Operation = op("enosGetPipeline", V2024_05, READ);
    /// EnOS: `GET /streaming/v2.0/streaming/pipelines`.
    pub const ENOS_LIST_PIPELINES: Operation = op("enosListPipelines", V2024_05, READ);
    /// Sluice extension: the last dead-letter records of a running processor (kept in memory).
    pub const DLQ_PROCESSOR: Operation = op("dlqStreamProcessor", V2024_05, READ);
    /// Sluice extension: pause a running processor, keeping its place and state.
    pub const PAUSE_PROCESSOR: Operation = op("pauseStreamProcessor", V2024_05, PROCESS);
    /// Sluice extension: resume a paused processor where it paused.
    pub const RESUME_PROCESSOR: Operation = op("resumeStreamProcessor", V2024_05, PROCESS);
    /// Sluice extension: move a stopped processor's source (`:resetOffsets`).
    pub const RESET_PROCESSOR_OFFSETS: Operation = op("resetStreamProcessorOffsets", V2024_05, PROCESS);
    /// Sluice extension: the saved state of a processor's stages.
    pub const GET_PROCESSOR_STATE: Operation = op("getStreamProcessorState", V2024_05, READ);
    /// Sluice extension: reach the system behind a connection as a processor would
    /// (`.../connections/{connectionName}:check`).
    pub const CHECK_CONNECTION: Operation = op("checkStreamConnection", V2024_05, PROCESS);
    /// Sluice extension: the project's processors in the Prometheus text format.
    pub const METRICS: Operation = op("sluiceMetrics", V2024_05, READ);
    /// Sluice extension: the nodes sharing the store and the processors each runs.
    pub const CLUSTER: Operation = op("sluiceCluster", V2024_05, READ);
    /// Sluice extension: drop one stage's saved state of a stopped processor.
    pub const DELETE_PROCESSOR_STATE: Operation = op("deleteStreamProcessorState", V2024_05, PROCESS);

    /// Every contract operation this server routes, for the contract test.
    pub const ALL: &[Operation] = &[
        LIST_WORKSPACES,
        CREATE_WORKSPACE,
        CREATE_WITH_SAMPLES,
        GET_WORKSPACE,
        UPDATE_WORKSPACE,
        DELETE_WORKSPACE,
        LIST_CONNECTIONS,
        CREATE_CONNECTION,
        GET_CONNECTION,
        UPDATE_CONNECTION,
        DELETE_CONNECTION,
        CREATE_PROCESSOR,
        GET_PROCESSOR,
        LIST_PROCESSORS,
        UPDATE_PROCESSOR,
        DELETE_PROCESSOR,
        START_PROCESSOR,
        START_PROCESSOR_WITH,
        STOP_PROCESSOR,
        ACCOUNT_DETAILS,
        LIST_PRIVATE_LINKS,
        CREATE_PRIVATE_LINK,
        GET_PRIVATE_LINK,
        UPDATE_PRIVATE_LINK,
        DELETE_PRIVATE_LINK,
        LIST_VPC_PEERINGS,
        LIST_ACTIVE_VPC_PEERINGS,
        ACCEPT_VPC_PEERING,
        REJECT_VPC_PEERING,
        DELETE_VPC_PEERING,
        LIST_FAILOVERS,
        CREATE_FAILOVER,
        GET_FAILOVER,
        UPDATE_FAILOVER,
        DELETE_FAILOVER,
    ];
}

impl Operation {
    /// Whether any of `roles` may call it.
    pub fn allows(&self, roles: &[Role]) -> bool {
        roles.iter().any(|r| self.roles.contains(r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contract() -> serde_json::Value {
        // Read at run time: a target dir shared by clones at other paths would keep the
        // compile-time path of whichever clone built the test.
        let path = std::path::PathBuf::from(
            std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
        )
        .join("../../spec/atlas-streams-openapi.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn versions_and_formats_match_the_contract() {
        let spec = contract();
        for o in ops::ALL {
            let mut found = None;
            for (_, item) in spec["paths"].as_object().unwrap() {
                for (_, op) in item.as_object().unwrap() {
                    if op["operationId"] == o.id {
                        found = Some(op.clone());
                    }
                }
            }
            let op = found.unwrap_or_else(|| panic!("{} is not in the contract", o.id));
            let mut types: Vec<String> = op["responses"]
                .as_object()
                .unwrap()
                .iter()
                .filter(|(code, _)| code.starts_with('2'))
                .flat_map(|(_, r)| {
                    r["content"].as_object().map(|c| c.keys().cloned().collect::<Vec<_>>()).unwrap_or_default()
                })
                .collect();
            types.sort();
            types.dedup();
            let ext = match o.format {
                Format::Json => "json",
                Format::Gzip => "gzip",
            };
            let expected: Vec<String> =
                o.versions.iter().map(|v| format!("application/vnd.atlas.{}+{}", v, ext)).collect();
            assert_eq!(types, expected, "{}", o.id);
        }
    }

    #[test]
    fn read_only_roles_only_read() {
        for o in ops::ALL {
            let reads = o.id.starts_with("get") || o.id.starts_with("list");
            assert_eq!(o.allows(&[ProjectReadOnly]), reads, "{}", o.id);
            assert!(o.allows(&[ProjectOwner]), "{}", o.id);
        }
        assert!(!ops::START_PROCESSOR.allows(&[ProjectDataAccessAdmin]));
        assert!(ops::CREATE_WORKSPACE.allows(&[ProjectDataAccessAdmin]));
    }
}
