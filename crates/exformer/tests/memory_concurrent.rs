//! The memory budget under concurrent use (its own process: the budget is process-wide). Views
//! are read from several threads while new views make room: eviction never lands in the middle of
//! a request (no panic, no error), and every answer equals a fresh run's exactly. The budget
//! comes from EXFORMER_MEMORY_BUDGET, as a kernel started with it would read it.

use exformer::engine::{DeviceSpec, Input, Interventions, LoadOptions};
use exformer::memory;

#[test]
fn eviction_never_lands_in_a_request_and_answers_stay_exact() {
    std::env::set_var("EXFORMER_MEMORY_BUDGET", "host=60MB");
    let b = memory::memory_budget();
    assert_eq!(
        (b.host, b.source.as_str()),
        (60_000_000, "EXFORMER_MEMORY_BUDGET")
    );
    let model = exformer::load_with(
        "smollm2",
        &LoadOptions {
            device: DeviceSpec::Cpu,
            ..Default::default()
        },
    )
    .unwrap();
    let text = |i: usize| {
        format!("View {i}: every layer and head of a real model attends between tokens. ").repeat(8)
    };
    let views: Vec<_> = (0..4).map(|i| model.attend(&text(i)).unwrap()).collect();
    let fresh: Vec<Vec<Vec<f32>>> = (0..4)
        .map(|i| {
            let r = model
                .engine()
                .forward(&Input::new(text(i)), &Interventions::default())
                .unwrap();
            [2, 17].iter().map(|&l| r.attention(l).unwrap()).collect()
        })
        .collect();
    std::thread::scope(|s| {
        for t in 0..3 {
            let (views, fresh) = (&views, &fresh);
            s.spawn(move || {
                for k in 0..8 {
                    let i = (t + k) % 4;
                    for (j, l) in [2, 17].into_iter().enumerate() {
                        assert_eq!(
                            views[i].attention(l).unwrap(),
                            fresh[i][j],
                            "view {i} layer {l}"
                        );
                    }
                }
            });
        }
        // Meanwhile new views keep making room.
        s.spawn(|| {
            for i in 4..7 {
                drop(model.attend(&text(i)).unwrap());
            }
        });
    });
    let r = memory::memory();
    assert!(r.host <= b.host, "{r}");
    assert!(r.evictions.0 + r.evictions.1 > 0, "{r}");
}
