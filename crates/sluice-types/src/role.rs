//! Project roles, named as the Atlas Admin API names them (`GROUP_OWNER`, ...).

use serde::{Deserialize, Serialize};

/// A role an API key or service account holds in one project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    /// Project Owner: everything in the project.
    #[serde(rename = "GROUP_OWNER")]
    ProjectOwner,
    /// Project Stream Processing Owner: workspaces, connections and processors.
    #[serde(rename = "GROUP_STREAM_PROCESSING_OWNER")]
    ProjectStreamProcessingOwner,
    /// Project Data Access Admin.
    #[serde(rename = "GROUP_DATA_ACCESS_ADMIN")]
    ProjectDataAccessAdmin,
    /// Project Data Access Read/Write.
    #[serde(rename = "GROUP_DATA_ACCESS_READ_WRITE")]
    ProjectDataAccessReadWrite,
    /// Project Data Access Read Only.
    #[serde(rename = "GROUP_DATA_ACCESS_READ_ONLY")]
    ProjectDataAccessReadOnly,
    /// Project Read Only.
    #[serde(rename = "GROUP_READ_ONLY")]
    ProjectReadOnly,
}

impl Role {
    /// Every role, most powerful first.
    pub const ALL: [Role; 6] = [
        Role::ProjectOwner,
        Role::ProjectStreamProcessingOwner,
        Role::ProjectDataAccessAdmin,
        Role::ProjectDataAccessReadWrite,
        Role::ProjectDataAccessReadOnly,
        Role::ProjectReadOnly,
    ];

    /// The Atlas name (`GROUP_OWNER`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::ProjectOwner => "GROUP_OWNER",
            Role::ProjectStreamProcessingOwner => "GROUP_STREAM_PROCESSING_OWNER",
            Role::ProjectDataAccessAdmin => "GROUP_DATA_ACCESS_ADMIN",
            Role::ProjectDataAccessReadWrite => "GROUP_DATA_ACCESS_READ_WRITE",
            Role::ProjectDataAccessReadOnly => "GROUP_DATA_ACCESS_READ_ONLY",
            Role::ProjectReadOnly => "GROUP_READ_ONLY",
        }
    }

    /// Parses an Atlas role name.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str().eq_ignore_ascii_case(name))
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
            assert_eq!(
                serde_json::to_value(r).ok().and_then(|v| v.as_str().map(str::to_string)).as_deref(),
                Some(r.as_str())
            );
        }
        assert_eq!(Role::parse("group_owner"), Some(Role::ProjectOwner));
        assert_eq!(Role::parse("ORG_OWNER"), None);
    }
}
