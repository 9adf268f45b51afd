//! casbin-rs and cedar-policy, each with its own hand-written copy of the policy, answer
//! exactly as Hubkeep's matrix does on the whole input space.

use hubkeep_bench::peers::{all_inputs, engines, hubkeep_decide, mismatches};

#[test]
fn peers_agree_with_the_matrix_on_every_input() {
    let (casbin, cedar) = engines().expect("the casbin enforcer and the Cedar policy load");

    let inputs = all_inputs();
    // 3 access levels × 16 role sets × 4 kinds × (13 hub + 20 connection actions).
    assert_eq!(inputs.len(), 3 * 16 * 4 * (13 + 20));
    let allowed = inputs.iter().filter(|i| hubkeep_decide(i)).count();
    assert!(
        allowed > 0 && allowed < inputs.len(),
        "both answers occur ({allowed} of {} allowed)",
        inputs.len()
    );

    let wrong = mismatches(&casbin, &cedar, &inputs);
    assert!(
        wrong.is_empty(),
        "{} of {} inputs disagree:\n{}",
        wrong.len(),
        inputs.len(),
        wrong.join("\n")
    );
}
