//! Migrations that change data, applied to a database that already holds some.

use migration::{Migrator, MigratorTrait};
use sea_orm_migration::sea_orm::{ConnectionTrait, Database, DbBackend, Statement};

#[tokio::test]
async fn the_name_key_of_people_who_registered_before_is_their_name_lower_cased() {
    let db = Database::connect("sqlite::memory:").await.unwrap();
    // Everything before `name_key` (the first five migrations), and two people.
    Migrator::up(&db, Some(5)).await.unwrap();
    for (id, email, name) in [(10, "boris@example.com", "Борис Котов"), (11, "ann@example.com", "ANN")] {
        db.execute_raw(Statement::from_string(
            DbBackend::Sqlite,
            format!(
                "INSERT INTO users (id, email, name, password_hash, is_admin, is_active, created_at) \
                 VALUES ({id}, '{email}', '{name}', 'x', false, true, '2026-11-27T00:00:00Z')"
            ),
        ))
        .await
        .unwrap();
    }
    Migrator::up(&db, None).await.unwrap();
    let rows = db
        .query_all_raw(Statement::from_string(DbBackend::Sqlite, "SELECT name_key FROM users ORDER BY id"))
        .await
        .unwrap();
    let keys: Vec<String> = rows.iter().map(|r| r.try_get("", "name_key").unwrap()).collect();
    assert_eq!(keys, ["борис котов", "ann"]);
}
