//! Replays every committed fuzz corpus file (seeds and the reproducers of
//! crashes found) through the same checks the fuzz targets run, on stable.

use std::path::Path;

#[test]
fn every_committed_fuzz_input_passes_its_checks() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    for (target, check) in crate::fuzz_checks::TARGETS {
        let dir = corpus.join(target);
        let mut n = 0;
        for e in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let p = e.expect("entry").path();
            let data = std::fs::read(&p).expect("read");
            let r = std::panic::catch_unwind(|| check(&data));
            assert!(r.is_ok(), "{target}: {} fails its check", p.display());
            n += 1;
        }
        assert!(n > 0, "{target} has a seed corpus");
    }
}
