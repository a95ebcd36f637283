import pytest

from sim.resources import ResourceError, check_memory, estimated_peak_mb


def _cfg(n, replicates=1):
    return {"population": {"n": n}, "replicates": replicates}


def test_estimate_grows_with_people_and_matches_measurements():
    assert estimated_peak_mb(_cfg(1_000_000)) > estimated_peak_mb(_cfg(100_000))
    assert estimated_peak_mb(_cfg(500_000, 2)) == estimated_peak_mb(_cfg(1_000_000))
    # measured peak at 1M people was 520 MB; the estimate must not be below it
    assert 520 <= estimated_peak_mb(_cfg(1_000_000)) <= 1500


def test_refuses_up_front_with_an_estimate():
    check_memory(_cfg(1_000_000), available=8_000)
    with pytest.raises(ResourceError) as info:
        check_memory(_cfg(30_000_000, 3), available=8_000)
    message = str(info.value)
    assert "90,000,000 people" in message and "GB" in message and "\n" not in message


def test_cli_refuses_too_large_population(run_cli, tmp_path):
    out = tmp_path / "run"
    result = run_cli("population.n=50000000", "replicates=100", f"hydra.run.dir={out}")
    assert result.returncode == 2
    assert "people would need about" in result.stderr
    assert not out.exists()
