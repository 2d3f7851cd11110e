"""The bounded pool: a job's failure stays with it, and concurrency is bounded."""



from ansible_collections.orgiam.aws.plugins.module_utils.apply.executor import run_all
from ansible_collections.orgiam.aws.plugins.module_utils.catalog import RoleDef

RO = RoleDef(name="ReadOnly", source="r.yml:1", managed_policies=("ReadOnlyAccess", "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"))



def test_executor_keeps_failures_to_their_job_and_bounds_concurrency():
    import threading

    active, peak, lock = [0], [0], threading.Lock()
    gate = threading.Barrier(3)

    def work(n):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        try:
            if n < 3:
                gate.wait(timeout=5)  # three jobs are in flight together
            if n % 4 == 0:
                raise RuntimeError(f"boom {n}")
            return ("ok", n)
        finally:
            with lock:
                active[0] -= 1

    seen = []
    results = run_all(range(10), work, lambda n, e: ("failed", n, str(e)), concurrency=3, on_done=seen.append)
    assert sorted(r[1] for r in results) == list(range(10))
    assert sorted(r[1] for r in results if r[0] == "failed") == [0, 4, 8]
    assert peak[0] == 3 and len(seen) == 10
