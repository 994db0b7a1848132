//! Classification in parts, in parallel: a pair's verdict depends only on
//! its ancestors (the region, knowledge-base rule and owner they hand down),
//! so whole subtrees can be judged at once, each by a [`Judge`] with its own
//! text and owner tables, merged afterwards in tree order. The parts depend
//! on the tree's shape only, never on the number of threads, so the result
//! is the same with `--threads 1` and `--threads N`.

use std::collections::HashMap;
use std::ops::Range;

use rayon::prelude::*;

use super::{ClassifyInput, Inherited, Judge, Verdict, Verdicts};
use crate::resolve::Resolver;
use crate::scan::NONE;

/// About how many pairs one part holds. Big enough that a part's setup (a
/// copy of the owner table, a path cursor) is noise, small enough that a
/// root's 1M entries make dozens of parts for the threads to share out.
pub(super) const PART_SIZE: usize = 8192;

/// One part: whole subtrees (ranges of pairs in tree order), judged in order.
type Part = Vec<Range<usize>>;

/// What one part found, in its own ids.
struct Judged {
    ranges: Part,
    /// Verdict and knowledge-base rule of each pair of `ranges`, in order.
    found: Vec<(Verdict, Option<crate::knowledge::RuleId>)>,
    texts: Verdicts,
    owners: Vec<crate::owners::Owner>,
}

/// Classifies every pair (without the hold rule, which needs all of them):
/// subtrees of at most `part_size` pairs go whole into parts; the top pair
/// of a bigger subtree goes to the "spine", judged first on its own, and its
/// children are split the same way.
pub(super) fn classify_in_parts(input: &ClassifyInput<'_>, part_size: usize) -> Verdicts {
    let n = input.pairs.len();
    // The baseline's tree is only read for removed pairs (a rescan of an
    // unchanged root has none): its index is built only then.
    let t = crate::timing::phase("index");
    let base_res = input
        .base
        .filter(|_| input.pairs.iter().any(|p| p.cur == NONE))
        .map(|b| Resolver::new(b, input.beyond));
    drop(t);
    let (spine, parts) = plan(input.parent, part_size);

    // The spine: few pairs (the directories above every part), in tree order,
    // so each one's parent is judged before it.
    let mut judge = Judge::new(
        input,
        base_res.as_ref(),
        Verdicts::default(),
        input.evidence.owners.clone(),
    );
    let mut verdicts = vec![Verdict::stray(NONE); n];
    let mut kb = vec![None; n];
    let mut handed: HashMap<usize, Inherited> = HashMap::with_capacity(spine.len());
    for &i in &spine {
        let up = match input.parent[i] {
            NONE => Inherited::TOP,
            q => handed[&(q as usize)],
        };
        let (verdict, down) = judge.judge(i, up);
        verdicts[i] = verdict;
        kb[i] = down.rule;
        handed.insert(i, down);
    }

    // The parts: each starts from the spine's tables, so the ids the spine
    // hands down mean the same in every part.
    let Judge {
        v: spine_v,
        owners: spine_owner_table,
        ..
    } = judge;
    let run = |ranges: &Part| -> Judged {
        let mut j = Judge::new(
            input,
            base_res.as_ref(),
            spine_v.clone(),
            spine_owner_table.clone(),
        );
        let mut found = Vec::with_capacity(ranges.iter().map(Range::len).sum());
        let mut local: Vec<Inherited> = Vec::new();
        for r in ranges {
            local.clear();
            for i in r.clone() {
                let up = match input.parent[i] {
                    NONE => Inherited::TOP,
                    q if q as usize >= r.start => local[q as usize - r.start],
                    q => handed[&(q as usize)],
                };
                let (verdict, down) = j.judge(i, up);
                found.push((verdict, down.rule));
                local.push(down);
            }
        }
        Judged {
            ranges: ranges.clone(),
            found,
            texts: j.v,
            owners: j.owners.into_table(),
        }
    };
    let threads = input.threads.min(parts.len());
    let pool = (threads > 1)
        .then(|| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .thread_name(|i| format!("darlings-classify-{i}"))
                .build()
                .ok()
        })
        .flatten();
    let judged: Vec<Judged> = match pool {
        Some(pool) => pool.install(|| parts.par_iter().map(run).collect()),
        // One thread asked for, or none could be started: the same work in turn.
        None => parts.iter().map(run).collect(),
    };

    // Merge in tree order: a part's own texts and owners are added to the
    // spine's (equal ones share one id), and its verdicts point at them.
    let mut v = spine_v;
    let spine_texts = v.texts.len();
    let mut owners = spine_owner_table.into_table();
    let spine_owners = owners.len();
    for part in judged {
        let text_id: Vec<u32> = part.texts.texts[spine_texts..]
            .iter()
            .map(|t| v.intern(t))
            .collect();
        let owner_id: Vec<u32> = part.owners[spine_owners..]
            .iter()
            .map(|o| match owners.iter().position(|x| x == o) {
                Some(at) => at as u32,
                None => {
                    owners.push(o.clone());
                    (owners.len() - 1) as u32
                }
            })
            .collect();
        let text = |id: u32| match id {
            NONE => NONE,
            id if (id as usize) < spine_texts => id,
            id => text_id[id as usize - spine_texts],
        };
        let owner = |id: u32| match id {
            NONE => NONE,
            id if (id as usize) < spine_owners => id,
            id => owner_id[id as usize - spine_owners],
        };
        let indices = part.ranges.iter().flat_map(Range::clone);
        for (i, (mut verdict, rule)) in indices.zip(part.found) {
            verdict.reason = text(verdict.reason);
            verdict.advice_reason = text(verdict.advice_reason);
            verdict.warning = text(verdict.warning);
            verdict.rule = text(verdict.rule);
            verdict.owner = owner(verdict.owner);
            verdicts[i] = verdict;
            kb[i] = rule;
        }
    }
    v.verdicts = verdicts;
    v.owners = owners;
    v.kb = kb;
    v
}

/// Splits the pairs (in tree order, each parent before its subtree) into the
/// spine and the parts.
fn plan(parent: &[u32], part_size: usize) -> (Vec<usize>, Vec<Part>) {
    let n = parent.len();
    // Subtree sizes: children come after their parent, so one pass backwards.
    let mut size = vec![1u32; n];
    for i in (0..n).rev() {
        if parent[i] != NONE {
            size[parent[i] as usize] += size[i];
        }
    }
    let mut spine = Vec::new();
    let mut parts = Vec::new();
    let mut part: Part = Vec::new();
    let mut filled = 0;
    let mut i = 0;
    while i < n {
        let s = size[i] as usize;
        if s > part_size {
            spine.push(i);
            i += 1;
            continue;
        }
        // Neighbouring small subtrees share a part.
        part.push(i..i + s);
        filled += s;
        if filled >= part_size {
            parts.push(std::mem::take(&mut part));
            filled = 0;
        }
        i += s;
    }
    if !part.is_empty() {
        parts.push(part);
    }
    (spine, parts)
}

#[cfg(test)]
mod tests;
