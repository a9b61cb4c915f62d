//! Leases: a job that one node at a time runs (the Telegram bot) is held by the node that
//! took its lease last, until the lease expires. The holder renews it well before then; a
//! node that stops renewing (killed, cut off) loses it, and another takes over.

use chrono::{Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};

use super::Db;
use super::entity::lease;
use crate::error::DomainError;

/// Takes or renews the lease `name` for `holder` for `ttl`: true when `holder` holds it
/// now (it was free, expired, or already its own).
pub async fn acquire(db: &Db, name: &str, holder: &str, ttl: Duration) -> Result<bool, DomainError> {
    let now = Utc::now();
    // A first holder creates the row; afterwards the row is only taken over when it
    // expired, or renewed by its holder. One statement, so two nodes cannot both win.
    let row =
        lease::ActiveModel { name: Set(name.to_owned()), holder: Set(holder.to_owned()), expires_at: Set(now + ttl) };
    let taken = lease::Entity::insert(row)
        .on_conflict(
            OnConflict::column(lease::Column::Name)
                .update_columns([lease::Column::Holder, lease::Column::ExpiresAt])
                .action_and_where(
                    Expr::col((lease::Entity, lease::Column::Holder)).eq(holder).or(Expr::col((
                        lease::Entity,
                        lease::Column::ExpiresAt,
                    ))
                    .lt(now)),
                )
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(taken > 0)
}

/// Gives the lease up at once (a node stopping), when `holder` holds it.
pub async fn release(db: &Db, name: &str, holder: &str) -> Result<(), DomainError> {
    lease::Entity::delete_many()
        .filter(lease::Column::Name.eq(name))
        .filter(lease::Column::Holder.eq(holder))
        .exec(db)
        .await?;
    Ok(())
}
