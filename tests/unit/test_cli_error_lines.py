"""The CLI's one-line errors, in-process: the translation of S3's region answers, the checks made before
anything is listed, and the closed-pipe path. The same messages are asserted end to end in tests/e2e."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from sibling_sentinel.adapters.errors import translate
from sibling_sentinel.cli import main as cli
from sibling_sentinel.errors import StorageError, WrongRegionError


def s3_error(code: str, status: int, region: str = "", in_body: str = "") -> ClientError:
    headers = {"x-amz-bucket-region": region} if region else {}
    error = {"Code": code, "Message": "m", **({"Region": in_body} if in_body else {})}
    response = {"Error": error, "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": headers}}
    return ClientError(response, "ListObjectsV2")  # type: ignore[arg-type]


def test_a_permanent_redirect_names_the_buckets_region() -> None:
    # given S3's 301 for a bucket in eu-west-1
    # when it is translated
    error = translate(s3_error("PermanentRedirect", 301, region="eu-west-1"), "listing s3://b/p/")

    # then it is a wrong-region error naming it
    assert isinstance(error, WrongRegionError)
    assert str(error) == (
        "listing s3://b/p/: the bucket is in region eu-west-1; "
        "use --region eu-west-1 (or AWS_REGION=eu-west-1)"
    )


def test_a_malformed_authorization_header_names_the_region_s3_expected() -> None:
    # given S3's 400 for a request signed for the wrong region, which names the region in its body
    # when it is translated
    error = translate(
        s3_error("AuthorizationHeaderMalformed", 400, in_body="ap-south-1"), "listing s3://b/p/"
    )

    # then that region is named
    assert isinstance(error, WrongRegionError)
    assert "use --region ap-south-1" in str(error)


def test_a_redirect_that_names_no_region_still_says_it_is_another_one() -> None:
    # given a 301 without the region header
    # when it is translated
    error = translate(s3_error("PermanentRedirect", 301), "listing s3://b/p/")

    # then it says so, without guessing
    assert isinstance(error, WrongRegionError)
    assert str(error) == "listing s3://b/p/: the bucket is in another region, and S3 did not say which"


def test_a_malformed_header_with_no_region_is_not_a_region_error() -> None:
    # given an AuthorizationHeaderMalformed that names no region (an S3-compatible server's)
    # when it is translated
    error = translate(s3_error("AuthorizationHeaderMalformed", 400), "listing s3://b/p/")

    # then it stays a storage error with its code
    assert type(error) is StorageError
    assert "AuthorizationHeaderMalformed" in str(error)


@pytest.mark.parametrize(
    "name",
    ["backups", "my.backups-2026", "Legacy_Bucket", "arn:aws:s3:eu-west-1:123456789012:accesspoint/ap"],
)
def test_bucket_names_s3_accepts_pass(name: str) -> None:
    # given a bucket name botocore accepts
    # when it is checked
    # then nothing is raised
    cli.check_bucket_name(name)


@pytest.mark.parametrize("name", ["my bucket", "a/b", "b\u00fccket", ""])
def test_bucket_names_s3_refuses_are_a_usage_error(name: str) -> None:
    # given a bucket name botocore would refuse with its regex
    # when it is checked
    # then it is a ConfigError naming it
    with pytest.raises(cli.ConfigError, match=r"is not an S3 bucket name"):
        cli.check_bucket_name(name)


def test_profile_and_region_flags_override_the_environment_only_for_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given AWS_PROFILE set to one profile
    monkeypatch.setenv("AWS_PROFILE", "default-one")
    monkeypatch.delenv("AWS_REGION", raising=False)
    args = cli._parser().parse_args(["sweep", "s3://b/p/", "--profile", "other", "--region", "eu-west-1"])

    # when the run's overrides are in force, and after
    with cli._aws_overrides(args):
        inside = (
            cli.os.environ["AWS_PROFILE"],
            cli.os.environ["AWS_REGION"],
            cli.os.environ["AWS_DEFAULT_REGION"],
        )
    after = (cli.os.environ.get("AWS_PROFILE"), cli.os.environ.get("AWS_REGION"))

    # then the flags win inside, and the environment is as it was after
    assert inside == ("other", "eu-west-1", "eu-west-1")
    assert after == ("default-one", None)


def test_a_closed_stdout_exits_141_with_nothing_on_stderr(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a stdout whose reader has gone
    class Closed(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    def writes(out: io.StringIO, **kwargs: object) -> int:
        out.write("sibling-sentinel demo: ...\n")
        return 0

    monkeypatch.setattr("sys.stdout", Closed())
    monkeypatch.setattr("sibling_sentinel.cli.demo.run_demo", writes)

    # when a command writes to it
    code = cli.main(["demo"])

    # then it exits 141 quietly
    assert code == cli.EXIT_CLOSED_PIPE == 141
    assert capsys.readouterr().err == ""


def test_a_broken_pipe_elsewhere_is_an_error_not_a_quiet_exit(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a command that meets a broken pipe that is not stdout's (a worker process's, say)
    def broken(*args: object, **kwargs: object) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr("sibling_sentinel.cli.demo.run_demo", broken)

    # when it runs
    code = cli.main(["demo"])

    # then it could not complete, and says so
    assert code == 3
    assert (
        capsys.readouterr().err
        == "sibling-sentinel: could not complete: internal error: BrokenPipeError: [Errno 32] Broken pipe\n"
    )


def test_the_short_usage_names_the_commands_positionals(tmp_path: Path) -> None:
    # given the sweep command's parser
    parser = cli._parser()
    sweep = parser._subparsers._group_actions[0].choices["sweep"]  # type: ignore[union-attr]

    # when its short usage is made
    # then it is one line with its positional
    assert cli.short_usage(sweep) == "sibling-sentinel sweep [options] s3://BUCKET/PREFIX"


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """An AWS environment with nothing in it: no variables, no files, no instance metadata."""
    for name in list(cli.os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    env = {
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def test_no_credentials_anywhere_is_a_usage_error_that_lists_where_it_looked(no_aws: dict[str, str]) -> None:
    # given no credentials anywhere
    # when the AWS setup is checked
    # then it says where it looked
    with pytest.raises(cli.ConfigError, match=r"^no AWS credentials found: looked in AWS_ACCESS_KEY_ID"):
        cli.check_aws_setup(cli.os.environ)


def test_an_unknown_profile_is_named(no_aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    # given a profile that no file defines
    monkeypatch.setenv("AWS_PROFILE", "prod")

    # when the AWS setup is checked
    # then the profile is named
    with pytest.raises(
        cli.ConfigError, match=r"^the AWS profile 'prod' \(--profile or AWS_PROFILE\) is not in"
    ):
        cli.check_aws_setup(cli.os.environ)


def test_credentials_in_a_profile_file_pass(no_aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    # given a profile with credentials in the shared credentials file
    Path(no_aws["AWS_SHARED_CREDENTIALS_FILE"]).write_text(
        "[ci]\naws_access_key_id = a\naws_secret_access_key = b\n"
    )
    monkeypatch.setenv("AWS_PROFILE", "ci")

    # when the AWS setup is checked
    # then nothing is raised
    cli.check_aws_setup(cli.os.environ)


def test_an_endpoint_variable_without_a_scheme_is_named(no_aws: dict[str, str]) -> None:
    # given AWS_ENDPOINT_URL_S3 without a scheme
    # when the AWS setup is checked
    # then the variable is named with both ways to write it
    with pytest.raises(
        cli.ConfigError, match=r"^AWS_ENDPOINT_URL_S3 'minio:9000' needs a scheme: write http://minio:9000"
    ):
        cli.check_aws_setup({"AWS_ENDPOINT_URL_S3": "minio:9000"})
