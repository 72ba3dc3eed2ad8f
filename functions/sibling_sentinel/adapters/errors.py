"""Turns botocore's failures into the product's errors, by error code, never by message text."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from ..errors import (
    AccessDeniedError,
    BucketNotFoundError,
    SentinelError,
    StorageError,
    ThrottledError,
    WrongRegionError,
)

_ACCESS = {
    "AccessDenied",
    "403",
    "Forbidden",
    "AllAccessDisabled",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "AccountProblem",
    "AuthorizationError",
    "AccessDeniedException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
}
_THROTTLED = {
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottled",
    "RequestThrottledException",
    "ProvisionedThroughputExceededException",
    "ServiceUnavailable",
    "503",
}
_NO_BUCKET = {"NoSuchBucket"}
_WRONG_REGION = {
    "PermanentRedirect",
    "301",
    "AuthorizationHeaderMalformed",
    "IllegalLocationConstraintException",
}


def bucket_region(error: ClientError) -> str:
    """The region S3 names for the bucket: its `x-amz-bucket-region` header, or the error's `Region`."""
    headers = error.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    return str(headers.get("x-amz-bucket-region") or error.response.get("Error", {}).get("Region") or "")


def _wrong_region(error: ClientError, what: str) -> WrongRegionError | None:
    region = bucket_region(error)
    if error_code(error) not in _WRONG_REGION or (not region and error_code(error) != "PermanentRedirect"):
        return None
    if not region:
        return WrongRegionError(f"{what}: the bucket is in another region, and S3 did not say which")
    return WrongRegionError(
        f"{what}: the bucket is in region {region}; use --region {region} (or AWS_REGION={region})"
    )


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def is_not_found(error: ClientError) -> bool:
    """S3's "no such object", in every form it and S3-compatible endpoints give it."""
    return error_code(error) in ("404", "NoSuchKey", "NotFound")


T = TypeVar("T")


def none_if_absent(call: Callable[[], T], what: str) -> T | None:
    """`call()`, or None when S3 says the object is not there (404); any other failure is the product's
    error, so a 403 or throttling is never taken for "absent"."""
    try:
        return call()
    except ClientError as e:
        if is_not_found(e):
            return None
        raise translate(e, what) from e
    except BotoCoreError as e:
        raise translate(e, what) from e


def translate(error: ClientError | BotoCoreError, what: str) -> SentinelError:
    """One line that says what could not be done and why."""
    if isinstance(error, ClientError):
        code = error_code(error)
        text = f"{what}: {code}"
        if code in _NO_BUCKET:
            return BucketNotFoundError(f"{what}: the bucket does not exist (NoSuchBucket)")
        wrong_region = _wrong_region(error, what)
        if wrong_region is not None:
            return wrong_region
        if code in _ACCESS:
            return AccessDeniedError(f"{text} (check the credentials and the IAM policy)")
        if code in _THROTTLED:
            return ThrottledError(f"{text} (still throttled after the SDK's retries)")
        return StorageError(f"{text} {error.response.get('Error', {}).get('Message', '')}".rstrip())
    if isinstance(error, NoCredentialsError):
        return AccessDeniedError(f"{what}: no AWS credentials found")
    return StorageError(f"{what}: {error}")
