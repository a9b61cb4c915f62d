//! `users.name_key`: the name lower-cased by the server (Unicode-aware), which the directory
//! searches and sorts by. SQLite's own `lower()` only folds ASCII, so "борис" did not find
//! "Борис" there; PostgreSQL's depends on the database's locale. Filled here for the users
//! who registered before.

use sea_orm_migration::sea_orm::ConnectionTrait;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(Users::Table).add_column(string_len(Users::NameKey, 256).default("")).to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        let select = Query::select().columns([Users::Id, Users::Name]).from(Users::Table).to_owned();
        let rows = db.query_all(&select).await?;
        for row in rows {
            let id: i64 = row.try_get("", "id")?;
            let name: String = row.try_get("", "name")?;
            let update = Query::update()
                .table(Users::Table)
                .value(Users::NameKey, name.to_lowercase())
                .and_where(Expr::col(Users::Id).eq(id))
                .to_owned();
            db.execute(&update).await?;
        }
        manager
            .create_index(Index::create().name("users_name_key").table(Users::Table).col(Users::NameKey).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("users_name_key").table(Users::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(Users::Table).drop_column(Users::NameKey).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Name,
    NameKey,
}
