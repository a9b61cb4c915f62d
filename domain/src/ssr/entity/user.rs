//! `users`.

use sea_orm::entity::prelude::*;

/// One registered account.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Lower-cased email, unique.
    #[sea_orm(unique)]
    pub email: String,
    /// Display name.
    pub name: String,
    /// The name lower-cased (Unicode-aware): what the directory searches and sorts by.
    pub name_key: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Administrator.
    pub is_admin: bool,
    /// False when deactivated: cannot sign in, hidden from the directory.
    pub is_active: bool,
    /// Registration time.
    pub created_at: DateTimeUtc,
    /// Last activity.
    pub last_seen_at: Option<DateTimeUtc>,
    /// The interface language they chose (`en`, `ru`), if any.
    pub language: Option<String>,
}

/// No navigable relations: queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

/// `name_key` is always the name lower-cased, whoever writes the name.
#[async_trait::async_trait]
impl ActiveModelBehavior for ActiveModel {
    async fn before_save<C>(mut self, _db: &C, _insert: bool) -> Result<Self, DbErr>
    where
        C: ConnectionTrait,
    {
        if let sea_orm::ActiveValue::Set(name) = &self.name {
            self.name_key = sea_orm::ActiveValue::Set(name.to_lowercase());
        }
        Ok(self)
    }
}

impl From<Model> for crate::model::Person {
    fn from(user: Model) -> Self {
        Self {
            id: user.id,
            name: user.name,
            created_at: user.created_at,
            online: false,
            last_seen_at: user.last_seen_at,
        }
    }
}

impl From<Model> for crate::model::User {
    fn from(user: Model) -> Self {
        let language = user.language.as_deref().and_then(|code| crate::model::Language::parse(code).ok());
        Self {
            id: user.id,
            email: user.email,
            name: user.name,
            is_admin: user.is_admin,
            created_at: user.created_at,
            language,
        }
    }
}
