use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Settings::Table)
                    .col(string_len(Settings::Name, 64).primary_key())
                    .col(text(Settings::Value))
                    .to_owned(),
            )
            .await?;
        // A random id for this installation: the nodes sharing this database find each
        // other under it in Redis, and nothing else shares their keys.
        let random = match manager.get_database_backend() {
            DbBackend::Postgres => "md5(random()::text || clock_timestamp()::text)",
            _ => "lower(hex(randomblob(16)))",
        };
        manager
            .get_connection()
            .execute_unprepared(&format!("INSERT INTO settings (name, value) VALUES ('instance_id', {random})"))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Settings::Table).to_owned()).await
    }
}

/// Installation-wide values, one row each.
#[derive(DeriveIden)]
pub enum Settings {
    Table,
    Name,
    Value,
}
