import pytest

from sibling_sentinel.config import Config
from sibling_sentinel.errors import ConfigError


def test_defaults_without_environment() -> None:
    config = Config.from_env({})
    assert config.min_listing_bytes == 64
    assert config.grace_seconds == 7200
    assert config.threshold == 0
    assert config.group_depth == 1
    assert ".tar.zst" in config.tarball_extensions


def test_environment_is_read_into_typed_fields() -> None:
    # given the variables template.yaml sets
    env = {
        "BACKUP_BUCKET": "b",
        "BACKUP_PREFIX": "backups",
        "MIN_LISTING_BYTES": "128",
        "GRACE_SECONDS": "60",
        "PROBLEM_THRESHOLD": "3",
        "CHECK_DELAY_SECONDS": "900",
        "TARBALL_EXTENSIONS": ".tar, .dump",
    }
    # when read
    config = Config.from_env(env)
    # then each is typed, and the prefix is a folder
    assert (config.bucket, config.prefix) == ("b", "backups/")
    assert config.min_listing_bytes == 128
    assert config.grace_seconds == 60
    assert config.threshold == 3
    assert config.check_delay_seconds == 900
    assert config.tarball_extensions == (".tar", ".dump")


def test_flags_beat_environment_and_unset_flags_keep_it() -> None:
    config = Config.from_env({"PROBLEM_THRESHOLD": "3", "GRACE_SECONDS": "60"})
    overridden = config.with_overrides(threshold=10, grace_seconds=None)
    assert overridden.threshold == 10
    assert overridden.grace_seconds == 60


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"PROBLEM_THRESHOLD": "abc"}, "PROBLEM_THRESHOLD"),
        ({"MIN_LISTING_BYTES": "-1"}, "MIN_LISTING_BYTES"),
        ({"CHECK_DELAY_SECONDS": "901"}, "CHECK_DELAY_SECONDS"),
        ({"SWEEP_CONCURRENCY": "0"}, "SWEEP_CONCURRENCY"),
        ({"TARBALL_EXTENSIONS": "tar"}, "TARBALL_EXTENSIONS"),
    ],
)
def test_bad_values_fail_with_the_variable_name(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        Config.from_env(env)


def test_require_names_the_missing_variable() -> None:
    with pytest.raises(ConfigError, match="CHECK_QUEUE_URL"):
        Config.from_env({}).require("check_queue_url")
    Config.from_env({"CHECK_QUEUE_URL": "q"}).require("check_queue_url")


def test_prefix_is_treated_as_a_folder() -> None:
    assert Config(prefix="backups").prefix == "backups/"
    assert Config(prefix="/backups/").prefix == "backups/"
    assert Config(prefix="").prefix == ""


def test_policy_carries_the_configured_listing_rule_and_grace() -> None:
    policy = Config(min_listing_bytes=10, grace_seconds=5).policy()
    assert policy.rules[0].min_bytes == 10
    assert policy.grace_s == 5
    assert Config().policy(grace_seconds=0).grace_s == 0


def test_a_deadline_that_needs_more_checks_than_lambda_allows_is_refused() -> None:
    # given a delay of 300 s: 14 checks reach at most 300 + 13 x 900 = 12,000 s
    assert Config(check_delay_seconds=300, check_deadline_seconds=12_000).check_deadline_seconds == 12_000
    # then one second more would need a 15th check, which Lambda's loop detection could drop silently
    with pytest.raises(ConfigError, match=r"CHECK_DEADLINE_SECONDS.*at most 12000"):
        Config(check_delay_seconds=300, check_deadline_seconds=12_001)


def test_sweep_concurrency_defaults_to_16_and_reads_sweep_concurrency() -> None:
    # given no setting, then SWEEP_CONCURRENCY=32
    # when each is read
    # then the default is 16 workers, and the variable sets it
    assert Config.from_env({}).concurrency == 16
    assert Config.from_env({"SWEEP_CONCURRENCY": "32"}).concurrency == 32


@pytest.mark.parametrize(
    ("processes", "concurrency", "cpus", "expected"),
    [
        (0, 16, 2, 2),  # the default: one per usable CPU
        (0, 16, 1, 1),  # one CPU: no worker processes
        (0, 16, 32, 8),  # many CPUs: each worker still keeps two listings in flight
        (0, 3, 8, 1),  # too few listings at once to share: no worker processes
        (3, 16, 2, 3),  # asked for: taken, whatever the CPU count
        (8, 4, 2, 4),  # asked for more than the listings at once: one listing each
        (1, 16, 8, 1),  # 1: the sweep stays in this process
    ],
)
def test_sweep_processes_are_one_per_cpu_unless_set_and_never_more_than_the_concurrency(
    processes: int, concurrency: int, cpus: int, expected: int
) -> None:
    # given --processes and --concurrency, on a machine with `cpus` usable CPUs
    config = Config(processes=processes, concurrency=concurrency)
    # when the sweep asks how many worker processes to start
    # then it gets the expected number
    assert config.sweep_processes(cpus) == expected


@pytest.mark.parametrize("processes", [-1, 65])
def test_processes_out_of_range_are_refused_by_flag_name(processes: int) -> None:
    with pytest.raises(ConfigError, match=r"--processes must be between 0 \(one per CPU\) and 64"):
        Config(processes=processes)


def test_processes_are_the_clis_alone_and_read_from_no_environment_variable() -> None:
    # given a variable that looks like it would set them
    # when the environment is read
    # then nothing sets the worker processes: FullSweep lists one stream, so that it can pause
    assert Config.from_env({"SWEEP_PROCESSES": "4"}).processes == 0
