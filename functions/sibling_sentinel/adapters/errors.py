"""Turns botocore's failures into the product's errors, by error code, never by message text."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from ..errors import (
    AccessDeniedError,
    BucketNotFoundError,
    SentinelError,
    StorageError,
    ThrottledError,
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


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def is_not_found(error: ClientError) -> bool:
    """S3's "no such object", in every form it and S3-compatible endpoints give it."""
    return error_code(error) in ("404", "NoSuchKey", "NotFound")


def translate(error: ClientError | BotoCoreError, what: str) -> SentinelError:
    """One line that says what could not be done and why."""
    if isinstance(error, ClientError):
        code = error_code(error)
        text = f"{what}: {code}"
        if code in _NO_BUCKET:
            return BucketNotFoundError(f"{what}: the bucket does not exist (NoSuchBucket)")
        if code in _ACCESS:
            return AccessDeniedError(f"{text} (check the credentials and the IAM policy)")
        if code in _THROTTLED:
            return ThrottledError(f"{text} (still throttled after the SDK's retries)")
        return StorageError(f"{text} {error.response.get('Error', {}).get('Message', '')}".rstrip())
    if isinstance(error, NoCredentialsError):
        return AccessDeniedError(f"{what}: no AWS credentials found")
    return StorageError(f"{what}: {error}")
