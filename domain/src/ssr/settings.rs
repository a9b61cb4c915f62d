//! Installation-wide values in the `settings` table, one row each (the instance id, the
//! Telegram bot's update offset).

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, Statement};

use super::Db;
use crate::error::DomainError;

/// The value stored under `name`, if any.
pub async fn get(db: &Db, name: &str) -> Result<Option<String>, DomainError> {
    let backend = db.get_database_backend();
    let select = Query::select()
        .column(Settings::Value)
        .from(Settings::Table)
        .and_where(Expr::col(Settings::Name).eq(name))
        .to_owned();
    let row = db.query_one_raw(backend.build(&select)).await?;
    Ok(row.map(|r| r.try_get::<String>("", "value")).transpose()?)
}

/// Stores `value` under `name`, replacing what was there.
pub async fn set(db: &Db, name: &str, value: &str) -> Result<(), DomainError> {
    let backend = db.get_database_backend();
    let insert = Query::insert()
        .into_table(Settings::Table)
        .columns([Settings::Name, Settings::Value])
        .values([name.into(), value.into()])
        .map_err(DomainError::internal)?
        .on_conflict(OnConflict::column(Settings::Name).update_column(Settings::Value).to_owned())
        .to_owned();
    let statement: Statement = backend.build(&insert);
    db.execute_raw(statement).await?;
    Ok(())
}

#[derive(sea_orm::DeriveIden)]
enum Settings {
    Table,
    Name,
    Value,
}
