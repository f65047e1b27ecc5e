//! The store's work, as synchronous functions over one connection; each runs whole on the
//! blocking thread (see `db`).

pub(crate) mod batch;
pub(crate) mod changes;
pub(crate) mod due;
pub(crate) mod pools;
pub(crate) mod reads;

use diesel::result::Error as DieselError;

/// How a transaction ended when it did not commit: a database failure, or a refusal the
/// domain has a name for. Either way nothing was written.
#[derive(Debug)]
pub(crate) enum Refused<E> {
    /// The database failed.
    Db(DieselError),
    /// The store refused, for a reason the caller maps to a domain error.
    Because(E),
}

impl<E> From<DieselError> for Refused<E> {
    fn from(err: DieselError) -> Self {
        Refused::Db(err)
    }
}

impl<E> From<crate::mapping::BadRow> for Refused<E> {
    fn from(bad: crate::mapping::BadRow) -> Self {
        Refused::Db(bad.into())
    }
}

/// Rows per multi-row insert, far below SQLite's limit on bound parameters.
pub(crate) const INSERT_CHUNK: usize = 500;
