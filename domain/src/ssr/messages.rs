//! Messages: storing batches of sends (idempotent, gap-free seq per chat), history and catching up.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::Utc;
use sea_orm::sea_query::{CaseStatement, Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, Condition, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};

use super::entity::{chat, message};
use super::telegram::{self, Owed};
use super::{Db, chats};
use crate::error::{DomainError, Problem};
use crate::input::NewMessage;
use crate::model::{ChatId, HISTORY_LIMIT_MAX, Message, UserId};

/// The outcome of one send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    /// The stored message (the first one when the client id was used before).
    pub message: Message,
    /// False when the client id had been used before and nothing new was stored.
    pub created: bool,
    /// The chat's participants `(user_lo, user_hi)`, to know whom to tell.
    pub participants: (i64, i64),
}

/// What became of one send of a batch before anything is written.
enum Plan {
    /// Refused.
    Refused(DomainError),
    /// Stored before, under the same client id.
    Stored(Box<Message>),
    /// A repeat, within this batch, of the send at this index.
    SameAs(usize),
    /// New: it gets a seq and a row.
    New,
}

/// Stores a batch of sends in one transaction: `requests[i]` is `(sender, message)`.
///
/// Sends whose chat is unknown or not the sender's are refused; a client id the sender
/// used before returns the first message (or is refused when that was in another chat);
/// the rest are numbered in the order given, each chat's `last_seq` bumped once for the
/// whole batch, and inserted with multi-row statements (as few as [`INSERT_BYTES_MAX`]
/// allows). The outcomes come back in the
/// order of the requests. An `Err` means nothing of the batch was stored.
///
/// The `UPDATE` of the chats comes before any insert, so it takes the write lock (row
/// locks on PostgreSQL, the database lock on SQLite) first: concurrent writers queue on it
/// and each sees the seqs the previous one committed.
///
/// A new message whose recipient is among `offline` and linked to Telegram gets a
/// notification outbox row in the same transaction.
pub(crate) async fn store_batch(
    db: &Db,
    participants: &mut HashMap<ChatId, (UserId, UserId)>,
    requests: &[(UserId, &NewMessage)],
    offline: &HashSet<UserId>,
) -> Result<Vec<Result<Sent, DomainError>>, DbErr> {
    learn_participants(db, participants, requests.iter().map(|(_, m)| m.chat_id)).await?;
    let mut plans: Vec<Plan> = requests
        .iter()
        .map(|(sender, m)| match participants.get(&m.chat_id) {
            Some(&(lo, hi)) if lo == *sender || hi == *sender => Plan::New,
            _ => Plan::Refused(DomainError::NotFound("chat")),
        })
        .collect();

    // Read before the transaction, so that its first statement is the UPDATE below. A
    // client id that another node stores in between makes the insert fail; the writer
    // then stores each send alone and finds it.
    let stored = earlier_sends(db, requests, &plans).await?;
    let mut first_in_batch: HashMap<(UserId, &str), usize> = HashMap::new();
    for (i, (sender, m)) in requests.iter().enumerate() {
        if !matches!(plans[i], Plan::New) {
            continue;
        }
        let key = (*sender, m.client_id.as_str());
        let earlier_chat = match (stored.get(&(*sender, m.client_id.as_str().to_owned())), first_in_batch.get(&key)) {
            (Some(first), _) => Some((first.chat_id, Plan::Stored(Box::new(first.clone().into())))),
            (None, Some(&at)) => Some((requests[at].1.chat_id, Plan::SameAs(at))),
            (None, None) => None,
        };
        plans[i] = match earlier_chat {
            Some((chat_id, plan)) if chat_id == m.chat_id => plan,
            Some(_) => Plan::Refused(DomainError::invalid(
                "client_id",
                Problem::new("reused", "this client_id was already used for another chat"),
            )),
            None => {
                first_in_batch.insert(key, i);
                Plan::New
            }
        };
    }

    // Number the new ones: each chat's last_seq moves once, by its count in this batch.
    let mut counts: BTreeMap<ChatId, i64> = BTreeMap::new();
    for (i, (_, m)) in requests.iter().enumerate() {
        if matches!(plans[i], Plan::New) {
            *counts.entry(m.chat_id).or_default() += 1;
        }
    }
    let now = Utc::now();
    let txn = db.begin().await?;
    let mut next_seq: HashMap<ChatId, i64> = HashMap::new();
    if !counts.is_empty() {
        let bump = counts.iter().fold(CaseStatement::new(), |case, (chat_id, n)| {
            case.case(Expr::col(chat::Column::Id).eq(*chat_id), Expr::val(*n))
        });
        let bumped = chat::Entity::update_many()
            .col_expr(chat::Column::LastSeq, Expr::col(chat::Column::LastSeq).add(bump.finally(Expr::val(0i64))))
            .col_expr(chat::Column::LastMessageAt, Expr::value(now))
            .filter(chat::Column::Id.is_in(counts.keys().copied()))
            .exec_with_returning(&txn)
            .await?;
        for chat in bumped {
            let n = counts.get(&chat.id).copied().unwrap_or(0);
            next_seq.insert(chat.id, chat.last_seq - n + 1);
        }
    }
    let mut rows: Vec<(usize, message::ActiveModel)> = Vec::new();
    let mut assigned: Vec<i64> = vec![0; requests.len()];
    for (i, (sender, m)) in requests.iter().enumerate() {
        if !matches!(plans[i], Plan::New) {
            continue;
        }
        let Some(seq) = next_seq.get_mut(&m.chat_id) else {
            // The chat vanished between the check and the update: nothing stores it.
            plans[i] = Plan::Refused(DomainError::NotFound("chat"));
            continue;
        };
        let size = m.text.as_str().len() + m.client_id.as_str().len() + ROW_OVERHEAD;
        rows.push((
            size,
            message::ActiveModel {
                chat_id: Set(m.chat_id),
                seq: Set(*seq),
                sender_id: Set(*sender),
                client_id: Set(m.client_id.as_str().to_owned()),
                body: Set(m.text.as_str().to_owned()),
                created_at: Set(now),
                edited_at: Set(None),
                deleted_at: Set(None),
                ..Default::default()
            },
        ));
        assigned[i] = *seq;
        *seq += 1;
    }
    let mut inserted: HashMap<(ChatId, i64), message::Model> = HashMap::with_capacity(rows.len());
    for chunk in chunks_of_size(rows, INSERT_BYTES_MAX) {
        let stored = message::Entity::insert_many(chunk).exec_with_returning(&txn).await?;
        inserted.extend(stored.into_iter().map(|m| ((m.chat_id, m.seq), m)));
    }
    if !offline.is_empty() {
        let mut owed: Vec<Owed> = inserted
            .values()
            .filter_map(|m| {
                let &(lo, hi) = participants.get(&m.chat_id)?;
                let recipient = if m.sender_id == lo { hi } else { lo };
                (lo != hi && offline.contains(&recipient)).then_some(Owed {
                    recipient,
                    chat_id: m.chat_id,
                    message_id: m.id,
                    seq: m.seq,
                })
            })
            .collect();
        owed.sort_by_key(|o| (o.chat_id, o.seq));
        telegram::write_outbox(&txn, &owed, now).await?;
    }
    txn.commit().await?;

    // The outcomes, in request order; a new message is found by its (chat, seq).
    let mut outcomes: Vec<Result<Sent, DomainError>> = Vec::with_capacity(requests.len());
    for (i, plan) in plans.into_iter().enumerate() {
        let chat_id = requests[i].1.chat_id;
        let participants = participants.get(&chat_id).copied().unwrap_or_default();
        let outcome = match plan {
            Plan::Refused(error) => Err(error),
            Plan::Stored(message) => Ok(Sent { message: *message, created: false, participants }),
            Plan::SameAs(at) => match &outcomes[at] {
                Ok(first) => Ok(Sent { message: first.message.clone(), created: false, participants }),
                Err(_) => Err(DomainError::internal("the first send of a repeated client id failed")),
            },
            Plan::New => {
                let seq = assigned[i];
                inserted
                    .get(&(chat_id, seq))
                    .map(|m| Sent { message: m.clone().into(), created: true, participants })
                    .ok_or_else(|| DomainError::internal(format!("message {chat_id}/{seq} was not returned")))
            }
        };
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// Bytes of parameters beyond the text and the client id in one inserted row, roughly.
const ROW_OVERHEAD: usize = 96;

/// Most bytes of parameters in one `INSERT`. The PostgreSQL driver (sqlx 0.9.0) leaves
/// Nagle's algorithm on: a statement that does not fit the socket's send buffer in one
/// write (16 KiB until the kernel grows it) sends its tail only after the server's
/// delayed ACK, 40 ms later. Smaller statements go out at once, so a batch is inserted
/// in statements of at most this size.
const INSERT_BYTES_MAX: usize = 12 * 1024;

/// Splits `(size, item)` pairs into runs whose sizes add up to at most `max` (an item
/// larger than `max` gets a run of its own).
fn chunks_of_size<T>(items: Vec<(usize, T)>, max: usize) -> Vec<Vec<T>> {
    let mut chunks: Vec<Vec<T>> = Vec::new();
    let mut current: Vec<T> = Vec::new();
    let mut current_size = 0;
    for (size, item) in items {
        if !current.is_empty() && current_size + size > max {
            chunks.push(std::mem::take(&mut current));
            current_size = 0;
        }
        current_size += size;
        current.push(item);
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

/// Makes sure `participants` knows every chat among `chat_ids` that exists, in one query.
pub(crate) async fn learn_participants(
    db: &Db,
    participants: &mut HashMap<ChatId, (UserId, UserId)>,
    chat_ids: impl Iterator<Item = ChatId>,
) -> Result<(), DbErr> {
    let unknown: BTreeSet<ChatId> = chat_ids.filter(|id| !participants.contains_key(id)).collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let found: Vec<(i64, i64, i64)> = chat::Entity::find()
        .select_only()
        .columns([chat::Column::Id, chat::Column::UserLo, chat::Column::UserHi])
        .filter(chat::Column::Id.is_in(unknown))
        .into_tuple()
        .all(db)
        .await?;
    participants.extend(found.into_iter().map(|(id, lo, hi)| (id, (lo, hi))));
    Ok(())
}

/// Client ids looked up in one query: at most 64 characters each, so a statement stays
/// under [`INSERT_BYTES_MAX`].
const LOOKUP_IDS_MAX: usize = 128;

/// Messages stored earlier under the client ids of the sends still planned as new, by
/// `(sender, client id)`: one query per [`LOOKUP_IDS_MAX`] sends.
async fn earlier_sends(
    db: &Db,
    requests: &[(UserId, &NewMessage)],
    plans: &[Plan],
) -> Result<HashMap<(UserId, String), message::Model>, DbErr> {
    let candidates: Vec<(UserId, &str)> = requests
        .iter()
        .zip(plans)
        .filter(|(_, plan)| matches!(plan, Plan::New))
        .map(|((sender, m), _)| (*sender, m.client_id.as_str()))
        .collect();
    let mut found = HashMap::new();
    for chunk in candidates.chunks(LOOKUP_IDS_MAX) {
        let mut by_sender: BTreeMap<UserId, BTreeSet<&str>> = BTreeMap::new();
        for (sender, client_id) in chunk {
            by_sender.entry(*sender).or_default().insert(client_id);
        }
        // One condition per sender, so that both databases look the pairs up in the
        // (sender_id, client_id) index rather than scanning each sender's messages.
        let pairs = by_sender.into_iter().fold(Condition::any(), |any, (sender, client_ids)| {
            any.add(
                Condition::all()
                    .add(message::Column::SenderId.eq(sender))
                    .add(message::Column::ClientId.is_in(client_ids)),
            )
        });
        let stored = message::Entity::find().filter(pairs).all(db).await?;
        found.extend(stored.into_iter().map(|m| ((m.sender_id, m.client_id.clone()), m)));
    }
    Ok(found)
}

/// Up to `limit` messages before `before_seq` (or the newest ones), oldest first.
pub async fn history(
    db: &Db,
    me: i64,
    chat_id: i64,
    before_seq: Option<i64>,
    limit: u64,
) -> Result<Vec<Message>, DomainError> {
    check_limit(limit)?;
    chats::participants(db, me, chat_id).await?;
    page_before(db, chat_id, before_seq, limit).await
}

/// Up to `limit` messages of a chat before `before_seq` (or the newest ones), oldest
/// first, for a caller who may read it.
pub(crate) async fn page_before(
    db: &Db,
    chat_id: i64,
    before_seq: Option<i64>,
    limit: u64,
) -> Result<Vec<Message>, DomainError> {
    let mut query = message::Entity::find().filter(message::Column::ChatId.eq(chat_id));
    if let Some(before) = before_seq {
        query = query.filter(message::Column::Seq.lt(before));
    }
    let mut page: Vec<Message> =
        query.order_by_desc(message::Column::Seq).limit(limit).all(db).await?.into_iter().map(Into::into).collect();
    page.reverse();
    Ok(page)
}

/// Up to `limit` messages after `after_seq`, oldest first: what a reconnecting client missed.
pub async fn since(db: &Db, me: i64, chat_id: i64, after_seq: i64, limit: u64) -> Result<Vec<Message>, DomainError> {
    check_limit(limit)?;
    chats::participants(db, me, chat_id).await?;
    Ok(message::Entity::find()
        .filter(message::Column::ChatId.eq(chat_id))
        .filter(message::Column::Seq.gt(after_seq))
        .order_by_asc(message::Column::Seq)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}

pub(crate) fn check_limit(limit: u64) -> Result<(), DomainError> {
    if (1..=HISTORY_LIMIT_MAX).contains(&limit) {
        Ok(())
    } else {
        Err(DomainError::invalid(
            "limit",
            Problem::new("out_of_range", format!("a page has at least 1 and at most {HISTORY_LIMIT_MAX} messages")),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::chunks_of_size;

    #[test]
    fn inserts_are_split_by_size_and_keep_their_order() {
        let items = vec![(10, 'a'), (10, 'b'), (15, 'c'), (40, 'd'), (1, 'e')];
        assert_eq!(chunks_of_size(items, 30), [vec!['a', 'b'], vec!['c'], vec!['d'], vec!['e']]);
        assert!(chunks_of_size(Vec::<(usize, char)>::new(), 30).is_empty());
    }
}
