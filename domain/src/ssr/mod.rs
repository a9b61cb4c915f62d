pub mod accounts;
pub mod bus;
pub mod cache;
pub mod chats;
pub mod cluster;
pub mod directory;
pub mod entity;
pub mod leases;
pub mod limits;
pub mod live;
pub mod messages;
pub mod messenger;
pub mod passwords;
pub mod sessions;
pub mod settings;
pub mod telegram;
pub mod writer;

/// The database handle every domain call takes.
pub use sea_orm::DatabaseConnection as Db;

use crate::error::DomainError;

impl From<sea_orm::DbErr> for DomainError {
    /// A database that cannot be reached is `Unavailable` (retry in a moment), logged
    /// here at warn; anything else is `Internal`.
    fn from(error: sea_orm::DbErr) -> Self {
        if is_unreachable(&error) {
            tracing::warn!(%error, "the database cannot be reached");
            DomainError::unavailable(format!("database: {error}"))
        } else {
            DomainError::internal(format!("database: {error}"))
        }
    }
}

/// True when a database error means the database could not be reached (down, restarting,
/// the connection to it lost, none to be had in time) rather than that a statement failed:
/// the same request can be tried again once it is back.
pub(crate) fn is_unreachable(error: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr};
    match error {
        // No connection to be had from the pool in time, or the pool is closed; or opening
        // a connection (or pinging one) failed.
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        // A statement on a connection that broke under it.
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => sqlx_unreachable(e),
        _ => false,
    }
}

fn sqlx_unreachable(error: &sea_orm::SqlxError) -> bool {
    use sea_orm::SqlxError;
    match error {
        SqlxError::Io(_) | SqlxError::PoolTimedOut | SqlxError::PoolClosed | SqlxError::WorkerCrashed => true,
        // PostgreSQL: connection exceptions (class 08), and the server shutting down or
        // starting up (admin_shutdown, crash_shutdown, cannot_connect_now).
        SqlxError::Database(e) => e.try_downcast_ref::<sea_orm::SqlxPostgresError>().is_some_and(|pg| {
            let code = pg.code();
            code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03")
        }),
        _ => false,
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use sea_orm::{ConnAcquireErr, DbErr, RuntimeErr, SqlxError};

    use super::*;
    use crate::error::ErrorKind;

    fn query(error: SqlxError) -> DbErr {
        DbErr::Query(RuntimeErr::SqlxError(Arc::new(error)))
    }

    #[test]
    fn a_database_out_of_reach_is_unavailable_and_anything_else_internal() {
        let io = |kind| SqlxError::Io(std::io::Error::from(kind));
        let unreachable = [
            DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
            DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
            DbErr::Conn(RuntimeErr::Internal("Disconnected".into())),
            DbErr::Conn(RuntimeErr::SqlxError(Arc::new(io(std::io::ErrorKind::ConnectionRefused)))),
            query(io(std::io::ErrorKind::ConnectionReset)),
            query(io(std::io::ErrorKind::UnexpectedEof)),
            DbErr::Exec(RuntimeErr::SqlxError(Arc::new(io(std::io::ErrorKind::BrokenPipe)))),
            query(SqlxError::PoolTimedOut),
            query(SqlxError::PoolClosed),
            query(SqlxError::WorkerCrashed),
        ];
        for error in unreachable {
            let domain = DomainError::from(error);
            let public = domain.public();
            assert_eq!((public.kind, public.code.as_str()), (ErrorKind::Unavailable, "unavailable"), "{domain:?}");
            assert!(!public.message.contains("database:"), "the cause stays in the log: {}", public.message);
        }
        let internal = [
            query(SqlxError::RowNotFound),
            query(SqlxError::Protocol("unexpected message".into())),
            DbErr::Query(RuntimeErr::Internal("syntax".into())),
            DbErr::RecordNotFound("chat".into()),
            DbErr::Custom("odd".into()),
        ];
        for error in internal {
            let domain = DomainError::from(error);
            assert_eq!(domain.public().code, "internal", "{domain:?}");
        }
    }
}
