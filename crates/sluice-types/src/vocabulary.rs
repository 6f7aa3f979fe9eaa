//! Closed vocabularies of the management API, spelled exactly as the Atlas Admin API contract
//! (`spec/atlas-streams-openapi.json`) spells them: parse at the edge, then trust the type.

use serde::{Deserialize, Serialize};

/// The state of a stream processor. Atlas names CREATED, STARTED, STOPPED and FAILED; PAUSED is
/// Sluice's (a running processor whose source stopped reading, state kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProcessorState {
    /// Created, never started.
    Created,
    /// Running.
    Started,
    /// Running but not reading: state and position kept in memory (Sluice extension).
    Paused,
    /// Stopped after a checkpoint.
    Stopped,
    /// Stopped by an error; the error message is kept with the processor.
    Failed,
}

impl ProcessorState {
    /// The Atlas spelling (`STARTED`).
    pub fn as_str(self) -> &'static str {
        match self {
            ProcessorState::Created => "CREATED",
            ProcessorState::Started => "STARTED",
            ProcessorState::Paused => "PAUSED",
            ProcessorState::Stopped => "STOPPED",
            ProcessorState::Failed => "FAILED",
        }
    }

    /// Parses the Atlas spelling.
    pub fn parse(s: &str) -> Option<ProcessorState> {
        [
            ProcessorState::Created,
            ProcessorState::Started,
            ProcessorState::Paused,
            ProcessorState::Stopped,
            ProcessorState::Failed,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }
}

/// A stream processing tier (`streamConfig.tier`, `:startWith` `tier`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Tier {
    /// SP2
    SP2,
    /// SP5
    SP5,
    /// SP10
    SP10,
    /// SP30
    SP30,
    /// SP50
    SP50,
}

/// The type of a connection in a workspace's connection registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ConnectionType {
    /// Apache Kafka (or a Kafka-protocol broker).
    Kafka,
    /// A MongoDB cluster.
    Cluster,
    /// A built-in sample stream (`sample_stream_solar`).
    Sample,
    /// An HTTPS endpoint.
    Https,
    /// Azure Blob Storage.
    AzureBlobStorage,
    /// AWS Lambda.
    #[serde(rename = "AWSLambda")]
    AwsLambda,
    /// AWS Kinesis Data Streams.
    #[serde(rename = "AWSKinesisDataStreams")]
    AwsKinesisDataStreams,
    /// A schema registry.
    SchemaRegistry,
    /// Google Cloud Pub/Sub.
    #[serde(rename = "GCPPubSub")]
    GcpPubSub,
}

impl ConnectionType {
    /// The contract spelling (`Kafka`, `AWSLambda`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionType::Kafka => "Kafka",
            ConnectionType::Cluster => "Cluster",
            ConnectionType::Sample => "Sample",
            ConnectionType::Https => "Https",
            ConnectionType::AzureBlobStorage => "AzureBlobStorage",
            ConnectionType::AwsLambda => "AWSLambda",
            ConnectionType::AwsKinesisDataStreams => "AWSKinesisDataStreams",
            ConnectionType::SchemaRegistry => "SchemaRegistry",
            ConnectionType::GcpPubSub => "GCPPubSub",
        }
    }

    /// Parses the contract spelling.
    pub fn parse(s: &str) -> Option<ConnectionType> {
        ConnectionType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Every type, in the contract's order.
    pub const ALL: [ConnectionType; 9] = [
        ConnectionType::Kafka,
        ConnectionType::Cluster,
        ConnectionType::Sample,
        ConnectionType::Https,
        ConnectionType::AzureBlobStorage,
        ConnectionType::AwsLambda,
        ConnectionType::AwsKinesisDataStreams,
        ConnectionType::SchemaRegistry,
        ConnectionType::GcpPubSub,
    ];
}

impl Tier {
    /// Every tier, smallest first.
    pub const ALL: [Tier; 5] = [Tier::SP2, Tier::SP5, Tier::SP10, Tier::SP30, Tier::SP50];

    /// The contract spelling (`SP10`).
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::SP2 => "SP2",
            Tier::SP5 => "SP5",
            Tier::SP10 => "SP10",
            Tier::SP30 => "SP30",
            Tier::SP50 => "SP50",
        }
    }

    /// Parses the contract spelling.
    pub fn parse(s: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The RAM Atlas allocates a processor of this tier, in bytes (its tier guide: 0.5, 1, 2, 8
    /// and 32 GB).
    pub fn ram_bytes(self) -> u64 {
        const MIB: u64 = 1 << 20;
        match self {
            Tier::SP2 => 512 * MIB,
            Tier::SP5 => 1024 * MIB,
            Tier::SP10 => 2048 * MIB,
            Tier::SP30 => 8192 * MIB,
            Tier::SP50 => 32768 * MIB,
        }
    }

    /// How much state a processor of this tier may hold: 80% of its RAM, as Atlas limits it.
    pub fn state_limit_bytes(self) -> u64 {
        self.ram_bytes() / 5 * 4
    }

    /// The tier's maximum parallelism (1, 2, 8, 16, 64).
    pub fn max_parallelism(self) -> u32 {
        match self {
            Tier::SP2 => 1,
            Tier::SP5 => 2,
            Tier::SP10 => 8,
            Tier::SP30 => 16,
            Tier::SP50 => 64,
        }
    }

    /// How many Kafka partitions a `$source` of this tier may read (32 and 64 for SP2 and SP5;
    /// no limit above).
    pub fn kafka_partition_limit(self) -> Option<u32> {
        match self {
            Tier::SP2 => Some(32),
            Tier::SP5 => Some(64),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tier_limits_follow_atlas_sizes() {
        assert_eq!(Tier::SP10.ram_bytes(), 2 << 30);
        assert_eq!(Tier::SP30.state_limit_bytes(), (8u64 << 30) / 5 * 4, "80% of 8 GiB, as Atlas's 6.4 GB example");
        assert!(Tier::ALL.windows(2).all(|w| w[0].state_limit_bytes() < w[1].state_limit_bytes()));
        assert_eq!(Tier::ALL.map(Tier::max_parallelism), [1, 2, 8, 16, 64]);
        assert_eq!(Tier::ALL.map(Tier::kafka_partition_limit), [Some(32), Some(64), None, None, None]);
    }

    fn names<T: Serialize>(items: &[T]) -> Vec<String> {
        items
            .iter()
            .map(|t| serde_json::to_value(t).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default())
            .collect()
    }

    /// The enum values the contract lists at a JSON pointer inside `components/schemas`.
    fn contract_enum(schema: &str, property: &str) -> Vec<String> {
        // Read at run time: a target dir shared by clones at other paths would keep the
        // compile-time path of whichever clone built the test.
        let path = std::path::PathBuf::from(
            std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
        )
        .join("../../spec/atlas-streams-openapi.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {}", path.display(), e));
        let spec: serde_json::Value = serde_json::from_str(&text).expect("the contract is JSON");
        spec["components"]["schemas"][schema]["properties"][property]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{}.{} has an enum", schema, property))
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    }

    #[test]
    fn spellings_match_the_contract() {
        let mut tiers = names(&Tier::ALL);
        let mut expected = contract_enum("StreamConfig", "tier");
        tiers.sort();
        expected.sort();
        assert_eq!(tiers, expected);
        assert_eq!(names(&ConnectionType::ALL), contract_enum("StreamsConnection", "type"));
        for t in ConnectionType::ALL {
            assert_eq!(ConnectionType::parse(&names(&[t])[0]), Some(t));
        }
        for t in Tier::ALL {
            assert_eq!(Tier::parse(&names(&[t])[0]), Some(t));
        }
    }

    #[test]
    fn states_use_atlas_names() {
        assert_eq!(
            names(&[
                ProcessorState::Created,
                ProcessorState::Started,
                ProcessorState::Paused,
                ProcessorState::Stopped,
                ProcessorState::Failed
            ]),
            ["CREATED", "STARTED", "PAUSED", "STOPPED", "FAILED"]
        );
        assert!(serde_json::from_str::<ProcessorState>("\"RUNNING\"").is_err());
        assert_eq!(serde_json::from_str::<Tier>("\"SP10\"").ok(), Some(Tier::SP10));
    }
}
