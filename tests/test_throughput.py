"""The grading benchmark's ratios (`casebook bench-grading`); its runs grade real classes and
are a benchmark, not a test."""

from casebook.course.throughput import ratios


def test_the_ratios_give_the_clusters_cost_per_submission_and_each_ways_speed_up():
    rates = {("processes", 1): 10.0, ("cluster", 1): 9.5, ("processes", 2): 18.0}
    rates[("cluster", 2)] = 16.0
    lines = ratios(rates)
    # 60/9.5 - 60/10 = 0.32 s more per submission; 10/9.5 = 1.053x the time
    assert "cluster vs processes, jobs=1: 1.053x the time, +0.32 s per submission (+5.3%)" in lines
    assert "cluster vs processes, jobs=2: 1.125x the time, +0.42 s per submission (+12.5%)" in lines
    assert "processes: 2 workers grade 1.80x the submissions per minute of 1" in lines
    assert "cluster: 2 workers grade 1.68x the submissions per minute of 1" in lines


def test_without_the_cluster_only_the_speed_up_is_given():
    assert ratios({("processes", 1): 10.0, ("processes", 4): 30.0}) == [
        "processes: 4 workers grade 3.00x the submissions per minute of 1"
    ]
