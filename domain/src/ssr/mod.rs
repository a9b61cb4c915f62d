pub mod accounts;
pub mod bus;
pub mod chats;
pub mod cluster;
pub mod directory;
pub mod entity;
pub mod live;
pub mod messages;
pub mod messenger;
pub mod passwords;
pub mod sessions;
pub mod writer;

/// The database handle every domain call takes.
pub use sea_orm::DatabaseConnection as Db;

use crate::error::DomainError;

impl From<sea_orm::DbErr> for DomainError {
    fn from(error: sea_orm::DbErr) -> Self {
        DomainError::internal(format!("database: {error}"))
    }
}

impl From<sea_orm::TransactionError<DomainError>> for DomainError {
    fn from(error: sea_orm::TransactionError<DomainError>) -> Self {
        match error {
            sea_orm::TransactionError::Connection(e) => e.into(),
            sea_orm::TransactionError::Transaction(e) => e,
        }
    }
}

/// True when the database refused a write because of a unique index.
pub(crate) fn is_unique_violation(error: &sea_orm::DbErr) -> bool {
    matches!(error.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_)))
}

/// Turns an error into what a client may see, logging internal causes (which clients never see).
pub fn report(error: DomainError) -> crate::error::PublicError {
    report_ref(&error)
}

/// [`report`] for an error that is still needed afterwards.
pub fn report_ref(error: &DomainError) -> crate::error::PublicError {
    if let DomainError::Internal(cause) = error {
        tracing::error!(%cause, "request failed");
    }
    error.public()
}
