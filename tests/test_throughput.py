"""The grading benchmark's ratios (`casebook bench-grading`); its runs grade real classes and
are a benchmark, not a test."""

import pytest

from casebook.course.throughput import ratio_lines, ratios, start_up_lines, unexpected

RATES = {("processes", 1): 10.0, ("cluster", 1): 9.5, ("processes", 2): 18.0, ("cluster", 2): 16.0}


def test_the_ratios_give_the_clusters_time_and_each_ways_speed_up():
    assert ratios(RATES) == {
        "cluster time over processes, 1 worker(s)": pytest.approx(10 / 9.5),
        "cluster time over processes, 2 worker(s)": pytest.approx(18 / 16),
        "cluster: 2 workers over 1": pytest.approx(16 / 9.5),
        "processes: 2 workers over 1": pytest.approx(1.8),
    }


def test_the_printed_lines_give_the_clusters_cost_per_submission():
    lines = ratio_lines(RATES)
    assert "cluster time over processes, 1 worker(s): 1.053x" in lines
    # 60/9.5 - 60/10 = 0.32 s more per submission
    assert "the cluster costs +0.32 s per submission, 1 worker(s)" in lines
    assert "the cluster costs +0.42 s per submission, 2 worker(s)" in lines


def test_the_clusters_start_up_is_taken_out_of_its_cost_per_submission():
    # 2 workers: +0.42 s per submission, of which a 4 s start-up over 20 submissions is 0.20 s
    assert start_up_lines(RATES, {("cluster", 2): 4.0}, students=20) == [
        "of it the cluster's start-up (4.0 s) is 0.20 s a submission here: "
        "+0.22 s per submission after it, 2 worker(s)"
    ]
    assert start_up_lines({("cluster", 2): 16.0}, {("cluster", 2): 4.0}, students=20) == []


def test_without_the_cluster_only_the_speed_up_is_given():
    assert ratios({("processes", 1): 10.0, ("processes", 4): 30.0}) == {
        "processes: 4 workers over 1": 3.0
    }


def test_the_writers_line_gives_its_cost_and_the_rate_it_caps_grading_at():
    from casebook.course.grade import writer_line

    assert writer_line([0.1, 0.3]) == (
        "the gradebook writer took 200 ms a submission: it keeps up with at most "
        "300 submissions/minute"
    )


def row(student, status, score, reason=""):
    return {
        "student": student,
        "status": status,
        "score": score,
        "max_score": "10",
        "reason": reason,
    }


def test_a_submission_not_graded_as_its_kind_is_named_with_its_reason():
    # students 0, 1, 2, 3 submit the solution, the untouched release, a wrong one, a broken file
    right = [
        row("student000", "graded", "10"),
        row("student001", "graded", "0"),
        row("student002", "graded", "4"),
        row("student003", "error", "0", "not a notebook"),
    ]
    assert unexpected(right) == []
    died = row("student004", "error", "0", "the grader failed: the kernel died")
    assert unexpected([*right, died]) == [
        "student004 (correct): error 0/10 the grader failed: the kernel died"
    ]
    assert unexpected([row("student006", "graded", "10")]) == ["student006 (wrong): graded 10/10"]
