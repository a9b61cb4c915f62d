use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261126_000001_accounts::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Chats::Table)
                    .col(big_pk_auto(Chats::Id))
                    // user_lo <= user_hi; equal for Saved Messages.
                    .col(big_integer(Chats::UserLo))
                    .col(big_integer(Chats::UserHi))
                    .col(big_integer(Chats::LastSeq).default(0))
                    .col(timestamp_with_time_zone(Chats::CreatedAt))
                    .col(timestamp_with_time_zone_null(Chats::LastMessageAt))
                    .foreign_key(ForeignKey::create().from(Chats::Table, Chats::UserLo).to(Users::Table, Users::Id))
                    .foreign_key(ForeignKey::create().from(Chats::Table, Chats::UserHi).to(Users::Table, Users::Id))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("chats_pair")
                    .table(Chats::Table)
                    .col(Chats::UserLo)
                    .col(Chats::UserHi)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(Index::create().name("chats_user_hi").table(Chats::Table).col(Chats::UserHi).to_owned())
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ChatReads::Table)
                    .col(big_integer(ChatReads::ChatId))
                    .col(big_integer(ChatReads::UserId))
                    .col(big_integer(ChatReads::LastReadSeq).default(0))
                    .primary_key(Index::create().col(ChatReads::ChatId).col(ChatReads::UserId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ChatReads::Table, ChatReads::ChatId)
                            .to(Chats::Table, Chats::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Messages::Table)
                    .col(big_pk_auto(Messages::Id))
                    .col(big_integer(Messages::ChatId))
                    .col(big_integer(Messages::Seq))
                    .col(big_integer(Messages::SenderId))
                    .col(string_len(Messages::ClientId, 64))
                    .col(text(Messages::Body))
                    .col(timestamp_with_time_zone(Messages::CreatedAt))
                    .col(timestamp_with_time_zone_null(Messages::EditedAt))
                    .col(timestamp_with_time_zone_null(Messages::DeletedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Messages::Table, Messages::ChatId)
                            .to(Chats::Table, Chats::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create().from(Messages::Table, Messages::SenderId).to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("messages_chat_seq")
                    .table(Messages::Table)
                    .col(Messages::ChatId)
                    .col(Messages::Seq)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("messages_sender_client_id")
                    .table(Messages::Table)
                    .col(Messages::SenderId)
                    .col(Messages::ClientId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Messages::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(ChatReads::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Chats::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Chats {
    Table,
    Id,
    UserLo,
    UserHi,
    LastSeq,
    CreatedAt,
    LastMessageAt,
}

#[derive(DeriveIden)]
enum ChatReads {
    Table,
    ChatId,
    UserId,
    LastReadSeq,
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    Id,
    ChatId,
    Seq,
    SenderId,
    ClientId,
    Body,
    CreatedAt,
    EditedAt,
    DeletedAt,
}
