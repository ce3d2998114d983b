//! Why a task file is `INVALID_TASK`: one variant per rule of `validate`, each worded
//! for a person, naming the field and what was found (the text goes into the result).

/// What is wrong with a task file.
#[derive(Debug, thiserror::Error)]
pub(crate) enum InvalidTask {
    /// The file holds JSON, but not an object (what it holds).
    #[error("task file holds {0}, not a JSON object")]
    Holds(&'static str),
    /// The file is not a JSON object.
    #[error("task file is not a JSON object")]
    NotAnObject,
    /// A mandatory field (`type`, `id`) is absent or null.
    #[error("`{0}` is missing")]
    Missing(&'static str),
    /// A field of the wrong type.
    #[error("`{field}` must be {want}, found {found}")]
    WrongType {
        /// The field (`track.number`).
        field: String,
        /// What it must be (`a string`).
        want: &'static str,
        /// What it is (a kind, or the value itself).
        found: String,
    },
    /// The file name is not a safe id.
    #[error(
        "file name {0:?} is not a safe task id (only letters, digits, '.', '_' and '-', not starting with '.')"
    )]
    UnsafeName(String),
    /// `type` names a task the daemon does not run.
    #[error("type {0:?} is not a daemon task")]
    NotDaemonTask(String),
    /// `id` is not the file's name.
    #[error("`id` {id:?} does not match the file name {file:?}")]
    IdMismatch {
        /// The `id`.
        id: String,
        /// The file name.
        file: String,
    },
    /// A string with a NUL byte (the field, as worded).
    #[error("{0} contains a NUL byte")]
    Nul(String),
    /// `input` is neither a task id nor an absolute path.
    #[error("`input` {0:?} is neither a task id nor an absolute path")]
    BadInput(String),
    /// A rip without one of its mandatory fields.
    #[error("rip task has no `{0}`")]
    RipMissing(&'static str),
    /// The fields do not fit the wire's task shape.
    #[error("task fields have the wrong types ({0})")]
    Fields(#[source] serde_json::Error),
    /// A rip with neither `output_info` nor `output`.
    #[error("rip task has no destination (`output_info` or `output`)")]
    NoDestination,
    /// A destination directory that is relative.
    #[error("{field} {path:?} is relative; it must be an absolute path")]
    Relative {
        /// The field, as worded.
        field: String,
        /// Its value.
        path: String,
    },
    /// A destination part that is absent or null.
    #[error("{0} is missing or null")]
    MissingOrNull(String),
    /// A destination part that is empty.
    #[error("{0} is empty")]
    Empty(String),
    /// A destination directory with a `..` component.
    #[error("{field} {path:?} contains a `..` component")]
    ParentDir {
        /// The field, as worded.
        field: String,
        /// Its value.
        path: String,
    },
    /// A file name that is `.` or `..`.
    #[error("{field} is {name:?}, not a file name")]
    NotAFileName {
        /// The field, as worded.
        field: String,
        /// Its value.
        name: String,
    },
    /// A file name with a `/`.
    #[error("{field} {name:?} contains '/'")]
    Slash {
        /// The field, as worded.
        field: String,
        /// Its value.
        name: String,
    },
}

impl InvalidTask {
    /// A field that must be `want` but holds `found`.
    pub(crate) fn wrong(
        field: impl Into<String>,
        want: &'static str,
        found: impl ToString,
    ) -> Self {
        Self::WrongType {
            field: field.into(),
            want,
            found: found.to_string(),
        }
    }
}
