// EngineModel with the plas policy (Autellix PLAS, docs/peer-autellix.md): queues by program
// attained service, FCFS within a queue, quantum demotion, anti-starvation promotion and the
// batch re-formed by priority at every scheduler pass. Same conventions as
// engine_model_test.cc: tiny_profile(), every step T = 0.125 s, times exact.
#include <gtest/gtest.h>

#include "engine/engine_test_util.h"
#include "engine/plas.h"

namespace agentsched {
namespace {

using testing::blocks;
using testing::EngineDriver;
using testing::kStep;
using testing::tiny_profile;

std::unique_ptr<EnginePolicy> plas(PlasParams p) {
  return std::make_unique<PlasPolicy>(p);
}

PlasParams params(double queues, double quantum_s, double beta, double pass_steps = 1) {
  PlasParams p;
  p.queues = queues;
  p.quantum_s = quantum_s;
  p.quantum_ratio = 2;
  p.beta = beta;
  p.pass_steps = pass_steps;
  return p;
}

const PlasPolicy& policy_of(EngineDriver& d) {
  return static_cast<const PlasPolicy&>(d.engine().policy());
}

TEST(Plas, QueuesByAttainedServiceWithGeometricQuanta) {
  // Quanta 0.25, 0.5, 1: Q1 holds S < 0.25, Q2 S < 0.75, Q3 the rest.
  const PlasPolicy p(params(3, 0.25, 0));
  EXPECT_EQ(p.quantum(0), 0.25);
  EXPECT_EQ(p.quantum(1), 0.5);
  EXPECT_EQ(p.quantum(2), 1.0);
  EXPECT_EQ(p.level_for_service(0), 0);
  EXPECT_EQ(p.level_for_service(0.2499), 0);
  EXPECT_EQ(p.level_for_service(0.25), 1);
  EXPECT_EQ(p.level_for_service(0.7499), 1);
  EXPECT_EQ(p.level_for_service(0.75), 2);
  EXPECT_EQ(p.level_for_service(1e6), 2);
  // One queue: everything in Q1 (plain FCFS).
  EXPECT_EQ(PlasPolicy(params(1, 0.25, 0)).level_for_service(1e6), 0);
}

// One sequence at a time. a1 (program 1, 4 outputs) runs steps 1-4: S(1) = 4T = 0.5, Q2.
// At 0.5 a2 (program 1) and then b1 (program 2, S = 0, Q1) arrive.
std::vector<RequestId> service_order(std::unique_ptr<EnginePolicy> policy) {
  EngineDriver d(tiny_profile(/*max_num_seqs=*/1), std::move(policy), blocks(64));
  d.add({.id = 1, .program_key = 1, .prompt_tokens = 16, .output_tokens = 4});
  d.run_until_idle();
  EXPECT_EQ(d.now(), 4 * kStep);
  d.add({.id = 2, .program_key = 1, .prompt_tokens = 16, .output_tokens = 1});
  d.add({.id = 3, .program_key = 2, .prompt_tokens = 16, .output_tokens = 1});
  d.run_until_idle();
  return d.finish_order();
}

TEST(Plas, LeastAttainedServiceFirstAcrossPrograms) {
  EXPECT_EQ(service_order(plas(params(3, 0.25, 0))), (std::vector<RequestId>{1, 3, 2}));
  // vLLM serves by arrival.
  EXPECT_EQ(service_order(testing::policy_named("fcfs")), (std::vector<RequestId>{1, 2, 3}));
}

TEST(Plas, AttainedServiceAndWaitArePerProgram) {
  EngineDriver d(tiny_profile(/*max_num_seqs=*/1), plas(params(3, 0.25, 0)), blocks(64));
  d.add({.id = 1, .program_key = 7, .prompt_tokens = 16, .output_tokens = 2});
  d.add({.id = 2, .program_key = 8, .prompt_tokens = 16, .output_tokens = 1});
  d.run_until_idle();
  // Program 7 ran 2 steps without waiting; program 8 waited those 2 steps and ran 1.
  EXPECT_EQ(policy_of(d).attained_service(7), 2 * kStep);
  EXPECT_EQ(policy_of(d).program_wait(7), 0);
  EXPECT_EQ(policy_of(d).attained_service(8), kStep);
  EXPECT_EQ(policy_of(d).program_wait(8), 2 * kStep);
  // A new call of program 7 (S = 0.25) enters Q2.
  d.add({.id = 3, .program_key = 7, .prompt_tokens = 16, .output_tokens = 1});
  EXPECT_EQ(policy_of(d).level_of(3), 1);
  d.run_until_idle();
  EXPECT_EQ(policy_of(d).level_of(3), -1);  // forgotten once finished
}

// The batch re-formed by priority: one sequence at a time; a2 (program 1, S = 0.5, Q2, 8
// outputs) runs from 0.5; b1 (program 2, Q1) arrives at 0.625. At the pass that starts
// step 6, b1 outranks a2 and the batch is full: a2 is preempted (recompute), b1 runs step 6.
TEST(Plas, PreemptsALowerQueueCallForAWaitingHigherOne) {
  EngineDriver d(tiny_profile(/*max_num_seqs=*/1), plas(params(3, 0.25, 0)), blocks(64));
  d.add({.id = 1, .program_key = 1, .prompt_tokens = 16, .output_tokens = 4});
  d.run_until_idle();
  d.add({.id = 2, .program_key = 1, .prompt_tokens = 16, .output_tokens = 8});
  d.steps(1);
  EXPECT_EQ(d.now(), 5 * kStep);
  d.add({.id = 3, .program_key = 2, .prompt_tokens = 16, .output_tokens = 1});
  d.run_until_idle();
  EXPECT_EQ(d.finished(3).timeline.finished, 6 * kStep);
  EXPECT_EQ(d.finished(2).timeline.preemptions, 1);
  EXPECT_DOUBLE_EQ(d.engine().counters().priority_preemptions, 1);
  // a2 comes back at step 7 with its 16-token block still cached (1 token to compute), then
  // decodes outputs 3..8 in steps 8..13.
  EXPECT_EQ(d.finished(2).timeline.finished, 13 * kStep);
}

TEST(Plas, FcfsNeverPreemptsForAWaitingRequest) {
  EngineDriver d(tiny_profile(/*max_num_seqs=*/1), "fcfs", blocks(64));
  d.add({.id = 1, .program_key = 1, .prompt_tokens = 16, .output_tokens = 4});
  d.run_until_idle();
  d.add({.id = 2, .program_key = 1, .prompt_tokens = 16, .output_tokens = 8});
  d.steps(1);
  d.add({.id = 3, .program_key = 2, .prompt_tokens = 16, .output_tokens = 1});
  d.run_until_idle();
  EXPECT_EQ(d.finished(2).timeline.finished, 12 * kStep);
  EXPECT_EQ(d.finished(3).timeline.finished, 13 * kStep);
  EXPECT_DOUBLE_EQ(d.engine().counters().priority_preemptions, 0);
}

// Quantum: Q1's quantum is 0.25 = 2 steps. c1 (program 1) runs from 0; b1 (program 2)
// arrives at T. At the pass of step 2, c1 (Q1, earlier) still outranks b1 (Q1): FCFS within
// a queue. At the pass of step 3, c1 has used 0.25 and drops to Q2: b1 preempts it.
TEST(Plas, ACallThatUsedItsQuantumDropsOneQueue) {
  EngineDriver d(tiny_profile(/*max_num_seqs=*/1), plas(params(3, 0.25, 0)), blocks(64));
  d.add({.id = 1, .program_key = 1, .prompt_tokens = 16, .output_tokens = 10});
  d.steps(1);
  d.add({.id = 2, .program_key = 2, .prompt_tokens = 16, .output_tokens = 1});
  d.steps(1);
  EXPECT_EQ(policy_of(d).level_of(1), 0);
  EXPECT_DOUBLE_EQ(d.engine().counters().priority_preemptions, 0);
  d.steps(1);
  EXPECT_EQ(policy_of(d).level_of(1), 1);
  EXPECT_EQ(policy_of(d).plas_stats().demotions, 1);
  ASSERT_TRUE(d.is_finished(2));
  EXPECT_EQ(d.finished(2).timeline.finished, 3 * kStep);
  EXPECT_DOUBLE_EQ(d.engine().counters().priority_preemptions, 1);
}

// Anti-starvation with beta = 2 and two queues (Q1: S < 0.125). a1 (program 1, 2 outputs)
// makes S(1) = 0.25: Q2. At 0.25, b1 (program 2, 8 outputs) and then a2 (program 1) arrive;
// b1 runs (Q1) and drops to Q2 after one step, still ahead of a2 by arrival. a2's ratio
// (W + wait) / (S + served) = wait / 0.25 reaches 2 at 0.75, the pass of step 7: a2 moves
// to Q1, preempts b1 and finishes at 7T.
Seconds starved_call_finish(double beta) {
  EngineDriver d(tiny_profile(/*max_num_seqs=*/1), plas(params(2, 0.125, beta)), blocks(64));
  d.add({.id = 1, .program_key = 1, .prompt_tokens = 16, .output_tokens = 2});
  d.run_until_idle();
  EXPECT_EQ(d.now(), 0.25);
  d.add({.id = 3, .program_key = 2, .prompt_tokens = 16, .output_tokens = 8});
  d.add({.id = 2, .program_key = 1, .prompt_tokens = 16, .output_tokens = 1});
  d.run_until_idle();
  EXPECT_EQ(policy_of(d).plas_stats().promotions, beta > 0 ? 1 : 0);
  EXPECT_EQ(d.finished(3).timeline.preemptions, beta > 0 ? 1 : 0);
  return d.finished(2).timeline.finished;
}

TEST(Plas, StarvingProgramsArePromotedToTheFirstQueue) {
  EXPECT_EQ(starved_call_finish(2), 7 * kStep);
  // Without promotion a2 waits for b1's 8 steps (3..10).
  EXPECT_EQ(starved_call_finish(0), 11 * kStep);
}

TEST(Plas, PassesEveryNSteps) {
  EngineDriver d(tiny_profile(), plas(params(3, 0.25, 0, /*pass_steps=*/3)), blocks(64));
  d.add({.id = 1, .program_key = 1, .prompt_tokens = 16, .output_tokens = 7});
  d.run_until_idle();
  // Steps 1..7: passes at 1, 4, 7.
  EXPECT_EQ(policy_of(d).plas_stats().passes, 3);
}

TEST(Plas, ParametersAreNamedAndValidated) {
  EXPECT_TRUE(make_engine_policy("plas", EnginePolicyParams{{"beta", 2}, {"queues", 3}}));
  auto unknown = make_engine_policy("plas", EnginePolicyParams{{"quanta", 2}});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message,
            "engine policy 'plas' has no parameter 'quanta' (parameters: queues, quantum_s, "
            "quantum_ratio, beta, pass_steps)");
  for (const auto& [name, value] :
       std::vector<std::pair<std::string, double>>{{"queues", 0},
                                                   {"queues", 2.5},
                                                   {"quantum_s", 0},
                                                   {"quantum_ratio", 0.5},
                                                   {"beta", -1},
                                                   {"pass_steps", 0},
                                                   {"pass_steps", 1.5}}) {
    auto bad = make_engine_policy("plas", EnginePolicyParams{{name, value}});
    ASSERT_FALSE(bad) << name << "=" << value;
    EXPECT_NE(bad.error().message.find("plas parameter '" + name + "'"), std::string::npos)
        << bad.error().message;
  }
  auto fcfs = make_engine_policy("fcfs", EnginePolicyParams{{"beta", 2}});
  ASSERT_FALSE(fcfs);
  EXPECT_EQ(fcfs.error().message,
            "engine policy 'fcfs' has no parameter 'beta' (parameters: none)");
  // Every parameter documented with its default.
  const auto described = describe_params<PlasParams>();
  ASSERT_EQ(described.size(), 5u);
  EXPECT_EQ(std::get<0>(described[3]), "beta");
  EXPECT_EQ(std::get<1>(described[3]), PlasParams{}.beta);
}

}  // namespace
}  // namespace agentsched
