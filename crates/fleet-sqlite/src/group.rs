//! Group commit: the writes waiting for the writer run in one transaction.
//!
//! SQLite commits one transaction at a time, and a commit costs more than a provisioning's
//! statements (the WAL frames written and checksummed, the page cache trimmed, a thread
//! woken for each caller and the event reader woken after each commit). So the caller that
//! gets the writer runs every write queued at that moment, each in a savepoint of its own,
//! inside one `BEGIN IMMEDIATE` transaction, and answers each after the commit. A write
//! that fails rolls back to its savepoint and answers its error alone; a commit that fails
//! answers every write of the group with its error, and none of them was written.
//!
//! A write is taken from the queue only by a caller holding the writer, and a caller that
//! gives up before its write was taken withdraws it ([`Queued`]), so a write runs whole or
//! not at all, as it would on its own.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use diesel::SqliteConnection;
use diesel::connection::{AnsiTransactionManager, Connection, TransactionManager};
use diesel::result::Error as DieselError;
use tokio::sync::oneshot;

use crate::db::roll_back_leftovers;
use crate::errors::TxError;

/// The most writes committed together: bounds how long the first of a group waits for
/// the last.
const MAX_GROUP: usize = 64;

/// A write waiting in the queue.
pub(crate) trait PendingWrite: Send {
    /// Runs the write in a savepoint of the open transaction; what to answer at the commit.
    fn run(self: Box<Self>, conn: &mut SqliteConnection) -> Box<dyn WriteDone>;
    /// Answers `error` without running the write (its group's transaction did not begin).
    fn refuse(self: Box<Self>, error: TxError);
}

/// A write that ran, waiting for its group's commit.
pub(crate) trait WriteDone: Send {
    /// Answers the write: its own result if the group committed, else the commit's error.
    fn answer(self: Box<Self>, commit: Result<(), TxError>);
}

/// A write: its work and where its result goes.
pub(crate) struct Write<R, F> {
    task: F,
    reply: oneshot::Sender<Result<R, TxError>>,
}

impl<R, F> Write<R, F>
where
    R: Send + 'static,
    F: FnOnce(&mut SqliteConnection) -> Result<R, TxError> + Send + 'static,
{
    /// A write of `task`, and the receiver of its result.
    pub(crate) fn new(task: F) -> (Self, oneshot::Receiver<Result<R, TxError>>) {
        let (reply, result) = oneshot::channel();
        (Self { task, reply }, result)
    }
}

impl<R, F> PendingWrite for Write<R, F>
where
    R: Send + 'static,
    F: FnOnce(&mut SqliteConnection) -> Result<R, TxError> + Send + 'static,
{
    fn run(self: Box<Self>, conn: &mut SqliteConnection) -> Box<dyn WriteDone> {
        let Write { task, reply } = *self;
        let result = conn.transaction(task);
        Box::new(Ran { result, reply })
    }

    fn refuse(self: Box<Self>, error: TxError) {
        let _ = self.reply.send(Err(error));
    }
}

struct Ran<R> {
    result: Result<R, TxError>,
    reply: oneshot::Sender<Result<R, TxError>>,
}

impl<R: Send> WriteDone for Ran<R> {
    fn answer(self: Box<Self>, commit: Result<(), TxError>) {
        let answer = match commit {
            Ok(()) => self.result,
            Err(error) => Err(error),
        };
        // A caller that went away after its write was taken wants no answer.
        let _ = self.reply.send(answer);
    }
}

/// The writes waiting for the writer, each with a number to withdraw it by.
#[derive(Default)]
pub(crate) struct WriteQueue {
    inner: Mutex<Waiting>,
}

#[derive(Default)]
struct Waiting {
    next: u64,
    writes: VecDeque<(u64, Box<dyn PendingWrite>)>,
}

impl WriteQueue {
    /// Queues `write`; the returned handle withdraws it when dropped before it is taken.
    pub(crate) fn push(self: &Arc<Self>, write: Box<dyn PendingWrite>) -> Queued {
        let mut waiting = self.waiting();
        let number = waiting.next;
        waiting.next += 1;
        waiting.writes.push_back((number, write));
        Queued {
            queue: Arc::clone(self),
            number,
        }
    }

    /// Every write waiting now, oldest first.
    pub(crate) fn take_all(&self) -> Vec<Box<dyn PendingWrite>> {
        self.waiting()
            .writes
            .drain(..)
            .map(|(_, write)| write)
            .collect()
    }

    fn waiting(&self) -> MutexGuard<'_, Waiting> {
        // Nothing runs under this lock but moving boxes in and out of the queue, so a
        // poisoned lock still guards a whole queue.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A write in the queue, withdrawn if its caller gives up before a writer takes it.
pub(crate) struct Queued {
    queue: Arc<WriteQueue>,
    number: u64,
}

impl Drop for Queued {
    fn drop(&mut self) {
        let mut waiting = self.queue.waiting();
        if let Some(at) = waiting.writes.iter().position(|(n, _)| *n == self.number) {
            waiting.writes.remove(at);
        }
    }
}

/// Runs `writes` on the writer in groups of at most [`MAX_GROUP`], one transaction each.
pub(crate) fn commit_in_groups(conn: &mut SqliteConnection, writes: Vec<Box<dyn PendingWrite>>) {
    let mut writes = writes.into_iter().peekable();
    while writes.peek().is_some() {
        let group: Vec<_> = writes.by_ref().take(MAX_GROUP).collect();
        commit_group(conn, group);
    }
}

fn commit_group(conn: &mut SqliteConnection, group: Vec<Box<dyn PendingWrite>>) {
    let begun = roll_back_leftovers(conn)
        .and_then(|()| AnsiTransactionManager::begin_transaction_sql(conn, "BEGIN IMMEDIATE"));
    if let Err(error) = begun {
        for write in group {
            write.refuse(TxError::Db(copy(&error)));
        }
        return;
    }
    let ran: Vec<_> = group.into_iter().map(|write| write.run(conn)).collect();
    let committed = AnsiTransactionManager::commit_transaction(conn);
    if committed.is_err() {
        let _ = AnsiTransactionManager::rollback_transaction(conn);
    }
    for done in ran {
        done.answer(
            committed
                .as_ref()
                .map_err(|e| TxError::Db(copy(e)))
                .copied(),
        );
    }
}

/// The same failure for another write of the group: its kind and SQLite's message, which is
/// all the store's error mapping reads.
fn copy(error: &DieselError) -> DieselError {
    match error {
        DieselError::DatabaseError(kind, info) => {
            DieselError::DatabaseError(*kind, Box::new(info.message().to_owned()))
        }
        other => DieselError::DatabaseError(
            diesel::result::DatabaseErrorKind::Unknown,
            Box::new(other.to_string()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use diesel::sql_types::BigInt;

    use super::*;

    type Answer = oneshot::Receiver<Result<(), TxError>>;

    /// A memory database with a table `t` and a table `child` whose foreign key is checked
    /// at the commit.
    fn database() -> SqliteConnection {
        let mut conn = SqliteConnection::establish(":memory:").expect("open");
        conn.batch_execute(
            "PRAGMA foreign_keys = ON;
             CREATE TABLE t (n INTEGER PRIMARY KEY);
             CREATE TABLE child (n INTEGER REFERENCES t (n) DEFERRABLE INITIALLY DEFERRED);",
        )
        .expect("schema");
        conn
    }

    /// A write inserting `n` into `table`, then failing if `fail`.
    fn insert(table: &'static str, n: i64, fail: bool) -> (Box<dyn PendingWrite>, Answer) {
        let (write, answer) = Write::new(move |conn: &mut SqliteConnection| {
            diesel::sql_query(format!("INSERT INTO {table} (n) VALUES (?)"))
                .bind::<BigInt, _>(n)
                .execute(conn)?;
            if fail {
                return Err(TxError::NameTaken(format!("write {n}")));
            }
            Ok(())
        });
        (Box::new(write), answer)
    }

    fn stored(conn: &mut SqliteConnection) -> Vec<i64> {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        diesel::sql_query("SELECT n FROM t ORDER BY n")
            .load::<Row>(conn)
            .expect("select")
            .into_iter()
            .map(|row| row.n)
            .collect()
    }

    fn answer(mut answer: Answer) -> Result<(), TxError> {
        answer.try_recv().expect("answered")
    }

    #[test]
    fn a_failing_write_is_rolled_back_alone_and_the_others_commit() {
        let mut conn = database();
        let (writes, answers): (Vec<_>, Vec<_>) = [(1, false), (2, true), (3, false)]
            .into_iter()
            .map(|(n, fail)| insert("t", n, fail))
            .unzip();
        commit_in_groups(&mut conn, writes);
        let answers: Vec<_> = answers.into_iter().map(answer).collect();
        assert!(answers[0].is_ok() && answers[2].is_ok(), "{answers:?}");
        assert!(
            matches!(answers[1], Err(TxError::NameTaken(_))),
            "{answers:?}"
        );
        assert_eq!(stored(&mut conn), [1, 3]);
    }

    #[test]
    fn a_failed_commit_answers_every_write_with_its_error_and_writes_nothing() {
        let mut conn = database();
        let (writes, answers): (Vec<_>, Vec<_>) =
            [insert("t", 1, false), insert("child", 99, false)]
                .into_iter()
                .unzip();
        commit_in_groups(&mut conn, writes);
        for answer in answers.into_iter().map(answer) {
            let Err(TxError::Db(error)) = answer else {
                panic!("the commit's error, not {answer:?}");
            };
            assert!(error.to_string().contains("FOREIGN KEY"), "{error}");
        }
        assert!(stored(&mut conn).is_empty());
        commit_in_groups(&mut conn, vec![insert("t", 2, false).0]);
        assert_eq!(
            stored(&mut conn),
            [2],
            "the writer works after a failed commit"
        );
    }

    #[test]
    fn more_writes_than_a_group_holds_commit_in_order_in_several_groups() {
        let mut conn = database();
        let count = i64::try_from(MAX_GROUP * 2 + 1).expect("small");
        let (writes, answers): (Vec<_>, Vec<_>) =
            (1..=count).map(|n| insert("t", n, false)).unzip();
        commit_in_groups(&mut conn, writes);
        assert!(answers.into_iter().map(answer).all(|a| a.is_ok()));
        assert_eq!(stored(&mut conn), (1..=count).collect::<Vec<_>>());
    }

    #[test]
    fn a_write_withdrawn_before_it_is_taken_is_never_run() {
        let queue = Arc::new(WriteQueue::default());
        let (kept, _kept_answer) = insert("t", 1, false);
        let (withdrawn, withdrawn_answer) = insert("t", 2, false);
        let _kept = queue.push(kept);
        drop(queue.push(withdrawn));
        let taken = queue.take_all();
        assert_eq!(taken.len(), 1);
        let mut conn = database();
        commit_in_groups(&mut conn, taken);
        assert_eq!(stored(&mut conn), [1]);
        assert!(
            answer_dropped(withdrawn_answer),
            "a withdrawn write is dropped unanswered"
        );
    }

    #[test]
    fn a_group_whose_write_panicked_leaves_the_writer_usable() {
        let mut conn = database();
        let panicking: Box<dyn PendingWrite> = Box::new(
            Write::new(|conn: &mut SqliteConnection| -> Result<(), TxError> {
                diesel::sql_query("INSERT INTO t (n) VALUES (1)").execute(conn)?;
                panic!("a write panics inside its savepoint");
            })
            .0,
        );
        let (kept, answer_before) = insert("t", 7, false);
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            commit_in_groups(&mut conn, vec![kept, panicking]);
        }));
        assert!(unwound.is_err());
        assert!(
            answer_dropped(answer_before),
            "nothing of the group is answered"
        );
        let (next, answer_next) = insert("t", 2, false);
        commit_in_groups(&mut conn, vec![next]);
        assert!(answer(answer_next).is_ok());
        assert_eq!(
            stored(&mut conn),
            [2],
            "the group's writes were rolled back"
        );
    }

    fn answer_dropped(mut answer: Answer) -> bool {
        matches!(answer.try_recv(), Err(oneshot::error::TryRecvError::Closed))
    }
}
