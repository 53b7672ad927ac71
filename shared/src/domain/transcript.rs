//! [`Transcript`]: a call's turns in order, and its capped form for analysis.

use sha2::{Digest, Sha256};

use super::turn::{Role, Turn};

/// A call's turns, ordered by start time.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Transcript {
    turns: Vec<Turn>,
}

/// A transcript cut to a character budget: the head and the tail of the call, with the
/// middle replaced by a marker. Analysis only ever sees this form, so a 1 MB transcript
/// costs no more than its cap.
#[derive(Debug, Clone, PartialEq)]
pub struct CappedTranscript {
    /// Turns kept from the start of the call.
    pub head: Vec<Turn>,
    /// Turns kept from the end of the call.
    pub tail: Vec<Turn>,
    /// Characters of turn text left out between head and tail (0 when nothing was cut).
    pub omitted_chars: usize,
}

impl Transcript {
    /// Wraps turns that are already in call order.
    pub fn new(turns: Vec<Turn>) -> Self {
        Self { turns }
    }

    /// The turns.
    pub fn turns(&self) -> &[Turn] {
        &self.turns
    }

    /// True when no turn holds any text.
    pub fn is_empty(&self) -> bool {
        self.turns.iter().all(|t| t.text.trim().is_empty())
    }

    /// Characters of turn text (not bytes).
    pub fn chars(&self) -> usize {
        self.turns.iter().map(|t| t.text.chars().count()).sum()
    }

    /// SHA-256 (hex) of the role and text of every turn: the same conversation always hashes
    /// the same, so an unchanged call is never analyzed (or billed) twice.
    pub fn content_hash(&self) -> String {
        let mut hasher = Sha256::new();
        for turn in &self.turns {
            hasher.update(turn.role.label().as_bytes());
            hasher.update([0x1f]);
            hasher.update(turn.text.as_bytes());
            hasher.update([0x1e]);
        }
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Keeps at most `max_chars` characters of turn text: whole turns from the head until half
    /// the budget is spent, whole turns from the tail for the rest; a single turn larger than
    /// its half is cut on a char boundary.
    pub fn capped(&self, max_chars: usize) -> CappedTranscript {
        let total = self.chars();
        if total <= max_chars {
            return CappedTranscript {
                head: self.turns.clone(),
                tail: Vec::new(),
                omitted_chars: 0,
            };
        }
        let head_budget = max_chars / 2;
        let tail_budget = max_chars - head_budget;

        // Head: whole turns, then part of the turn that crosses the half-way budget.
        let mut head = Vec::new();
        let mut used = 0;
        let mut next = 0;
        let mut consumed_of_next = 0;
        while next < self.turns.len() && used < head_budget {
            let turn = &self.turns[next];
            let len = turn.text.chars().count();
            if used + len <= head_budget {
                head.push(turn.clone());
                used += len;
                next += 1;
            } else {
                consumed_of_next = head_budget - used;
                head.push(Turn {
                    text: turn.text.chars().take(consumed_of_next).collect(),
                    ..turn.clone()
                });
                used = head_budget;
            }
        }
        let head_chars = used;

        // Tail: whole turns from the end, then the end of the turn that crosses the budget
        // (which may be the rest of the head's partial turn: one huge turn keeps both ends).
        let mut tail = Vec::new();
        let mut used = 0;
        let mut prev = self.turns.len();
        while prev > next && used < tail_budget {
            let index = prev - 1;
            let turn = &self.turns[index];
            let len = turn.text.chars().count();
            let available = if index == next {
                len - consumed_of_next
            } else {
                len
            };
            let keep = available.min(tail_budget - used);
            if keep == len {
                tail.push(turn.clone());
            } else {
                tail.push(Turn {
                    text: turn.text.chars().skip(len - keep).collect(),
                    ..turn.clone()
                });
            }
            used += keep;
            prev -= 1;
        }
        tail.reverse();
        CappedTranscript {
            head,
            tail,
            omitted_chars: total - head_chars - used,
        }
    }
}

impl CappedTranscript {
    /// True when part of the call was left out.
    pub fn is_truncated(&self) -> bool {
        self.omitted_chars > 0
    }

    /// Every kept turn, head then tail.
    pub fn turns(&self) -> impl Iterator<Item = &Turn> {
        self.head.iter().chain(self.tail.iter())
    }

    /// Kept turns spoken by `role`.
    pub fn turns_by(&self, role: Role) -> impl Iterator<Item = &Turn> {
        self.turns().filter(move |t| t.role == role)
    }

    /// Characters of kept turn text.
    pub fn chars(&self) -> usize {
        self.turns().map(|t| t.text.chars().count()).sum()
    }

    /// `role: text` lines, with a marker where the middle was left out (the form an LLM reads).
    pub fn render(&self) -> String {
        let mut out =
            String::with_capacity(self.chars() + 16 * (self.head.len() + self.tail.len()) + 64);
        for turn in &self.head {
            push_line(&mut out, turn);
        }
        if self.is_truncated() {
            out.push_str(&format!(
                "[… {} characters omitted …]\n",
                self.omitted_chars
            ));
        }
        for turn in &self.tail {
            push_line(&mut out, turn);
        }
        out
    }
}

fn push_line(out: &mut String, turn: &Turn) {
    out.push_str(turn.role.label());
    out.push_str(": ");
    out.push_str(turn.text.trim());
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn call(texts: &[(Role, &str)]) -> Transcript {
        Transcript::new(texts.iter().map(|(r, t)| Turn::new(*r, *t)).collect())
    }

    #[test]
    fn short_transcripts_are_kept_whole() {
        let t = call(&[(Role::Agent, "hello"), (Role::Caller, "hi 🙂")]);
        let capped = t.capped(100);
        assert!(!capped.is_truncated());
        assert_eq!(capped.render(), "agent: hello\ncaller: hi 🙂\n");
    }

    #[test]
    fn long_transcripts_keep_head_and_tail_around_a_marker() {
        let turns: Vec<(Role, String)> = (0..100)
            .map(|i| {
                (
                    if i % 2 == 0 {
                        Role::Agent
                    } else {
                        Role::Caller
                    },
                    format!("turn number {i:03}"),
                )
            })
            .collect();
        let t = Transcript::new(
            turns
                .iter()
                .map(|(r, s)| Turn::new(*r, s.clone()))
                .collect(),
        );
        let capped = t.capped(150);
        assert!(capped.is_truncated());
        assert!(capped.chars() <= 150);
        assert_eq!(capped.chars() + capped.omitted_chars, t.chars());
        let rendered = capped.render();
        assert!(rendered.starts_with("agent: turn number 000\n"));
        assert!(rendered.ends_with("caller: turn number 099\n"));
        assert!(rendered.contains("characters omitted"));
    }

    #[test]
    fn one_huge_turn_is_cut_on_char_boundaries() {
        let t = call(&[(Role::Caller, &"ñ😀".repeat(500_000))]);
        let capped = t.capped(12_000);
        assert!(capped.is_truncated());
        assert_eq!(capped.chars(), 12_000);
    }

    #[test]
    fn hash_depends_on_roles_and_text_only() {
        let a = call(&[(Role::Agent, "hello"), (Role::Caller, "hi")]);
        let b = call(&[(Role::Caller, "hello"), (Role::Agent, "hi")]);
        assert_eq!(a.content_hash(), a.clone().content_hash());
        assert_ne!(a.content_hash(), b.content_hash());
        assert_eq!(a.content_hash().len(), 64);
    }

    proptest! {
        #[test]
        fn capped_never_exceeds_its_budget(lens in proptest::collection::vec(0usize..300, 0..40), cap in 1usize..2000) {
            let t = Transcript::new(lens.iter().map(|n| Turn::new(Role::Caller, "é".repeat(*n))).collect());
            let capped = t.capped(cap);
            prop_assert!(capped.chars() <= cap);
            prop_assert_eq!(capped.chars() + capped.omitted_chars, t.chars());
        }
    }
}
