//! Conditional changes: optimistic concurrency for clients. A client that read a server at
//! some generation asks for a change only if the server is still there (HTTP `If-Match`);
//! the use case checks the generation it read, and the store's generation guard refuses
//! the write if another writer moved the server on meanwhile, so the check and the write
//! are one.

/// The generations a conditional change may apply to: the server's must be one of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerationMatch {
    generations: Vec<i64>,
}

impl GenerationMatch {
    /// A condition met by a server at any of `generations`; met by none when it is empty.
    pub fn any_of(generations: impl IntoIterator<Item = i64>) -> Self {
        Self {
            generations: generations.into_iter().collect(),
        }
    }

    /// Whether a server at `generation` meets the condition.
    pub fn holds_for(&self, generation: i64) -> bool {
        self.generations.contains(&generation)
    }

    /// The condition on a server at `generation`: met, or failed naming where it is.
    pub fn check(&self, generation: i64) -> Result<(), PreconditionFailed> {
        if self.holds_for(generation) {
            Ok(())
        } else {
            Err(PreconditionFailed {
                current_generation: generation,
            })
        }
    }
}

/// The server is no longer at a generation the change was conditioned on: it changed since
/// the client read it, and nothing was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the server changed since it was read: it is at generation {current_generation}, not one \
     the request is conditioned on; nothing changed"
)]
pub struct PreconditionFailed {
    /// The server's generation now.
    pub current_generation: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_condition_holds_for_the_generations_it_names_only() {
        let condition = GenerationMatch::any_of([3, 5]);
        assert!(condition.holds_for(3));
        assert!(condition.holds_for(5));
        assert_eq!(
            condition.check(4),
            Err(PreconditionFailed {
                current_generation: 4
            })
        );
        assert!(
            !GenerationMatch::any_of([]).holds_for(0),
            "an empty list matches nothing"
        );
    }
}
