//! Database migrations, applied at start-up (also `cargo run -p migration`).
//! Old migrations never change: entities evolve, history does not.

pub use sea_orm_migration::prelude::*;

mod m20261126_000001_accounts;
mod m20261126_000002_messaging;
mod m20261126_000003_instance;
mod m20261126_000004_telegram;
mod m20261127_000005_language;
mod m20261127_000006_name_key;

/// All migrations, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_accounts::Migration),
            Box::new(m20261126_000002_messaging::Migration),
            Box::new(m20261126_000003_instance::Migration),
            Box::new(m20261126_000004_telegram::Migration),
            Box::new(m20261127_000005_language::Migration),
            Box::new(m20261127_000006_name_key::Migration),
        ]
    }
}
