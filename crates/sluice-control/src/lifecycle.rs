//! The processor lifecycle in one table: which action is allowed from which state, and where it
//! leads. Everything that changes a processor's state asks [`transition`] first.

use sluice_types::ProcessorState;

/// Something a user asks of a processor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `:start` / `:startWith` (Atlas).
    Start,
    /// `:stop` (Atlas).
    Stop,
    /// `:pause` (Sluice, EnOS `action=pause`).
    Pause,
    /// `:resume` (Sluice, EnOS `action=resume`).
    Resume,
    /// PATCH of the pipeline or options.
    Modify,
    /// DELETE.
    Delete,
    /// `:resetOffsets`, or deleting a stage's saved state (Sluice): only when not running.
    Reset,
}

impl Action {
    /// How the action reads in an error: the state it would lead to, EnOS style (`Paused`).
    pub fn target_word(self) -> &'static str {
        match self {
            Action::Start => "Started",
            Action::Stop => "Stopped",
            Action::Pause => "Paused",
            Action::Resume => "Resumed",
            Action::Modify => "Modified",
            Action::Delete => "Deleted",
            Action::Reset => "Reset",
        }
    }
}

/// A refused transition: names both sides, as EnOS does
/// (`status cannot be changed from [STOPPED] to Paused`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("status cannot be changed from [{}] to {}", from.as_str(), action.target_word())]
pub struct TransitionError {
    /// The state the processor is in.
    pub from: ProcessorState,
    /// What was asked.
    pub action: Action,
}

/// The state `action` leads to from `from`, or why it is refused.
///
/// Atlas: a processor is modified only when not running; start from CREATED, STOPPED or FAILED;
/// stop a running one. Sluice adds PAUSED: pause only a running processor, resume only a paused
/// one, and stop either.
pub fn transition(from: ProcessorState, action: Action) -> Result<ProcessorState, TransitionError> {
    use ProcessorState::*;
    let to = match (action, from) {
        (Action::Start, Created | Stopped | Failed) => Started,
        (Action::Stop, Started | Paused) => Stopped,
        (Action::Pause, Started) => Paused,
        (Action::Resume, Paused) => Started,
        (Action::Modify | Action::Reset, Created | Stopped | Failed) => from,
        (Action::Delete, _) => from,
        _ => return Err(TransitionError { from, action }),
    };
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProcessorState::*;

    const STATES: [ProcessorState; 5] = [Created, Started, Paused, Stopped, Failed];
    const ACTIONS: [Action; 7] =
        [Action::Start, Action::Stop, Action::Pause, Action::Resume, Action::Modify, Action::Delete, Action::Reset];

    #[test]
    fn the_whole_table() {
        // (action, from) -> allowed target; everything not listed is refused.
        let allowed: &[(Action, ProcessorState, ProcessorState)] = &[
            (Action::Start, Created, Started),
            (Action::Start, Stopped, Started),
            (Action::Start, Failed, Started),
            (Action::Stop, Started, Stopped),
            (Action::Stop, Paused, Stopped),
            (Action::Pause, Started, Paused),
            (Action::Resume, Paused, Started),
            (Action::Modify, Created, Created),
            (Action::Modify, Stopped, Stopped),
            (Action::Modify, Failed, Failed),
            (Action::Reset, Created, Created),
            (Action::Reset, Stopped, Stopped),
            (Action::Reset, Failed, Failed),
        ];
        for a in ACTIONS {
            for s in STATES {
                let expected = allowed.iter().find(|(x, f, _)| *x == a && *f == s).map(|t| t.2);
                let got = transition(s, a);
                match (expected, a) {
                    (_, Action::Delete) => assert_eq!(got, Ok(s)),
                    (Some(to), _) => assert_eq!(got, Ok(to), "{:?} from {:?}", a, s),
                    (None, _) => assert_eq!(got, Err(TransitionError { from: s, action: a }), "{:?} from {:?}", a, s),
                }
            }
        }
    }

    #[test]
    fn refusals_name_both_states_as_enos_does() {
        let e = transition(Stopped, Action::Pause).unwrap_err();
        assert_eq!(e.to_string(), "status cannot be changed from [STOPPED] to Paused");
        assert_eq!(
            transition(Started, Action::Modify).unwrap_err().to_string(),
            "status cannot be changed from [STARTED] to Modified"
        );
    }
}
