//! The memory budget over real views of the default model (SmolLM2-135M), without a kernel:
//! least recently used views are evicted (probabilities first, then whole runs), an evicted view
//! answers with exactly a fresh run's attention, and a run larger than the budget is refused.

use exformer::engine::{DeviceSpec, Input, Interventions, LoadOptions};
use exformer::memory::{self, human};

const WORDS: &str = "Researchers type a sentence in a notebook cell and see how every layer and head of a real model attends between tokens. ";

#[test]
fn views_stay_within_the_budget_and_come_back_identical() {
    let model = exformer::load_with(
        "smollm2",
        &LoadOptions {
            device: DeviceSpec::Cpu,
            ..Default::default()
        },
    )
    .unwrap();
    let text = |i: usize| format!("Passage {i}. {}", WORDS.repeat(4));
    let first = model.attend(&text(0)).unwrap();
    let one = memory::memory().host;
    assert!(
        one > 10 << 20,
        "a view of ~100 tokens keeps its probabilities: {}",
        human(one)
    );
    // Room for about 2.5 such views: the third evicts the least recently used one's probabilities.
    let budget = one * 5 / 2;
    exformer::set_memory_budget(&format!("{budget}")).unwrap();
    let views: Vec<_> = (1..6).map(|i| model.attend(&text(i)).unwrap()).collect();
    let report = memory::memory();
    assert!(
        report.host <= budget,
        "kept {} over the budget {}\n{report}",
        human(report.host),
        human(budget)
    );
    assert!(report.evictions.0 + report.evictions.1 > 0, "{report}");
    assert!(
        first.evicted().is_some(),
        "the least recently used view was evicted\n{report}"
    );
    assert!(
        views[4].evicted().is_none(),
        "the newest view is resident\n{report}"
    );
    assert!(
        first.text().contains("under the memory budget"),
        "{}",
        first.text()
    );
    // What an evicted view gives equals a fresh run, bit for bit.
    let fresh = model
        .engine()
        .forward(&Input::new(text(0)), &Interventions::default())
        .unwrap();
    for l in [0, 13, 29] {
        assert_eq!(
            first.attention(l).unwrap(),
            fresh.attention(l).unwrap(),
            "layer {l}"
        );
    }
    assert!(memory::memory().host <= budget);
    // Every view still answers.
    for v in &views {
        assert_eq!(v.attention(3).unwrap().len(), 9 * v.meta().seq_len().pow(2));
        assert!(memory::memory().host <= budget, "{}", memory::memory());
    }
    let shown = format!("{}", memory::memory());
    assert!(
        shown.contains("memory budget: host") && shown.contains("view 1"),
        "{shown}"
    );
    // A run that alone is over the budget is refused with what it needs; nothing is lost.
    let err = model.attend(&WORDS.repeat(40)).unwrap_err().to_string();
    assert!(
        err.contains("needs") && err.contains("set_memory_budget"),
        "{err}"
    );
    assert_eq!(
        views[2].attention(0).unwrap().len(),
        9 * views[2].meta().seq_len().pow(2)
    );
    // Bad settings say why and change nothing.
    for bad in ["0", "-1GB", "lots", "100000TB"] {
        let e = exformer::set_memory_budget(bad).unwrap_err().to_string();
        assert!(e.starts_with("Invalid memory budget:"), "{bad}: {e}");
    }
    assert_eq!(memory::memory_budget().host, budget);
}
