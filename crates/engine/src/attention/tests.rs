//! Attention's tests: the fused kernel against explicit softmax(QK^T)V, masks, knockout, ablation, prefixes.

use super::*;

fn vals(t: &Tensor) -> Vec<f32> {
    let t = t.to_kind(Kind::Float).contiguous().view([-1]);
    Vec::<f32>::try_from(&t).unwrap()
}

fn qkv(h: i64, kvh: i64, t: i64, d: i64) -> (Tensor, Tensor, Tensor) {
    tch::manual_seed(0);
    (
        Tensor::randn([h, t, d], (Kind::Float, Device::Cpu)),
        Tensor::randn([kvh, t, d], (Kind::Float, Device::Cpu)),
        Tensor::randn([kvh, t, d], (Kind::Float, Device::Cpu)),
    )
}

fn all_probs(out: &AttentionOut) -> Tensor {
    out.record
        .probs(None, 0..out.record.seq_len() as usize)
        .unwrap()
}

fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

#[test]
fn rows_sum_to_one_and_match_reference() {
    let (q, k, v) = qkv(2, 2, 4, 3);
    let out = attention(&q, &k, &v, &AttentionSpec::new(0.5)).unwrap();
    let reference = (q.matmul(&k.transpose(-2, -1)) * 0.5).softmax(-1, Kind::Float);
    let probs = all_probs(&out);
    assert!(max_diff(&probs, &reference) < 1e-6);
    let sums = vals(&probs.sum_dim_intlist([-1i64].as_slice(), false, Kind::Float));
    assert!(sums.iter().all(|s| (s - 1.0).abs() < 1e-5));
    assert_eq!(out.context.size(), vec![4, 6]);
    // The fused context equals probs · V.
    let ctx = reference.matmul(&v).transpose(0, 1).reshape([4, 6]);
    assert!(max_diff(&out.context, &ctx) < 1e-5);
}

#[test]
fn causal_and_knockout() {
    let (q, k, v) = qkv(1, 1, 4, 3);
    let ko = [0usize];
    let spec = AttentionSpec {
        causal: true,
        knockout: &ko,
        ..AttentionSpec::new(1.0)
    };
    let out = attention(&q, &k, &v, &spec).unwrap();
    let p = vals(&all_probs(&out));
    // query 0 can only see key 0, which is knocked out: all-zero row and zero context.
    assert!(p[0..4].iter().all(|&x| x == 0.0));
    assert!(vals(&out.context.get(0)).iter().all(|&x| x == 0.0));
    for i in 1..4 {
        let row = &p[i * 4..i * 4 + 4];
        assert_eq!(row[0], 0.0);
        for (j, &x) in row.iter().enumerate() {
            if j > i {
                assert_eq!(x, 0.0);
            }
        }
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }
    let ctx = all_probs(&out).matmul(&v).transpose(0, 1).reshape([4, 3]);
    assert!(max_diff(&out.context, &ctx) < 1e-5);
}

#[test]
fn rows_before_a_knocked_out_key_recompute_without_it() {
    // Long inputs keep no probabilities: rows are recomputed against the keys they can see,
    // which for early rows stop before the knocked-out key.
    let (q, k, v) = qkv(2, 2, 12, 4);
    let ko = [9usize];
    let spec = AttentionSpec {
        causal: true,
        knockout: &ko,
        ..AttentionSpec::new(0.5)
    };
    let kept = attention(&q, &k, &v, &spec).unwrap();
    let recomputed = attention_with(&q, &k, &v, &spec, 0).unwrap();
    assert!(recomputed.record.probs.is_none());
    let early = recomputed.record.probs_visible(None, 2..5).unwrap();
    assert_eq!(early.size(), vec![2, 3, 5]);
    let want = all_probs(&kept).narrow(1, 2, 3).narrow(2, 0, 5);
    assert!(max_diff(&early, &want) < 1e-6);
    let late = recomputed.record.probs(None, 8..12).unwrap();
    assert!(max_diff(&late, &all_probs(&kept).narrow(1, 8, 4)) < 1e-6);
    assert!(vals(&late.narrow(2, 9, 1)).iter().all(|&x| x == 0.0));
}

#[test]
fn sliding_window() {
    let rules = MaskRules {
        scale: 1.0,
        causal: true,
        sliding_window: Some(2),
        blocked_keys: vec![],
        softcap: None,
    };
    let m = vals(
        &rules
            .blocked(0..4, 4, Device::Cpu)
            .unwrap()
            .to_kind(Kind::Float),
    );
    // query 3 sees keys 2 and 3 only
    assert_eq!(&m[12..16], &[1.0, 1.0, 0.0, 0.0]);
    assert_eq!(&m[0..4], &[0.0, 1.0, 1.0, 1.0]);
}

#[test]
fn gqa_ablation_and_head_subsets() {
    let (q, k, v) = qkv(4, 2, 3, 2);
    let ab = [1usize];
    let spec = AttentionSpec {
        ablate_heads: &ab,
        ..AttentionSpec::new(1.0)
    };
    let out = attention(&q, &k, &v, &spec).unwrap();
    // heads 0 and 1 share kv head 0; head 3 uses kv head 1
    let reference = q
        .get(1)
        .matmul(&k.get(0).transpose(-2, -1))
        .softmax(-1, Kind::Float);
    assert!(max_diff(&all_probs(&out).get(1), &reference) < 1e-6);
    let sub = out.record.probs(Some(&[3, 1]), 1..3).unwrap();
    let ref3 = q
        .get(3)
        .matmul(&k.get(1).transpose(-2, -1))
        .softmax(-1, Kind::Float)
        .narrow(0, 1, 2);
    assert!(max_diff(&sub.get(0), &ref3) < 1e-6);
    assert!(max_diff(&sub.get(1), &reference.narrow(0, 1, 2)) < 1e-6);
    let ctx = out.context.reshape([3, 4, 2]);
    assert!(vals(&ctx.select(1, 1)).iter().all(|&x| x == 0.0));
    assert!(vals(&ctx.select(1, 0)).iter().any(|&x| x != 0.0));
    let bad = [7usize];
    let spec = AttentionSpec {
        ablate_heads: &bad,
        ..AttentionSpec::new(1.0)
    };
    assert!(matches!(
        attention(&q, &k, &v, &spec),
        Err(EngineError::BadIntervention(_))
    ));
    assert!(matches!(
        out.record.probs(Some(&[4]), 0..1),
        Err(EngineError::BadIntervention(_))
    ));
}

#[test]
fn prefix_rerun_equals_full_run() {
    let (q, k, v) = qkv(2, 1, 6, 4);
    let ko = [4usize];
    let spec = AttentionSpec {
        causal: true,
        knockout: &ko,
        ..AttentionSpec::new(0.5)
    };
    let full = attention(&q, &k, &v, &spec).unwrap();
    let base = attention(
        &q,
        &k,
        &v,
        &AttentionSpec {
            causal: true,
            ..AttentionSpec::new(0.5)
        },
    )
    .unwrap();
    let past = base.record.prefix(3);
    let spec = AttentionSpec {
        past: Some(&past),
        ..spec
    };
    let part = attention(
        &q.narrow(1, 3, 3),
        &k.narrow(1, 3, 3),
        &v.narrow(1, 3, 3),
        &spec,
    )
    .unwrap();
    assert!(max_diff(&part.context, &full.context.narrow(0, 3, 3)) < 1e-5);
    assert!(max_diff(&all_probs(&part), &all_probs(&full)) < 1e-6);
}

#[test]
fn the_fused_path_equals_the_explicit_one() {
    let (q, k, v) = qkv(4, 2, 9, 8);
    let ko = [2usize, 6];
    let ab = [1usize];
    for spec in [
        AttentionSpec::new(0.3),
        AttentionSpec {
            causal: true,
            ..AttentionSpec::new(0.3)
        },
        AttentionSpec {
            causal: true,
            knockout: &ko,
            ablate_heads: &ab,
            ..AttentionSpec::new(0.3)
        },
        AttentionSpec {
            causal: true,
            sliding_window: Some(3),
            knockout: &ko[..1],
            ..AttentionSpec::new(0.3)
        },
        AttentionSpec {
            causal: true,
            knockout: &[0],
            ..AttentionSpec::new(0.3)
        },
    ] {
        let eager = attention_with(&q, &k, &v, &spec, i64::MAX).unwrap();
        let fused = attention_with(&q, &k, &v, &spec, 0).unwrap();
        assert!(eager.record.probs.is_some() && fused.record.probs.is_none());
        assert!(max_diff(&eager.context, &fused.context) < 1e-5, "{spec:?}");
        assert!(
            max_diff(&all_probs(&eager), &all_probs(&fused)) < 1e-6,
            "{spec:?}"
        );
        // A re-run from position 5 (fused and explicit), reusing the prefix of an explicit run
        // whose knock-outs before 5 are the same.
        let early: Vec<usize> = spec.knockout.iter().copied().filter(|&j| j < 5).collect();
        let base = attention_with(
            &q,
            &k,
            &v,
            &AttentionSpec {
                knockout: &early,
                past: None,
                ..spec
            },
            i64::MAX,
        )
        .unwrap();
        if spec.causal {
            let past = base.record.prefix(5);
            let part = AttentionSpec {
                past: Some(&past),
                ..spec
            };
            let (q2, k2, v2) = (q.narrow(1, 5, 4), k.narrow(1, 5, 4), v.narrow(1, 5, 4));
            for limit in [0, i64::MAX] {
                let r = attention_with(&q2, &k2, &v2, &part, limit).unwrap();
                assert!(
                    max_diff(&r.context, &eager.context.narrow(0, 5, 4)) < 1e-5,
                    "{spec:?} limit {limit}"
                );
                assert!(
                    max_diff(&all_probs(&r), &all_probs(&eager)) < 1e-6,
                    "{spec:?} limit {limit}"
                );
            }
        }
    }
}

#[test]
fn softcap_takes_the_explicit_path() {
    let (q, k, v) = qkv(2, 2, 5, 3);
    let spec = AttentionSpec {
        causal: true,
        softcap: Some(2.0),
        ..AttentionSpec::new(1.0)
    };
    let out = attention(&q, &k, &v, &spec).unwrap();
    let probs = all_probs(&out);
    let ctx = probs.matmul(&v).transpose(0, 1).reshape([5, 6]);
    assert!(max_diff(&out.context, &ctx) < 1e-6);
}

#[test]
fn pooling_max_and_mean() {
    let p = Tensor::arange(16, (Kind::Float, Device::Cpu)).reshape([1, 4, 4]);
    let zeros = || Tensor::zeros([1, 2, 2], (Kind::Float, Device::Cpu));
    let (mut out, mut counts) = (zeros(), Tensor::zeros([2, 2], (Kind::Float, Device::Cpu)));
    pool_rows_into(&p, 0, 4, 2, false, &mut out, &mut counts);
    assert_eq!(vals(&out), vec![5.0, 7.0, 13.0, 15.0]);
    let mut out = zeros();
    pool_rows_into(&p.narrow(1, 0, 2), 0, 4, 2, true, &mut out, &mut counts);
    pool_rows_into(&p.narrow(1, 2, 2), 2, 4, 2, true, &mut out, &mut counts);
    assert_eq!(vals(&(out / &counts)), vec![2.5, 4.5, 10.5, 12.5]);
    // Uneven bins (T = 5 into 2: cells 0-2 and 3-4), max.
    let p = Tensor::arange(25, (Kind::Float, Device::Cpu)).reshape([1, 5, 5]);
    let mut out = zeros();
    pool_rows_into(&p, 0, 5, 2, false, &mut out, &mut counts);
    assert_eq!(vals(&out), vec![12.0, 14.0, 22.0, 24.0]);
    // The same in two row blocks that split a bin, and with only the visible (causal) keys.
    let mut out = zeros();
    pool_rows_into(&p.narrow(1, 0, 2), 0, 5, 2, false, &mut out, &mut counts);
    pool_rows_into(&p.narrow(1, 2, 3), 2, 5, 2, false, &mut out, &mut counts);
    assert_eq!(vals(&out), vec![12.0, 14.0, 22.0, 24.0]);
    let mut out = zeros();
    pool_rows_into(
        &p.narrow(1, 0, 2).narrow(2, 0, 2),
        0,
        5,
        2,
        false,
        &mut out,
        &mut counts,
    );
    assert_eq!(vals(&out), vec![6.0, 0.0, 0.0, 0.0]);
}

#[test]
fn pooled_bins_match_the_widgets_shared_vectors() {
    let v: serde_json::Value =
        serde_json::from_str(include_str!("../../../../widget/test/vectors/bins.json")).unwrap();
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    let n = |c: &serde_json::Value, k: &str| c[k].as_i64().unwrap();
    for c in cases {
        let (b, p, t) = (n(c, "b"), n(c, "P"), n(c, "T"));
        // Bin b covers bin_start(b) .. bin_start(b + 1) - 1 (an empty bin, P > T, has none).
        let (lo, end) = (bin_start(b, t, p), bin_start(b + 1, t, p).min(t));
        assert_eq!(lo, n(c, "lo"), "{c}");
        if end > lo {
            assert_eq!(end - 1, n(c, "hi"), "{c}");
        }
    }
}
