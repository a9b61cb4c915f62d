//! Accounts: registration, sign-in checks, the first administrator.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TransactionTrait};
use tokio::sync::OnceCell;

use super::entity::user;
use super::passwords::Hashing;
use super::{Db, is_unique_violation};
use crate::error::{DomainError, Problem};
use crate::input::{Email, NewAccount, Password};
use crate::model::User;

/// Creates an account. A taken email (in any letter case) is `EmailTaken`.
pub async fn register(db: &Db, hashing: &Hashing, account: NewAccount) -> Result<User, DomainError> {
    create(db, hashing, account, false).await
}

/// Creates an account and signs it in, in one transaction: when either part fails,
/// neither is stored, so nothing is left behind to block a retry. Returns the session token.
pub async fn register_and_sign_in(
    db: &Db,
    hashing: &Hashing,
    account: NewAccount,
    user_agent: Option<&str>,
) -> Result<(User, String), DomainError> {
    let row = new_row(db, hashing, &account, false).await?;
    let txn = db.begin().await?;
    let user = insert(&txn, row).await?;
    let token = super::sessions::start(&txn, user.id, user_agent).await?;
    txn.commit().await?;
    Ok((user, token))
}

async fn create(db: &Db, hashing: &Hashing, account: NewAccount, is_admin: bool) -> Result<User, DomainError> {
    let row = new_row(db, hashing, &account, is_admin).await?;
    insert(db, row).await
}

/// The row for a new account, once its email is known to be free and its password hashed.
async fn new_row(
    db: &Db,
    hashing: &Hashing,
    account: &NewAccount,
    is_admin: bool,
) -> Result<user::ActiveModel, DomainError> {
    if find_by_email(db, &account.email).await?.is_some() {
        return Err(DomainError::EmailTaken);
    }
    super::passwords::check_strength(account.password.expose(), account.email.as_str(), account.name.as_str())?;
    let password_hash = hashing.hash(account.password.expose().to_owned()).await?;
    Ok(user::ActiveModel {
        email: Set(account.email.as_str().to_owned()),
        name: Set(account.name.as_str().to_owned()),
        password_hash: Set(password_hash),
        is_admin: Set(is_admin),
        is_active: Set(true),
        created_at: Set(Utc::now()),
        last_seen_at: Set(None),
        ..Default::default()
    })
}

async fn insert(db: &impl ConnectionTrait, row: user::ActiveModel) -> Result<User, DomainError> {
    match row.insert(db).await {
        Ok(user) => Ok(user.into()),
        // Two registrations of one email at the same moment: the index decides.
        Err(e) if is_unique_violation(&e) => Err(DomainError::EmailTaken),
        Err(e) => Err(e.into()),
    }
}

async fn find_by_email(db: &Db, email: &Email) -> Result<Option<user::Model>, DomainError> {
    Ok(user::Entity::find().filter(user::Column::Email.eq(email.as_str())).one(db).await?)
}

/// Checks an email and password. Unknown email and wrong password give the same
/// error after the same amount of work; a deactivated account is refused.
pub async fn authenticate(db: &Db, hashing: &Hashing, email: &str, password: &str) -> Result<User, DomainError> {
    static DECOY: OnceCell<String> = OnceCell::const_new();
    let found = match Email::parse(email) {
        Ok(email) => find_by_email(db, &email).await?,
        Err(_) => None,
    };
    let Some(found) = found else {
        let decoy = DECOY.get_or_try_init(|| hashing.decoy()).await?;
        hashing.verify(password.to_owned(), decoy.clone()).await?;
        return Err(DomainError::BadCredentials);
    };
    if !hashing.verify(password.to_owned(), found.password_hash.clone()).await? {
        return Err(DomainError::BadCredentials);
    }
    if !found.is_active {
        return Err(DomainError::AccountDisabled);
    }
    Ok(found.into())
}

/// Keeps the interface language someone chose, so that it follows them to every device
/// they sign in on.
pub async fn set_language(db: &Db, user_id: i64, language: crate::model::Language) -> Result<(), DomainError> {
    let changed = user::Entity::update_many()
        .col_expr(user::Column::Language, sea_orm::sea_query::Expr::value(language.code()))
        .filter(user::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    if changed.rows_affected == 0 {
        return Err(DomainError::Unauthenticated);
    }
    Ok(())
}

/// Changes a password, given the current one, and ends every other session of the
/// account in the same transaction; returns how many ended. The new password follows the
/// rules for new passwords.
pub async fn change_password(
    db: &Db,
    hashing: &Hashing,
    user_id: i64,
    keep_session: i64,
    current: &str,
    new: &str,
) -> Result<u64, DomainError> {
    let found = user::Entity::find_by_id(user_id).one(db).await?.ok_or(DomainError::Unauthenticated)?;
    let new = crate::input::Password::parse(new).map_err(|why| DomainError::invalid("new_password", why))?;
    if !hashing.verify(current.to_owned(), found.password_hash.clone()).await? {
        return Err(DomainError::invalid(
            "current_password",
            Problem::new("wrong", "this is not your current password"),
        ));
    }
    if new.expose() == current {
        return Err(DomainError::invalid(
            "new_password",
            Problem::new("unchanged", "the new password is the same as the current one"),
        ));
    }
    super::passwords::check_strength(new.expose(), &found.email, &found.name).map_err(|error| match error {
        DomainError::Invalid(mut fields) => DomainError::Invalid(
            fields.remove("password").map(|why| ("new_password".to_owned(), why)).into_iter().collect(),
        ),
        other => other,
    })?;
    let password_hash = hashing.hash(new.expose().to_owned()).await?;
    let txn = db.begin().await?;
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, sea_orm::sea_query::Expr::value(password_hash))
        .filter(user::Column::Id.eq(user_id))
        .exec(&txn)
        .await?;
    let ended = super::sessions::revoke_others(&txn, user_id, keep_session).await?;
    txn.commit().await?;
    Ok(ended)
}

/// A user by id, if the account exists and is active.
pub async fn find_active(db: &Db, id: i64) -> Result<Option<User>, DomainError> {
    Ok(user::Entity::find_by_id(id).one(db).await?.filter(|u| u.is_active).map(Into::into))
}

/// Records when a user was last online.
pub async fn record_last_seen(db: &Db, id: i64, at: chrono::DateTime<Utc>) -> Result<(), DomainError> {
    user::Entity::update_many()
        .col_expr(user::Column::LastSeenAt, sea_orm::sea_query::Expr::value(at))
        .filter(user::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Deactivates or reactivates an account. Deactivation also ends its sessions.
pub async fn set_active(db: &Db, id: i64, active: bool) -> Result<(), DomainError> {
    let updated = user::Entity::update_many()
        .col_expr(user::Column::IsActive, sea_orm::sea_query::Expr::value(active))
        .filter(user::Column::Id.eq(id))
        .exec(db)
        .await?;
    if updated.rows_affected == 0 {
        return Err(DomainError::NotFound("user"));
    }
    if !active {
        super::sessions::revoke_all(db, id).await?;
    }
    Ok(())
}

/// What start-up did about the administrator account.
#[derive(Debug, PartialEq, Eq)]
pub enum AdminBootstrap {
    /// An account with that email exists already; nothing changed.
    Existing,
    /// Created with the configured password.
    Created,
    /// Created with this generated password, to be shown once.
    CreatedWithPassword(String),
}

/// Makes sure the administrator account exists, creating it at first start.
pub async fn ensure_admin(
    db: &Db,
    hashing: &Hashing,
    email: &Email,
    password: Option<Password>,
) -> Result<AdminBootstrap, DomainError> {
    if find_by_email(db, email).await?.is_some() {
        return Ok(AdminBootstrap::Existing);
    }
    let (password, generated) = match password {
        Some(password) => (password, false),
        None => {
            let raw = super::sessions::random_token()[..20].to_owned();
            (Password::parse(&raw).map_err(DomainError::internal)?, true)
        }
    };
    let account = NewAccount {
        email: email.clone(),
        name: crate::input::DisplayName::parse("Administrator").map_err(DomainError::internal)?,
        password: password.clone(),
    };
    match create(db, hashing, account, true).await {
        Ok(_) if generated => Ok(AdminBootstrap::CreatedWithPassword(password.expose().to_owned())),
        Ok(_) => Ok(AdminBootstrap::Created),
        // Another node created it at the same moment.
        Err(DomainError::EmailTaken) => Ok(AdminBootstrap::Existing),
        Err(e) => Err(e),
    }
}
