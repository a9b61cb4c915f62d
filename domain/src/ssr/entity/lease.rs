//! `leases`.

use sea_orm::entity::prelude::*;

/// A job that one node at a time runs, and which node holds it until when.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "leases")]
pub struct Model {
    /// The job (`telegram`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    /// The node holding it.
    pub holder: String,
    /// Another node may take it after this.
    pub expires_at: DateTimeUtc,
}

/// No navigable relations: queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
