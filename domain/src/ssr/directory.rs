//! The directory: active users, paged, sorted and searched by name prefix. It shows
//! people as everyone sees them: no email addresses, which it does not search either.

use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr};
use sea_orm::{ColumnTrait, Condition, EntityTrait, Order, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};

use super::Db;
use super::entity::user;
use crate::error::{DomainError, FieldErrors, Problem};
use crate::input::EMAIL_MAX;
use crate::model::{PER_PAGE_MAX, UserPage, UserSort};

/// What a directory request asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectoryQuery {
    /// The page, from 1.
    pub page: u64,
    /// Page size, 1 to [`PER_PAGE_MAX`].
    pub per_page: u64,
    /// The order.
    pub sort: UserSort,
    /// A case-insensitive prefix of the name; blank means everyone.
    pub q: Option<String>,
}

impl Default for DirectoryQuery {
    fn default() -> Self {
        Self { page: 1, per_page: 20, sort: UserSort::NameAsc, q: None }
    }
}

/// One page of active users matching the query, with the total number of matches.
pub async fn page(db: &Db, query: DirectoryQuery) -> Result<UserPage, DomainError> {
    let mut problems = FieldErrors::new();
    if query.page == 0 {
        problems.insert("page".into(), Problem::new("out_of_range", "pages are numbered from 1"));
    }
    if !(1..=PER_PAGE_MAX).contains(&query.per_page) {
        problems.insert(
            "per_page".into(),
            Problem::new("out_of_range", format!("a page has at least 1 and at most {PER_PAGE_MAX} users")),
        );
    }
    let q = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    if let Some(q) = q
        && q.chars().count() > EMAIL_MAX
    {
        problems.insert("q".into(), Problem::new("too_long", format!("a search has at most {EMAIL_MAX} characters")));
    }
    if let Some(q) = q
        && q.chars().any(char::is_control)
    {
        problems.insert("q".into(), Problem::new("control_characters", "a search cannot contain control characters"));
    }
    if !problems.is_empty() {
        return Err(DomainError::Invalid(problems));
    }

    let mut filter = Condition::all().add(user::Column::IsActive.eq(true));
    if let Some(q) = q {
        filter = filter.add(Expr::col(user::Column::NameKey).like(prefix_pattern(q)));
    }

    let total = user::Entity::find().filter(filter.clone()).count(db).await?;
    // Far-away pages are simply empty; the offset is capped so that it stays a valid BIGINT.
    let offset = Ord::min((query.page - 1).saturating_mul(query.per_page), i64::MAX as u64);
    let users = if offset >= total {
        Vec::new()
    } else {
        let (column, order): (Expr, Order) = match query.sort {
            UserSort::NameAsc => (Expr::col(user::Column::NameKey), Order::Asc),
            UserSort::NameDesc => (Expr::col(user::Column::NameKey), Order::Desc),
            UserSort::CreatedAsc => (Expr::col(user::Column::CreatedAt), Order::Asc),
            UserSort::CreatedDesc => (Expr::col(user::Column::CreatedAt), Order::Desc),
        };
        user::Entity::find()
            .filter(filter)
            .order_by(column, order.clone())
            .order_by(user::Column::Id, order)
            .limit(query.per_page)
            .offset(offset)
            .all(db)
            .await?
            .into_iter()
            .map(Into::into)
            .collect()
    };
    Ok(UserPage { users, total, page: query.page, per_page: query.per_page })
}

/// `lower(column)`: case-insensitive on PostgreSQL, harmless on SQLite (whose LIKE ignores ASCII case).
/// `q` lower-cased, with LIKE's wildcards escaped, followed by `%`.
fn prefix_pattern(q: &str) -> LikeExpr {
    let mut pattern = String::with_capacity(q.len() + 1);
    for c in q.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    LikeExpr::new(pattern).escape('\\')
}
