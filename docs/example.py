"""fanout from Python, as in a notebook: a 1,000-job batch and an eval, on the simulator.

Run it with `python docs/example.py` (tests/face/test_docs.py does, in a scratch folder).
Drop `sim=True` and set TOGETHER_API_KEY to do the same against Together.
"""

import fanout

jobs = [{"custom_id": f"q{i}", "messages": [{"role": "user", "content": f"Tell me about {i}."}]}
        for i in range(1000)]
run = fanout.run_batch(jobs, model="meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo", sim=True)
print(f"run {run.id}: {run.counts.succeeded} of {run.counts.total} succeeded, "
      f"${run.cost:.4f}, results in {run.out_path}")

ev = fanout.evaluate("arithmetic", ["Qwen/Qwen3-235B-A22B-Instruct-2507-tput",
                                    "Qwen/Qwen3-235B-A22B-Thinking-2507"], sim=True)
for s in ev.scores:
    acc = s.accuracy()
    print(f"{s.model}: {acc.mean:.1%} [{acc.ci_low:.1%}, {acc.ci_high:.1%}] on {s.n} items")
print("difference:", fanout.compare(*ev.scores).to_json()["diff"], "report:", ev.report_path)
