use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261126_000001_accounts::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One Telegram chat per account and one account per Telegram chat.
        manager
            .create_table(
                Table::create()
                    .table(TelegramLinks::Table)
                    .col(big_integer(TelegramLinks::UserId).primary_key())
                    .col(big_integer_uniq(TelegramLinks::TelegramChatId))
                    .col(boolean(TelegramLinks::Previews).default(true))
                    // The Telegram user's language when they linked (`ru`, `en`): the bot's.
                    .col(string_len(TelegramLinks::Language, 8).default("en"))
                    .col(timestamp_with_time_zone(TelegramLinks::LinkedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(TelegramLinks::Table, TelegramLinks::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // One-time linking tokens, stored as their SHA-256 only.
        manager
            .create_table(
                Table::create()
                    .table(TelegramLinkTokens::Table)
                    .col(string_len(TelegramLinkTokens::TokenHash, 64).primary_key())
                    .col(big_integer(TelegramLinkTokens::UserId))
                    .col(timestamp_with_time_zone(TelegramLinkTokens::CreatedAt))
                    .col(timestamp_with_time_zone(TelegramLinkTokens::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(TelegramLinkTokens::Table, TelegramLinkTokens::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("telegram_link_tokens_user")
                    .table(TelegramLinkTokens::Table)
                    .col(TelegramLinkTokens::UserId)
                    .to_owned(),
            )
            .await?;
        // Notifications to send: written in the same transaction as the message.
        manager
            .create_table(
                Table::create()
                    .table(NotificationOutbox::Table)
                    .col(big_pk_auto(NotificationOutbox::Id))
                    .col(big_integer(NotificationOutbox::RecipientId))
                    .col(big_integer(NotificationOutbox::ChatId))
                    .col(big_integer(NotificationOutbox::MessageId))
                    .col(big_integer(NotificationOutbox::Seq))
                    .col(timestamp_with_time_zone(NotificationOutbox::CreatedAt))
                    .col(timestamp_with_time_zone(NotificationOutbox::DueAt))
                    .col(integer(NotificationOutbox::Attempts).default(0))
                    .col(timestamp_with_time_zone_null(NotificationOutbox::DoneAt))
                    .col(string_len_null(NotificationOutbox::Outcome, 16))
                    .col(big_integer_null(NotificationOutbox::TelegramChatId))
                    .col(big_integer_null(NotificationOutbox::TelegramMessageId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(NotificationOutbox::Table, NotificationOutbox::RecipientId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(NotificationOutbox::Table, NotificationOutbox::ChatId)
                            .to(Chats::Table, Chats::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(NotificationOutbox::Table, NotificationOutbox::MessageId)
                            .to(Messages::Table, Messages::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The worker reads the pending rows only; both databases take a partial index.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX notification_outbox_pending ON notification_outbox (due_at) WHERE done_at IS NULL",
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("notification_outbox_telegram_message")
                    .table(NotificationOutbox::Table)
                    .col(NotificationOutbox::TelegramChatId)
                    .col(NotificationOutbox::TelegramMessageId)
                    .to_owned(),
            )
            .await?;
        // Jobs that one node at a time runs (the Telegram bot): who holds each, until when.
        manager
            .create_table(
                Table::create()
                    .table(Leases::Table)
                    .col(string_len(Leases::Name, 64).primary_key())
                    .col(string_len(Leases::Holder, 64))
                    .col(timestamp_with_time_zone(Leases::ExpiresAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Leases::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(NotificationOutbox::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(TelegramLinkTokens::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(TelegramLinks::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum TelegramLinks {
    Table,
    UserId,
    TelegramChatId,
    Previews,
    Language,
    LinkedAt,
}

#[derive(DeriveIden)]
enum TelegramLinkTokens {
    Table,
    TokenHash,
    UserId,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum NotificationOutbox {
    Table,
    Id,
    RecipientId,
    ChatId,
    MessageId,
    Seq,
    CreatedAt,
    DueAt,
    Attempts,
    DoneAt,
    Outcome,
    TelegramChatId,
    TelegramMessageId,
}

#[derive(DeriveIden)]
enum Leases {
    Table,
    Name,
    Holder,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Chats {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    Id,
}
